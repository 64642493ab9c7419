/** What both engines store of a message, and how a row of it reads: one meaning, one place. */
import type { StoredRow } from '../plan/plan.js';
import type { MailboxSummary, RunCounts } from './store.js';

export const NO_COUNTS: RunCounts = { delivered: 0, failed: 0, quarantined: 0, deleted: 0, durationMs: null };

/** Listings kept per mailbox, for how often this host really polls: the last 30 days, and at most this many. */
export const LISTINGS_KEPT = 1000;
export const LISTINGS_DAYS_MS = 30 * 86_400_000;

export const ROW_COLUMNS = 'uidl, first_seen, size, delivered_at, attempts, last_error, gone_since, deleted_at, fingerprint, unread';
/** The condition of the messages_pending index (migration 3), word for word, so SQLite can use it (and PostgreSQL its partial index). */
export const PENDING = '(delivered_at IS NULL OR gone_since IS NOT NULL OR deleted_at IS NOT NULL)';

export interface Row {
  uidl: string;
  first_seen: number;
  size: number | null;
  delivered_at: number | null;
  attempts: number;
  last_error: string | null;
  gone_since: number | null;
  deleted_at: number | null;
  fingerprint: string | null;
  unread: string | null;
}

export function storedRow(r: Row): StoredRow {
  return {
    uidl: r.uidl,
    firstSeen: r.first_seen,
    size: r.size,
    deliveredAt: r.delivered_at,
    attempts: r.attempts,
    lastError: r.last_error,
    goneSince: r.gone_since,
    deletedAt: r.deleted_at,
    fingerprint: r.fingerprint,
    unread: r.unread === 'skip' || r.unread === 'kill' ? r.unread : null,
  };
}

/** What the summary reads, as both engines run it: `param` is the mailbox's placeholder ("?" in SQLite, "$1" in PostgreSQL). */
export const summaryQueries = (param: string) => ({
  counts: `SELECT count(*) AS tracked,
                  count(delivered_at) AS delivered,
                  count(CASE WHEN gone_since IS NULL AND deleted_at IS NULL THEN 1 END) AS on_server,
                  count(CASE WHEN gone_since IS NULL AND deleted_at IS NULL THEN delivered_at END) AS delivered_on_server,
                  count(CASE WHEN gone_since IS NULL AND deleted_at IS NULL AND delivered_at IS NULL AND unread = 'skip' THEN 1 END) AS skipped,
                  min(CASE WHEN gone_since IS NULL AND deleted_at IS NULL THEN first_seen END) AS oldest,
                  min(CASE WHEN delivered_at IS NOT NULL AND gone_since IS NULL AND deleted_at IS NULL THEN first_seen END) AS deliverable,
                  min(CASE WHEN delivered_at IS NULL AND gone_since IS NULL AND deleted_at IS NULL AND (unread IS NULL OR unread <> 'skip') THEN first_seen END) AS undelivered
             FROM messages WHERE mailbox = ${param}`,
  failing: `SELECT uidl, attempts, last_error, last_attempt, first_seen FROM messages
             WHERE mailbox = ${param} AND delivered_at IS NULL AND attempts > 0 AND gone_since IS NULL AND deleted_at IS NULL
             ORDER BY first_seen`,
  run: `SELECT last_run, last_status, last_error, last_ok, vanished_total, vanished_at,
               delivered_total, failed_total, quarantined_total, deleted_total, last_duration_ms, last_host
          FROM mailboxes WHERE mailbox = ${param}`,
  listings: `SELECT at, vanished FROM listings WHERE mailbox = ${param} ORDER BY at`,
});

export interface SummaryCounts {
  tracked: number;
  delivered: number;
  on_server: number;
  delivered_on_server: number;
  skipped: number;
  oldest: number | null;
  deliverable: number | null;
  undelivered: number | null;
}
export interface FailingRow {
  uidl: string;
  attempts: number;
  last_error: string | null;
  last_attempt: number | null;
  first_seen: number;
}
export interface RunRow {
  last_run: number | null;
  last_status: string;
  last_error: string | null;
  last_ok: number | null;
  vanished_total: number;
  vanished_at: number | null;
  delivered_total: number;
  failed_total: number;
  quarantined_total: number;
  deleted_total: number;
  last_duration_ms: number | null;
  last_host: string | null;
}
export interface ListingRow {
  at: number;
  vanished: number;
}

/** A mailbox's summary from what summaryQueries read. */
export function summaryFrom(counts: SummaryCounts, failing: readonly FailingRow[], run: RunRow | undefined, listings: readonly ListingRow[]): MailboxSummary {
  return {
    tracked: counts.tracked,
    delivered: counts.delivered,
    onServer: counts.on_server,
    deliveredOnServer: counts.delivered_on_server,
    skipped: counts.skipped,
    remembered: counts.tracked - counts.on_server,
    failing: failing.map((f) => ({ uidl: f.uidl, attempts: f.attempts, lastError: f.last_error, lastAttempt: f.last_attempt, firstSeen: f.first_seen })),
    oldestFirstSeen: counts.oldest,
    oldestDeliverable: counts.deliverable,
    lastRun: run?.last_run != null ? { at: run.last_run, status: run.last_status, error: run.last_error, durationMs: run.last_duration_ms, host: run.last_host } : null,
    lastOk: run?.last_ok ?? null,
    oldestUndelivered: counts.undelivered,
    totals: { delivered: run?.delivered_total ?? 0, failed: run?.failed_total ?? 0, quarantined: run?.quarantined_total ?? 0, deleted: run?.deleted_total ?? 0 },
    listings: listings.map((l) => l.at),
    vanished: { total: run?.vanished_total ?? 0, lastAt: run?.vanished_at ?? null, atLatestListing: listings.at(-1)?.vanished ?? 0 },
  };
}
