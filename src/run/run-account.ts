import { createHash } from 'node:crypto';
import type { Log } from '../log.js';
import { formatDuration } from '../config/duration.js';
import { targetsOf } from '../config/load.js';
import type { AccountConfig } from '../config/types.js';
import { resolveSecret } from '../config/secrets.js';
import { Spool } from '../deliver/spool.js';
import { RouteDecider } from '../deliver/route/decide.js';
import { Router } from '../deliver/route/router.js';
import { Targets } from '../deliver/target.js';
import { PinchmailError, asError, classify, errorMessage } from '../errors.js';
import { dueBefore, needsNothing, plan, type DeleteItem, type FetchItem, type Plan, type PlanInput } from '../plan/plan.js';
import { deletionsOnceDelivered, sizesAsked, type Deletion } from '../plan/deletions.js';
import { listingGap, peerWindow } from '../plan/polling.js';
import { Pop3Error } from '../pop3/errors.js';
import type { Listing, Pop3Session } from '../pop3/session.js';
import { spoolDirOf } from '../state/state-files.js';
import type { ListingMark, MailboxLock, RunOutcome, StateStore } from '../state/store.js';
import { AccountSession } from './account-session.js';
import { connectAndLogin } from './connect.js';
import { crashPoint } from '../util/crash-points.js';
import { recoverIntents, sweepMaildirs } from './recover.js';
import { fetchAndDeliver } from './fetch-messages.js';
import { readFingerprints } from './read-headers.js';
import { emptyReport, type AccountReport, type MessageReport } from './report.js';

