import type { Log } from '../log.js';
import { targetsOf, type AccountConfig } from '../config/load.js';
import { resolveSecret } from '../config/secrets.js';
import { Spool } from '../deliver/spool.js';
import { Router } from '../deliver/route/router.js';
import { Targets } from '../deliver/target.js';
import { PinchmailError, errorMessage } from '../errors.js';
import { dueBefore, plan, withSizes, type DeleteItem, type Plan } from '../plan/plan.js';
import { Pop3Error } from '../pop3/errors.js';
import type { Pop3Session } from '../pop3/session.js';
import { fileKey } from '../state/file-key.js';
import { MailboxLock } from '../state/lock.js';
import type { StateStore } from '../state/store.js';
import { connectAndLogin } from './connect.js';
import { crashPoint } from './crash-points.js';
import { recoverPlaced } from './recover.js';
import { fetchAndDeliver } from './fetch-messages.js';
import { emptyReport, type AccountReport, type MessageReport } from './report.js';

/**
 * A mailbox that held up to this many messages last time gets its sizes (LIST) in the
 * same round trip as its listing; a larger one only for what it will fetch or delete.
 */
const SIZES_WITH_LISTING = 2000;

export interface AccountRunOptions {
  account: AccountConfig;
  databaseFile: string;
  /** Writable store for a real run; for --dry-run a read-only one, or null when there is no database yet. */
  store: StateStore | null;
  /** The run's one clock reading. */
  now: number;
  dryRun: boolean;
  log: Log;
  /** First SIGINT/SIGTERM: finish the message in hand, then stop without deleting anything. */
  stop: AbortSignal;
  /** Second signal: kill a running delivery command too. */
  kill: AbortSignal;
  /** Environment for delivery commands, secrets removed. */
  childEnv: NodeJS.ProcessEnv;
  /** Log the protocol (secrets masked) at trace level. */
  trace: boolean;
  onProgress?: (done: number, total: number) => void;
}

/**
 * One account, start to finish: lock, log in, list, plan, record what was seen,
 * fetch and deliver, delete what is due, QUIT. The order is the guarantee: nothing
 * is marked delivered before its target has it, nothing is deleted from the server
 * before its delivery is on disk, and nothing is marked deleted before QUIT succeeds.
 */
