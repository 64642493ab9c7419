import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Counter, Gauge, Registry } from 'prom-client';
import type { AccountConfig } from '../config/types.js';
import { ConfigError, fileProblem } from '../errors.js';
import { EMPTY_SUMMARY, type MailboxSummary, type StateStore } from '../state/store.js';

/**
 * The metrics, in the Prometheus text format (made by prom-client): for every account of
 * the config, what the state database knows, so a cron run's file and the daemon's
 * /metrics say the same. Counters are the totals the database keeps across runs; a time
 * is in seconds since the epoch; a value nobody knows yet (no run, nothing undelivered)
 * is left out rather than written as 0. `summaryOf` reads an account's summary: the store's
 * own, or a SummaryCache's in the daemon.
 */
export async function metricsText(accounts: readonly AccountConfig[], summaryOf: (stateKey: string) => Promise<MailboxSummary>): Promise<string> {
  const registry = new Registry();
  const labelNames = ['account'] as const;
  const gauge = (name: string, help: string): Gauge<'account'> => new Gauge({ name, help, labelNames, registers: [registry] });
  const counter = (name: string, help: string): Counter<'account'> => new Counter({ name, help, labelNames, registers: [registry] });
  const m = {
    lastRun: gauge('pinchmail_last_run_timestamp_seconds', 'When the last run of the account started (its clock reading).'),
    lastOk: gauge('pinchmail_last_run_success', '1 if the last run of the account ended without a failure, else 0.'),
    lastSuccess: gauge('pinchmail_last_success_timestamp_seconds', 'When the last run that ended without a failure started.'),
    duration: gauge('pinchmail_last_run_duration_seconds', 'How long the last run of the account took.'),
    delivered: counter('pinchmail_messages_delivered_total', 'Messages delivered to every target that takes them (dropped and quarantined ones included).'),
    failed: counter('pinchmail_messages_failed_total', 'Failed deliveries: one per message per run that could not deliver it.'),
    quarantined: counter('pinchmail_messages_quarantined_total', 'Messages delivered to the account\'s onFailure target.'),
    deleted: counter('pinchmail_messages_deleted_total', 'Messages this host deleted from the server.'),
    vanished: counter('pinchmail_messages_vanished_total', 'Messages that left the server before this host delivered them.'),
    onServer: gauge('pinchmail_messages_on_server', 'Messages on the server as of the last listing.'),
    failing: gauge('pinchmail_messages_failing', 'Messages on the server whose delivery has failed and is tried again.'),
    oldest: gauge('pinchmail_oldest_undelivered_first_seen_timestamp_seconds', 'When this host first saw the oldest message on the server it has not delivered yet.'),
  };
  for (const account of accounts) {
    const labels = { account: account.name };
    const s = await summaryOf(account.stateKey);
    if (s.lastRun) {
      m.lastRun.set(labels, seconds(s.lastRun.at));
      m.lastOk.set(labels, s.lastRun.status === 'ok' ? 1 : 0);
      if (s.lastRun.durationMs !== null) m.duration.set(labels, s.lastRun.durationMs / 1000);
    }
    if (s.lastOk !== null) m.lastSuccess.set(labels, seconds(s.lastOk));
    m.delivered.inc(labels, s.totals.delivered);
    m.failed.inc(labels, s.totals.failed);
    m.quarantined.inc(labels, s.totals.quarantined);
    m.deleted.inc(labels, s.totals.deleted);
    m.vanished.inc(labels, s.vanished.total);
    m.onServer.set(labels, s.onServer);
    m.failing.set(labels, s.failing.length);
    if (s.oldestUndelivered !== null) m.oldest.set(labels, seconds(s.oldestUndelivered));
  }
  return registry.metrics();
}

const seconds = (ms: number): number => ms / 1000;

/** The summary of each mailbox as `store` holds it; none at all without a database. */
export function storeSummaries(store: StateStore | null): (stateKey: string) => Promise<MailboxSummary> {
  return async (stateKey) => (store ? await store.summary(stateKey) : EMPTY_SUMMARY);
}

/**
 * The daemon's summaries: an account the daemon polls is read from the database again only
 * after its next poll, not at every render. A summary costs a scan of the account's
 * messages (~150 ms at 100,000), so reading every account's after every poll would cost
 * more than the polls. An account the daemon does not poll (left out by --account, run by
 * cron) is read at each render: only the database knows when it changed.
 */
export class SummaryCache {
  private readonly summaries = new Map<string, MailboxSummary | null>();
  /** Polls ended per account: a summary read while one ended is not kept (it may predate it). */
  private readonly polls = new Map<string, number>();

  constructor(private readonly store: StateStore) {}

  /** After a reload: an account no longer polled is read at each render again, as any other. */
  pollingOnly(stateKeys: ReadonlySet<string>): void {
    for (const key of this.summaries.keys()) if (!stateKeys.has(key)) this.summaries.delete(key);
  }

  /** A poll of `stateKey`'s mailbox ended: read it again when it is next asked for, then keep it. */
  polled(stateKey: string): void {
    this.summaries.set(stateKey, null);
    this.polls.set(stateKey, (this.polls.get(stateKey) ?? 0) + 1);
  }

  readonly summaryOf = async (stateKey: string): Promise<MailboxSummary> => {
    const cached = this.summaries.get(stateKey);
    if (cached) return cached;
    const polls = this.polls.get(stateKey);
    const summary = await this.store.summary(stateKey);
    // Kept unless a poll ended while it was read: that poll's summary is the one to read next.
    if (cached === null && this.polls.get(stateKey) === polls && this.summaries.get(stateKey) === null) this.summaries.set(stateKey, summary);
    return summary;
  };
}

/**
 * Replaces `file` with `text` atomically, as node_exporter's textfile collector asks: a
 * temporary file in the same directory, synced, renamed over it. A scrape sees the old
 * file or the new one, never half of one.
 */
export function writeMetricsFile(file: string, text: string): void {
  // A name nobody can guess, made new (never a symlink or a file someone planted), in a
  // directory others (the collector's) may write.
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(8).toString('hex')}.tmp`);
  let made = false;
  try {
    const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    made = true;
    try {
      // node_exporter runs as another user: readable by all, whatever the umask.
      fchmodSync(fd, 0o644);
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (err) {
    if (made) {
      try {
        unlinkSync(temp);
      } catch {
        // nothing more to undo
      }
    }
    throw new ConfigError(file, `cannot write the metrics file: ${fileProblem(err)}`, { cause: err });
  }
}