export interface AccountRunOptions {
  account: AccountConfig;
  databaseFile: string;
  /** Writable store for a real run; for --dry-run a read-only one, or null when there is no database yet. */
  store: StateStore | null;
  /** The run's one clock reading. */
  now: number;
  /** This host's name, recorded with the run: in a group, status tells which member polled. */
  host: string;
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
  // How long the run took, for the metrics only: every decision measures from options.now.
  const started = performance.now();
  let lock: MailboxLock | null = null;
  let current: AccountSession | null = null;
  let end: SessionEnd | null = null;
  let quitSent = false;
  let spool: Spool | null = null;
  let targets: Targets | null = null;
  /** Set once this run's complete listing is recorded: the run's record then keeps its time. */
  let recorded: { vanished: number } | null = null;
  try {
    if (!options.dryRun) {
      lock = await options.store!.tryLock(account.stateKey);
      if (!lock) {
        report.status = 'skipped';
        // In a group, another member polling the account is how the group shares it out: nothing went wrong.
        if (options.store!.shared) log.debug('skipped: another host of the group is polling this account');
        else report.error = new PinchmailError('LOCKED', `skipped: another pinchmail run is working on this account`);
        return report;
      }
      // Checked (and cleared of a killed run's copies) before the server is asked anything:
      // a spool tree another user planted stops the run before it records a listing.
      spool = Spool.prepare(spoolDirOf(options.databaseFile, account.stateKey));
    }
    const secret = await resolveSecret(account.password, account.passwordPath);
    const trace = options.trace ? (dir: 'send' | 'recv', text: string) => log.trace(`${dir === 'send' ? 'C:' : 'S:'} ${text}`) : undefined;
    end = sessionEnd(options.stop, account.deadlineMs);
    const { signal } = end;
    const open = async (): Promise<Pop3Session> => {
      const connected = await connectAndLogin(account, secret, { trace, signal });
      log.debug({ method: connected.method, secure: connected.session.secure }, `logged in to ${account.host}:${account.port}`);
      return connected.session;
    };
    current = new AccountSession(await open(), open, account.maxMessages);
    targets = new Targets({
      env: options.childEnv,
      tag: mailboxTag(options.databaseFile, account.stateKey),
      now: options.now,
      kill: options.kill,
      // Only a delivery that succeeded says anything here: a failed one's stderr is in its failure line.
      onStderr: (meta, text) => log.info({ uidl: meta.uidl }, `delivery command said: ${text.trim().slice(-1000)}`),
    });

    // The listing is asked for first; a crashed run's leftovers are seen to while the server sends it.
    const last = (await options.store?.lastListing(account.stateKey)) ?? null;
    const listed = current.session.listUidls({
      sizes: sizesAsked(last?.rows ?? null),
      checked: last?.digest,
      maxMessages: account.maxMessages,
    });
    listed.catch(() => {});
    if (!options.dryRun) {
      await recoverIntents(options.store!, account.stateKey, options.now, log);
      sweepMaildirs(targets, maildirsOf(account), options.now, log);
    }
    const listing = await listed;
    report.onServer = listing.messages.length + listing.unidentified.length;
    warnUnidentified(listing, report, log);
    const planned = await planRun(current, listing, last, options);
    warnGap(report, last?.at ?? null, options.now, peerWindow(account), account.name, log);
    report.deferred = planned.deferred.messages;
    if (planned.deferred.messages > 0) {
      const n = planned.deferred.messages;
      log.info({ deferred: n, bytes: planned.deferred.bytes }, `${n} message${n === 1 ? '' : 's'} (${planned.deferred.bytes} bytes) left for the next run by the per-run limit (maxMessagesPerRun, maxBytesPerRun)`);
    }
    for (const row of planned.vanished) {
      report.vanished.push({ uidl: row.uidl, firstSeen: row.firstSeen });
      log.warn(
        { uidl: row.uidl, firstSeen: new Date(row.firstSeen).toISOString() },
        `message ${row.uidl} left the server before this host delivered it (another host's retention may be shorter than this host's polling interval)`,
      );
    }

    if (options.dryRun) {
      const { fetch, skipped, killed } = unreadBySize(new Router(account), planned.fetch);
      report.fetch = fetch.map((f) => ({ uidl: f.uidl, size: f.size, firstSeen: f.firstSeen, ageMs: options.now - f.firstSeen }));
      report.skipped = skipped.length;
      report.killed = killed.length;
      report.delete = deletionsOnceDelivered(planned.delete, fetch, options.now, false, killed).map(messageReport);
      await current.session.quit();
      current = null;
      return report;
    }

    const store = options.store!;
    // A listing with messages it does not identify must not vouch for the next one (StateStore.snapshot).
    await store.applyListing(account.stateKey, planned, options.now, listing.unidentified.length > 0 ? null : markOf(listing));
    recorded = { vanished: planned.vanished.length };
    crashPoint('listed');

    const { delivered, killed } = await fetchAll(current, planned.fetch, targets, spool!, options, report);

    if (options.stop.aborted) {
      // No DELE for anything, and no QUIT: the server rolls the session back.
      current.session.destroy();
      current = null;
      throw new PinchmailError('INTERRUPTED', 'stopped by a signal: what was delivered is recorded, nothing was deleted');
    }

    const due = deletionsOnceDelivered(planned.delete, delivered, options.now, current.reopens > 0, killed);
    if (due.length > 0) {
      // Every delivery that allows these deletions must be on disk before the server hears DELE.
      await store.makeDurable(account.stateKey);
      crashPoint('durable');
      report.delete = due.map((d) => ({ uidl: d.uidl, size: d.size, firstSeen: d.firstSeen, ageMs: d.ageMs, ...(d.unread ? { unread: true } : {}) }));
      const accepted = await sendDeletes(current.session, due, log);
      crashPoint('dele-sent');
      quitSent = true;
      await quit(current.session);
      current = null;
      crashPoint('quit-done');
      await store.markDeleted(account.stateKey, accepted, options.now);
      report.deleted = accepted.length;
      for (const uidl of accepted) log.info({ uidl }, `deleted ${uidl} from the server`);
    } else {
      await quit(current.session);
      current = null;
    }
  } catch (err) {
    report.error ??= asError(end?.signal.aborted ? endedEarly(err, options, quitSent) : err);
    if (report.error !== err) log.debug({ err }, 'a later failure in the same run');
  } finally {
    end?.dispose();
    current?.session.destroy();
    targets?.close();
    // A skipped run (another holds the lock) did nothing to record: the last run stays the one that ran.
    if (!options.dryRun && options.store && classify(report.error) !== 'state' && report.status !== 'skipped') {
      try {
        await options.store.recordRun(account.stateKey, options.now, runOutcome(report, performance.now() - started, options.host), recorded);
      } catch {
        // The run's outcome is already in the report; the record of it is a convenience.
      }
    }
    await lock?.release();
  }
  if (report.error) report.status = 'failed';
  return report;
}