export async function runAccount(options: AccountRunOptions): Promise<AccountReport> {
  const { account, log } = options;
  const report = emptyReport(account.name);
  let lock: MailboxLock | null = null;
  let session: Pop3Session | null = null;
  try {
    if (!options.dryRun) {
      lock = MailboxLock.tryAcquire(options.databaseFile, account.stateKey);
      if (!lock) {
        report.status = 'skipped';
        report.error = new PinchmailError('LOCKED', `skipped: another pinchmail run is working on this account`);
        return report;
      }
    }
    const secret = await resolveSecret(account.password, account.passwordPath);
    const trace = options.trace ? (dir: 'send' | 'recv', text: string) => log.trace(`${dir === 'send' ? 'C:' : 'S:'} ${text}`) : undefined;
    const connected = await connectAndLogin(account, secret, { trace });
    session = connected.session;
    log.debug({ method: connected.method, secure: session.secure }, `logged in to ${account.host}:${account.port}`);

    // The listing is asked for first; a crashed run's leftovers are seen to while the server sends it.
    const last = options.store?.lastListing(account.stateKey) ?? null;
    const listed = session.listUidls({
      sizes: last?.rows == null || last.rows <= SIZES_WITH_LISTING ? 'with-listing' : 'on-demand',
      checked: last?.digest,
    });
    listed.catch(() => {});
    if (!options.dryRun) recoverPlaced(options.store!, account.stateKey, options.now, log);
    const listing = await listed;
    report.onServer = listing.messages.length;
    const { digest } = listing;
    const { known, rows } = options.store?.snapshot(account.stateKey, dueBefore(options.now, account.retentionMs), digest) ?? {
      known: new Set<string>(),
      rows: new Map(),
    };
    const unsized = plan({ listing: listing.messages, known, rows, now: options.now, retentionMs: account.retentionMs });
    // Sizes only for what will be fetched or deleted: a poll with nothing new asks for none.
    const todo = withSizes(unsized, await listing.sizes([...unsized.fetch, ...unsized.delete].map((m) => m.msgNo)));
    for (const row of todo.vanished) {
      report.vanished.push({ uidl: row.uidl, firstSeen: row.firstSeen });
      log.warn(
        { uidl: row.uidl, firstSeen: new Date(row.firstSeen).toISOString() },
        `message ${row.uidl} left the server before this host delivered it (another host's retention may be shorter than this host's polling interval)`,
      );
    }

    if (options.dryRun) {
      report.fetch = todo.fetch.map((f) => ({ uidl: f.uidl, size: f.size, firstSeen: f.firstSeen, ageMs: options.now - f.firstSeen }));
      report.delete = wouldDelete(todo, options.now);
      await session.quit();
      session = null;
      return report;
    }

    const store = options.store!;
    store.applyListing(account.stateKey, todo, options.now, digest);
    crashPoint('listed');

    const targets = new Targets({
      env: options.childEnv,
      kill: options.kill,
      onStderr: (meta, text, failed) =>
        (failed ? log.warn.bind(log) : log.info.bind(log))({ uidl: meta.uidl }, `delivery command said: ${text.trim().slice(-1000)}`),
    });
    const delivered = await fetchAndDeliver({
      session,
      items: todo.fetch,
      router: new Router(account),
      targets,
      spool: Spool.prepare(`${options.databaseFile}-spool/${fileKey(account.stateKey)}`),
      store,
      mailbox: account.stateKey,
      account: account.name,
      parallel: Math.max(1, ...targetsOf(account).map((t) => (t.kind === 'command' ? t.parallel : 1))),
      now: options.now,
      stop: options.stop,
      log,
      report,
      onProgress: options.onProgress,
    });

    if (options.stop.aborted) {
      // No DELE for anything, and no QUIT: the server rolls the session back.
      session.destroy();
      session = null;
      throw new PinchmailError('INTERRUPTED', 'stopped by a signal: what was delivered is recorded, nothing was deleted');
    }

    const due: DeleteItem[] = [
      ...todo.delete,
      ...delivered.filter((f) => f.dueOnDelivery).map((f) => ({ ...f, ageMs: options.now - f.firstSeen })),
    ].sort((a, b) => a.msgNo - b.msgNo);
    if (due.length > 0) {
      // Every delivery that allows these deletions must be on disk before the server hears DELE.
      store.makeDurable(account.stateKey);
      crashPoint('durable');
      report.delete = due.map((d) => ({ uidl: d.uidl, size: d.size, firstSeen: d.firstSeen, ageMs: d.ageMs }));
      const accepted = await sendDeletes(session, due, log);
      crashPoint('dele-sent');
      await quit(session);
      session = null;
      crashPoint('quit-done');
      store.markDeleted(account.stateKey, accepted, options.now);
      report.deleted = accepted.length;
      for (const uidl of accepted) log.info({ uidl }, `deleted ${uidl} from the server`);
    } else {
      await quit(session);
      session = null;
    }
  } catch (err) {
    report.error ??= err;
    if (report.error !== err) log.debug({ err }, 'a later failure in the same run');
  } finally {
    session?.destroy();
    const stateBroken = report.error instanceof PinchmailError && report.error.code.startsWith('STATE_');
    if (!options.dryRun && options.store && !stateBroken) {
      try {
        options.store.recordRun(account.stateKey, options.now, report.error ? 'failed' : 'ok', report.error ? errorMessage(report.error) : null);
      } catch {
        // The run's outcome is already in the report; the record of it is a convenience.
      }
    }
    lock?.release();
  }
  if (report.error) report.status = 'failed';
  return report;
}

/** A dry run deletes what is due now, and what would be due the moment this run delivered it. */
function wouldDelete(todo: Plan, now: number): MessageReport[] {
  return [
    ...todo.delete.map((d) => ({ uidl: d.uidl, size: d.size, firstSeen: d.firstSeen, ageMs: d.ageMs, msgNo: d.msgNo })),
    ...todo.fetch
      .filter((f) => f.dueOnDelivery)
      .map((f) => ({ uidl: f.uidl, size: f.size, firstSeen: f.firstSeen, ageMs: now - f.firstSeen, afterDelivery: true, msgNo: f.msgNo })),
  ]
    .sort((a, b) => a.msgNo - b.msgNo)
    .map(({ msgNo: _msgNo, ...rest }) => rest);
}

/** DELE for each (pipelined); returns the UIDLs the server accepted. A broken connection throws. */
async function sendDeletes(session: Pop3Session, due: readonly DeleteItem[], log: Log): Promise<string[]> {
  const outcomes = await Promise.allSettled(due.map((d) => session.dele(d.msgNo)));
  const accepted: string[] = [];
  for (const [i, outcome] of outcomes.entries()) {
    if (outcome.status === 'fulfilled') {
      accepted.push(due[i]!.uidl);
    } else if (outcome.reason instanceof Pop3Error && outcome.reason.code === 'REFUSED') {
      // Usually a peer host deleted it first: not a problem.
      log.info({ uidl: due[i]!.uidl }, `server refused to delete ${due[i]!.uidl}: ${outcome.reason.serverText ?? ''}`);
    } else {
      throw outcome.reason;
    }
  }
  return accepted;
}

/** QUIT, which commits the session's deletions; a refusal means none of them happened. */
async function quit(session: Pop3Session): Promise<void> {
  try {
    await session.quit();
  } catch (err) {
    if (err instanceof Pop3Error && err.code === 'REFUSED') {
      throw new Pop3Error('SYS_TEMP', `server refused QUIT (${err.serverText ?? ''}): no deletion was committed; they are tried again next run`, {
        serverText: err.serverText,
      });
    }
    throw err;
  }
}
