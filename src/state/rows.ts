/** What both engines store of a message, and how a row of it reads: one meaning, one place. */
import type { StoredRow } from '../plan/plan.js';
import type { RunCounts } from './store.js';

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