/** What the state database keeps of a run: its outcome, and what it did, for the metrics' totals. */
function runOutcome(report: AccountReport, elapsedMs: number, host: string): RunOutcome {
  const { delivered, failed, quarantined, deleted } = report;
  return {
    status: report.error ? 'failed' : 'ok',
    error: report.error ? errorMessage(report.error) : null,
    host,
    counts: { delivered, failed, quarantined, deleted, durationMs: Math.round(elapsedMs) },
  };
}

/**
 * One line that survives -q when this listing came longer after the one before than the
 * peers keep mail: they may have deleted messages this host never saw.
 */
function warnGap(report: AccountReport, previous: number | null, now: number, window: number | null, name: string, log: Log): void {
  if (previous !== null && previous > now) {
    log.warn(
      { previousListing: new Date(previous).toISOString() },
      `the clock reads ${new Date(now).toISOString()}, earlier than this host's previous listing of ${name}: whether it missed mail cannot be judged this run`,
    );
    return;
  }
  const gap = listingGap(previous, now, window);
  report.listingGap = gap;
  if (!gap) return;
  log.warn(
    { previousListing: new Date(gap.previous).toISOString() },
    `this host last saw ${name} ${formatDuration(gap.gapMs)} ago; ${gap.windowMs === 0 ? 'peers that delete as soon as they deliver' : `peers that delete after ${formatDuration(gap.windowMs)}`} may have removed mail it never saw`,
  );
}

/**
 * The failure of a session a signal or the deadline ended, said for what it cost: what
 * was delivered is recorded; nothing was deleted, unless QUIT had gone out, when the
 * server may have committed this run's DELEs (none is recorded as done; the next
 * run's listing shows which went).
 */
function endedEarly(err: unknown, options: AccountRunOptions, quitSent: boolean): unknown {
  if (!(err instanceof Pop3Error) || (err.code !== 'ABORTED' && err.code !== 'TIMEOUT')) return err;
  const cost = quitSent
    ? 'QUIT was sent and not answered, so the server may have committed the deletions of this run; what was delivered is recorded'
    : 'what was delivered is recorded, nothing was deleted';
  if (options.stop.aborted) return new PinchmailError('INTERRUPTED', `stopped by a signal: ${cost}`);
  return new Pop3Error('TIMEOUT', `the run of this account passed its deadline (${formatDuration(options.account.deadlineMs)}): ${cost}`, { inTransfer: err.inTransfer });
}

interface SessionEnd {
  /** Ends the session at once, with a Pop3Error saying why. */
  signal: AbortSignal;
  dispose(): void;
}

/**
 * What ends an account's session in whatever phase it is, from connecting to QUIT: the
 * first SIGINT or SIGTERM (a delivery under way still finishes: see fetchAndDeliver), or
 * the account's deadline, which no server can stretch by trickling bytes under the
 * inactivity timeout. Either way the connection is dropped without QUIT, so the server
 * commits no deletion of this session, and what was delivered stays recorded.
 */
function sessionEnd(stop: AbortSignal, deadlineMs: number): SessionEnd {
  const end = new AbortController();
  const onStop = (): void => end.abort(new Pop3Error('ABORTED', 'stopped by a signal'));
  if (stop.aborted) onStop();
  else stop.addEventListener('abort', onStop, { once: true });
  const timer = setTimeout(() => {
    end.abort(new Pop3Error('TIMEOUT', `the run of this account passed its deadline (${formatDuration(deadlineMs)})`));
  }, deadlineMs);
  timer.unref();
  return {
    signal: end.signal,
    dispose: () => {
      clearTimeout(timer);
      stop.removeEventListener('abort', onStop);
    },
  };
}

/**
 * The plan, with everything it asked for answered: the sizes of what it may fetch or
 * delete, then the headers of messages whose identity is in doubt. If reading a header
 * broke the session, the run goes on in a new one, the plan numbered as it numbers them.
 */
async function planRun(current: AccountSession, listing: Listing, last: Awaited<ReturnType<StateStore['lastListing']>>, options: AccountRunOptions): Promise<Plan> {
  const { account, now } = options;
  const { known, rows } = (await options.store?.snapshot(account.stateKey, dueBefore(now, account.retentionMs), markOf(listing))) ?? {
    known: new Set<string>(),
    rows: new Map(),
  };
  const input: PlanInput = {
    listing: listing.messages,
    unidentified: new Set(listing.unidentified.map((u) => u.uidl)),
    known,
    rows,
    now,
    retentionMs: account.retentionMs,
    ...(account.perRun ? { perRun: account.perRun } : {}),
  };
  // Where every size is at hand, or the same UIDLs come with another total size (one of
  // them names another message now), every listed size is compared with the one first seen.
  if (listing.sizesAtHand || (last?.digest === listing.digest && last.octets !== listing.octets)) {
    input.sizes = await listing.sizes(listing.messages.map((m) => m.msgNo));
  }
  let planned = plan(input);
  // Otherwise sizes only for what will be fetched or deleted (a poll with nothing new asks
  // for none), and the rows of messages whose size changed; headers once all those are in.
  for (let round = 0; round < 3 && (planned.need.sizes.length > 0 || planned.need.rows.length > 0); round++) {
    if (planned.need.sizes.length > 0) input.sizes = new Map([...(input.sizes ?? []), ...(await listing.sizes(planned.need.sizes))]);
    if (planned.need.rows.length > 0) input.rows = new Map([...input.rows, ...(await options.store!.rowsFor(account.stateKey, planned.need.rows))]);
    planned = plan(input);
  }
  if (planned.need.headers.length > 0) {
    const { headers, broken } = await readFingerprints(current.session, planned.need.headers);
    input.headers = headers;
    planned = plan(input);
    if (broken) {
      if (classify(broken) !== 'message-session' || !current.canReopen) throw broken;
      options.log.warn(`${errorMessage(broken)}; logging in again to go on with the other messages`);
      const again = await current.reopen();
      planned = { ...planned, fetch: await AccountSession.renumber(planned.fetch, again), delete: await AccountSession.renumber(planned.delete, again) };
    }
  }
  if (!needsNothing(planned)) throw new PinchmailError('INTERNAL', 'the plan still needs facts it was given');
  return planned;
}

/**
 * Fetches and delivers every planned message, in as many sessions as it takes: when a
 * message breaks the session (its failure is recorded against it), the others go on
 * in a new one, a few times per run at most. Returns what was delivered.
 */
async function fetchAll(
  current: AccountSession,
  items: FetchItem[],
  targets: Targets,
  spool: Spool,
  options: AccountRunOptions,
  report: AccountReport,
): Promise<{ delivered: FetchItem[]; killed: FetchItem[] }> {
  const { account, store } = options;
  const router = new Router(account);
  const decider = new RouteDecider(router, account.dnsbl, undefined, (message) => options.log.warn(message));
  const done = await store!.doneTargets(account.stateKey);
  const parallel = Math.max(1, ...targetsOf(account).map((t) => (t.kind === 'command' ? t.parallel : 1)));
  const delivered: FetchItem[] = [];
  const killed: FetchItem[] = [];
  let planned = items;
  for (;;) {
    const pass = await fetchAndDeliver({
      session: current.session,
      items: planned,
      router,
      decider,
      targets,
      spool,
      store: store!,
      mailbox: account.stateKey,
      account: account.name,
      done,
      parallel,
      maxMessageSize: account.maxMessageSize,
      now: options.now,
      stop: options.stop,
      log: options.log,
      report,
      onProgress: options.onProgress,
    });
    delivered.push(...pass.delivered);
    killed.push(...pass.killed);
    // A signal ended the pass (and maybe the session): the caller says so and deletes nothing.
    if (!pass.broken || options.stop.aborted) return { delivered, killed };
    if (classify(pass.broken) !== 'message-session' || !current.canReopen || options.stop.aborted) throw pass.broken;
    options.log.warn(`${errorMessage(pass.broken)}; logging in again to go on with the other messages`);
    planned = await AccountSession.renumber(pass.untried, await current.reopen());
  }
}

function markOf(listing: Listing): ListingMark {
  return { digest: listing.digest, octets: listing.octets };
}

/** One warning per run for messages the listing does not identify: they are left alone. */
function warnUnidentified(listing: Listing, report: AccountReport, log: Log): void {
  if (listing.unidentified.length === 0) return;
  report.unidentified = listing.unidentified;
  const shared = new Map<string, number[]>();
  const invalid: number[] = [];
  for (const u of listing.unidentified) {
    if (!u.why.startsWith('shared')) invalid.push(u.msgNo);
    else if (shared.has(u.uidl)) shared.get(u.uidl)!.push(u.msgNo);
    else shared.set(u.uidl, [u.msgNo]);
  }
  for (const [uidl, msgNos] of shared) {
    log.warn(
      { uidl, messages: msgNos },
      `messages ${listNumbers(msgNos)} share the UIDL "${uidl}": ${msgNos.length === 2 ? 'both' : 'all'} are left on the server, neither delivered nor deleted, until the server gives each its own`,
    );
  }
  if (invalid.length > 0) {
    log.warn({ messages: invalid }, `message${invalid.length > 1 ? 's' : ''} ${listNumbers(invalid)} ${invalid.length > 1 ? 'have UIDLs that are' : 'has a UIDL that is'} not a valid unique-id: left on the server, neither delivered nor deleted`);
  }
}

function listNumbers(msgNos: readonly number[]): string {
  const shown = msgNos.slice(0, 10);
  const head = shown.length > 1 ? `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}` : String(shown[0]);
  return msgNos.length > 10 ? `${shown.join(', ')} and ${msgNos.length - 10} more` : head;
}

/** The account's Maildirs, whose tmp/ a run sweeps of what its killed predecessors left. */
function maildirsOf(account: AccountConfig): string[] {
  return [...new Set(targetsOf(account).flatMap((t) => (t.kind === 'maildir' ? [t.dir] : [])))];
}

/** Names the mailbox in the files its runs write, so its next run knows its own leftovers. */
function mailboxTag(databaseFile: string, stateKey: string): string {
  return createHash('sha256').update(`${databaseFile}\n${stateKey}`).digest('hex').slice(0, 8);
}

/** A deletion as the report shows it. */
function messageReport(d: Deletion): MessageReport {
  return { uidl: d.uidl, size: d.size, firstSeen: d.firstSeen, ageMs: d.ageMs, ...(d.afterDelivery ? { afterDelivery: true } : {}), ...(d.unread ? { unread: true } : {}) };
}

/**
 * For a dry run, which reads no message: what "skip" and "kill" rules decide by the size
 * alone; a message only its header decides is shown as fetched.
 */
function unreadBySize(router: Router, items: readonly FetchItem[]): { fetch: FetchItem[]; skipped: FetchItem[]; killed: FetchItem[] } {
  const out = { fetch: [] as FetchItem[], skipped: [] as FetchItem[], killed: [] as FetchItem[] };
  for (const item of items) {
    const unread = router.decideBySize(item.size, item.attempts)?.[0]?.unread;
    (unread === 'kill' ? out.killed : unread === 'skip' ? out.skipped : out.fetch).push(item);
  }
  return out;
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
