import type { Log } from '../log.js';
import { DeliveryError, UnsyncedError, isPermanent, mostLasting, type Permanence } from '../deliver/errors.js';
import { placeDurably, type MaildirMessage } from '../deliver/maildir.js';
import type { Router, Take } from '../deliver/route/router.js';
import type { Spool, SpoolFile } from '../deliver/spool.js';
import { labelOf, targetKey, type Targets } from '../deliver/target.js';
import { PinchmailError, classify, errorMessage } from '../errors.js';
import type { FetchItem } from '../plan/plan.js';
import { Pop3Error } from '../pop3/errors.js';
import type { Pop3Session } from '../pop3/session.js';
import type { StateStore } from '../state/store.js';
import { crashPoint } from './crash-points.js';
import { Limiter } from '../util/limiter.js';
import { prepare, type Prepared } from './prepare-message.js';
import type { AccountReport } from './report.js';

/**
 * Messages retrieved ahead of the one being delivered. RETRs for them are in flight
 * together (pipelined), and each lands in its own spool or tmp file, so the network
 * keeps busy while a command runs; the bound keeps a slow command from turning the
 * whole mailbox into spool files.
 */
const LOOKAHEAD = 100;
const REFILL = 16;

/**
 * Maildir deliveries made durable and marked together: one fsync of new/ and one
 * transaction per batch instead of per message. Bounded, so a crash leaves little for
 * recover.ts to check.
 */
const BATCH = 64;

const TRIED_AGAIN = 'it stays on the server and is tried again next run';
const LASTING = 'this will not fix itself: the message stays on the server and is tried again each run, until the target is fixed';

export interface FetchContext {
  session: Pop3Session;
  items: readonly FetchItem[];
  router: Router;
  targets: Targets;
  spool: Spool;
  store: StateStore;
  mailbox: string;
  account: string;
  /** For each message some of whose targets have it already (an earlier run), those targets' keys. */
  done: ReadonlyMap<string, ReadonlySet<string>>;
  /** Deliveries through spooled copies that may run at once (1: strictly one after another). */
  parallel: number;
  /** A message LIST says is larger is not retrieved (maxMessageSize). */
  maxMessageSize: number;
  now: number;
  stop: AbortSignal;
  log: Log;
  report: AccountReport;
  onProgress?: (done: number, total: number) => void;
}

/** What one session's pass over the messages came to. */
export interface FetchOutcome {
  /** Delivered to every target that takes them (dropped ones included). */
  delivered: FetchItem[];
  /** Not tried, because the session broke or a signal came first: for another session, or the next run. */
  untried: FetchItem[];
  /** What ended the pass early (a broken session, a signal), or null when every item was tried. */
  broken: unknown;
}

/** A message's retrieval, under way ahead of its delivery. */
interface Flight {
  item: FetchItem;
  prepared: Promise<Prepared>;
  /** Given to a delivery, or failed and recorded: no longer this loop's to throw away or hand back. */
  settled: boolean;
  /** Throws away what a flight left behind, once it has settled. */
  discard(): void;
}

/** How a message is shown in the report and the log. */
interface Shown {
  uidl: string;
  size: number;
  firstSeen: number;
  ageMs: number;
}

/**
 * Retrieves and delivers each message, marking each delivered once every target has
 * taken it. Where the route needs the headers and the server has TOP, they are read
 * first, so a message the route drops is never downloaded. A message that fails is
 * recorded and left for the next run; the rest go on. A broken session ends the pass
 * once the deliveries in hand have finished; it is returned, not thrown, with the
 * messages that were not tried, so the caller can go on in a new session.
 */
export async function fetchAndDeliver(ctx: FetchContext): Promise<FetchOutcome> {
  const { items } = ctx;
  const delivered: FetchItem[] = [];
  const prepareCtx = {
    session: ctx.session,
    router: ctx.router,
    targets: ctx.targets,
    spool: ctx.spool,
    headerFirst: ctx.router.needsHeaders && ctx.session.caps?.has('TOP') === true,
    maxMessageSize: ctx.maxMessageSize,
  };

  const flights: Flight[] = [];
  const launch = (upTo: number): void => {
    while (flights.length < Math.min(upTo, items.length)) {
      const item = items[flights.length]!;
      let copy: Prepared['copy'] = null;
      const prepared = prepare(prepareCtx, item, (c) => (copy = c));
      // Observed now, so an abandoned flight never becomes an unhandled rejection.
      prepared.catch(() => {});
      flights.push({
        item,
        prepared,
        settled: false,
        discard: () => {
          const c = copy as Prepared['copy'];
          if (c?.kind === 'spool') c.file.discard();
          if (c?.kind === 'maildir') void c.file.abort();
        },
      });
    }
  };

  const record = (item: FetchItem, shown: Shown, takes: Take[]): void => {
    crashPoint('recorded');
    delivered.push(item);
    const dropped = takes.every((t) => t.target === null);
    ctx.report.delivered++;
    if (dropped) ctx.report.dropped++;
    ctx.report.fetch.push({ ...shown, outcome: dropped ? 'dropped' : 'delivered' });
    const where = takes.map((t) => (t.target ? labelOf(t.target) : `nowhere (dropped by ${t.by})`)).join(', ');
    ctx.log.info({ uidl: item.uidl, size: item.size, by: takes.map((t) => t.by) }, `${dropped ? 'dropped' : 'delivered'} ${item.uidl}: ${where}`);
  };
  /**
   * Failures already logged in this pass, by their words with the UIDL taken out: a
   * second failure the same as one before is counted, not logged, and the count is
   * logged once when the pass ends (the report and the state database keep each).
   */
  const seen = new Map<string, { first: string; more: string[] }>();
  /** Records a message's failure (with the fingerprint of its copy, when one was retrieved: its identity for next time). */
  const fail = (item: FetchItem, shown: Shown, err: unknown, fingerprint: string | null = null): void => {
    const why = describeFailure(err);
    ctx.report.failed++;
    ctx.report.fetch.push({ ...shown, outcome: 'failed', error: why });
    ctx.store.markFailed(ctx.mailbox, item.uidl, why, ctx.now, fingerprint);
    const key = why.split(item.uidl).join('\0');
    const same = seen.get(key);
    if (same) same.more.push(item.uidl);
    else {
      seen.set(key, { first: item.uidl, more: [] });
      ctx.log.error(
        { uidl: item.uidl, size: item.size, attempts: item.attempts + 1 },
        `message ${item.uidl} not delivered: ${why}; ${isPermanent(err) ? LASTING : TRIED_AGAIN}`,
      );
    }
    // A message left for the next run is a temporary failure, unless it will not fix itself:
    // then the run says so, whichever message came first.
    const error = err instanceof DeliveryError ? err : new DeliveryError(`message ${item.uidl} not delivered: ${why}`, { cause: err });
    const before = ctx.report.error;
    if (before == null || (before instanceof DeliveryError && !isPermanent(before) && isPermanent(error))) ctx.report.error = error;
  };
  /** One line for each kind of failure that more than one message met. */
  const summarise = (): void => {
    for (const { first, more } of seen.values()) {
      if (more.length === 0) continue;
      ctx.log.error(
        { uidls: more.slice(0, 100), count: more.length },
        `... and ${more.length} more message${more.length > 1 ? 's' : ''} failed the same way as ${first}; ${more.length > 1 ? 'they stay' : 'it stays'} on the server and ${more.length > 1 ? 'are' : 'is'} tried again next run`,
      );
    }
    seen.clear();
  };
  const shownOf = (item: FetchItem): Shown => ({ uidl: item.uidl, size: item.size, firstSeen: item.firstSeen, ageMs: ctx.now - item.firstSeen });

  // Messages going straight into a Maildir, placed in batches (placeDurably): the
  // batch's files are noted in one transaction, renamed, made durable with one fsync of
  // new/, and marked in one more. recover.ts finishes a batch a crash interrupted.
  let pending: { item: FetchItem; takes: Take[]; file: MaildirMessage; fingerprint: string | null }[] = [];
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    // Each message's only target is its Maildir (not always the same one, with a route).
    const keyOf = (p: (typeof batch)[number]): string => targetKey(p.takes[0]!.target!);
    const byFile = new Map(batch.map((p) => [p.file, p]));
    const outcomes = await placeDurably(
      batch.map((p) => p.file),
      (placements) =>
        ctx.store.noteIntents(
          ctx.mailbox,
          placements.map(({ message, file }) => {
            const p = byFile.get(message)!;
            return { uidl: p.item.uidl, target: keyOf(p), intent: file, sole: true, fingerprint: p.fingerprint };
          }),
        ),
    );
    const landed = batch.filter((p, i) => {
      const outcome = outcomes[i]!;
      if (outcome.status === 'fulfilled') {
        crashPoint('delivered-unrecorded');
        return true;
      }
      if (classify(outcome.reason) !== 'message') throw outcome.reason;
      if (!(outcome.reason instanceof UnsyncedError)) ctx.store.dropIntent(ctx.mailbox, p.item.uidl, keyOf(p));
      fail(p.item, shownOf(p.item), outcome.reason, p.fingerprint);
      return false;
    });
    ctx.store.markDeliveredMany(
      ctx.mailbox,
      landed.map((p) => ({ uidl: p.item.uidl, fingerprint: p.fingerprint })),
      ctx.now,
    );
    for (const p of landed) record(p.item, shownOf(p.item), p.takes);
  };

  // Deliveries through spooled copies: one at a time unless a target allows more.
  const slots = new Limiter(ctx.parallel);
  const running = new Set<Promise<void>>();
  let broken: unknown = null;
  const deliverSpooled = (flight: Flight, prepared: Prepared): void => {
    const { item } = flight;
    const job = (async () => {
      try {
        try {
          if (prepared.copy?.kind === 'spool') await deliverTo(ctx, prepared.takes, prepared.copy.file, item, prepared.fingerprint);
        } catch (err) {
          if (classify(err) !== 'message') throw err;
          flight.discard();
          fail(item, shownOf(item), err, prepared.fingerprint);
          return;
        }
        ctx.store.markDelivered(ctx.mailbox, { uidl: item.uidl, fingerprint: prepared.fingerprint }, ctx.now);
        record(item, shownOf(item), prepared.takes);
      } catch (err) {
        broken ??= err;
      } finally {
        slots.release();
      }
    })();
    running.add(job);
    void job.finally(() => running.delete(job));
  };

  let processed = 0;
  try {
    for (; processed < items.length; processed++) {
      if (ctx.stop.aborted || broken) break;
      // Refilled a few at a time, so the RETRs go out together yet the window stays full.
      if (flights.length - processed <= LOOKAHEAD - REFILL) launch(processed + LOOKAHEAD);
      const flight = flights[processed]!;
      const { item } = flight;
      let prepared: Prepared;
      try {
        prepared = await untilStopped(flight.prepared, ctx.stop);
      } catch (err) {
        const scope = classify(err);
        if (scope === 'message' || (scope === 'message-session' && (err as Pop3Error).msgNo === item.msgNo)) {
          flight.settled = true;
          flight.discard();
          fail(item, shownOf(item), err);
          if (scope === 'message') continue;
        }
        // The session is broken (or a signal came): the pass ends; `finally` cleans up.
        broken ??= err;
        break;
      } finally {
        ctx.onProgress?.(processed + 1, items.length);
      }
      if (prepared.copy?.kind === 'maildir') {
        flight.settled = true;
        pending.push({ item, takes: prepared.takes, file: prepared.copy.file, fingerprint: prepared.fingerprint });
        if (pending.length >= BATCH) await flush();
        continue;
      }
      await slots.acquire();
      // A signal or a broken delivery while this one waited for its turn: it is not started.
      if (ctx.stop.aborted || broken) {
        slots.release();
        break;
      }
      flight.settled = true;
      deliverSpooled(flight, prepared);
    }
  } finally {
    // The message that broke the session may be ahead of where the loop stopped: it is
    // still that message's failure, whichever flight the loop was waiting for.
    const culprit = unsettled(flights, broken instanceof Pop3Error ? broken.msgNo : undefined);
    if (culprit) {
      culprit.settled = true;
      void culprit.prepared.then(culprit.discard, culprit.discard);
      fail(culprit.item, shownOf(culprit.item), broken);
    }
    // The message whose body was arriving when the connection closed or went silent counts
    // an attempt (not a failure of its own: the run's error is the connection's), so that
    // one a server always fails on goes last next run, and to onFailure in time.
    const interrupted = unsettled(flights, broken instanceof Pop3Error ? broken.inTransfer : undefined);
    if (interrupted) {
      interrupted.settled = true;
      void interrupted.prepared.then(interrupted.discard, interrupted.discard);
      const why = errorMessage(broken);
      ctx.store.markFailed(ctx.mailbox, interrupted.item.uidl, why, ctx.now);
      ctx.report.fetch.push({ ...shownOf(interrupted.item), outcome: 'failed', error: why });
      ctx.log.warn({ uidl: interrupted.item.uidl }, `message ${interrupted.item.uidl} was arriving when the connection failed; it is tried again next run, after the others`);
    }
    // Whatever was retrieved ahead and not delivered is thrown away once its RETR ends
    // (the caller drops the connection); the server keeps the message.
    for (const flight of flights.filter((f) => !f.settled)) {
      void flight.prepared.then(flight.discard, flight.discard);
    }
    await Promise.all(running);
    try {
      await flush();
    } catch (err) {
      // The files are in place and noted; the next run records them (recover.ts).
      broken ??= err;
      ctx.log.error({ err: errorMessage(err) }, `could not record delivered messages: ${errorMessage(err)}; the next run will`);
    }
    summarise();
  }
  const tried = new Set(flights.filter((f) => f.settled).map((f) => f.item));
  return { delivered, untried: broken || ctx.stop.aborted ? items.filter((i) => !tried.has(i)) : [], broken };
}

/**
 * Hands a spooled message to every target that takes it and does not have it yet
 * (from an earlier run); fails, after trying all, if any did not take it. With several
 * targets, each one's success is recorded at once, so a retry never repeats it.
 */
async function deliverTo(ctx: FetchContext, takes: Take[], copy: SpoolFile, item: FetchItem, fingerprint: string | null): Promise<void> {
  const meta = { account: ctx.account, uidl: item.uidl };
  const wanted = takes.filter((t) => t.target !== null);
  const sole = wanted.length === 1;
  const done = ctx.done.get(item.uidl);
  const failures: string[] = [];
  const kinds: Permanence[] = [];
  try {
    for (const take of wanted) {
      const key = targetKey(take.target!);
      if (done?.has(key)) continue;
      let noted = false;
      const journal = {
        intend: (intent: string) => {
          ctx.store.noteIntents(ctx.mailbox, [{ uidl: item.uidl, target: key, intent, sole, fingerprint }]);
          noted = true;
        },
      };
      try {
        await ctx.targets.get(take.target!).deliver(copy, meta, journal);
      } catch (err) {
        if (classify(err) !== 'message') throw err;
        if (noted && !(err instanceof UnsyncedError)) ctx.store.dropIntent(ctx.mailbox, item.uidl, key);
        failures.push(takes.length > 1 ? `${take.by}: ${errorMessage(err)}` : errorMessage(err));
        kinds.push(err instanceof DeliveryError ? err.permanence : 'temporary');
        continue;
      }
      crashPoint('delivered-unrecorded');
      if (!sole) ctx.store.markTargetDone(ctx.mailbox, item.uidl, key, ctx.now);
    }
  } finally {
    copy.discard();
  }
  if (failures.length) throw new DeliveryError(failures.join('; '), { permanence: mostLasting(kinds) });
}

/** The flight of message `msgNo`, if it is still this loop's to settle. */
function unsettled(flights: readonly Flight[], msgNo: number | undefined): Flight | undefined {
  return msgNo === undefined ? undefined : flights.find((f) => !f.settled && f.item.msgNo === msgNo);
}

function describeFailure(err: unknown): string {
  if (err instanceof Pop3Error && err.code !== 'PROTOCOL' && err.msgNo === undefined) {
    return `the server refused to send it (${err.serverText ?? err.message}); another host may have deleted it`;
  }
  return errorMessage(err);
}

function untilStopped<T>(work: Promise<T>, stop: AbortSignal): Promise<T> {
  const interrupted = (): PinchmailError => new PinchmailError('INTERRUPTED', 'stopped by a signal before the run finished');
  if (stop.aborted) return Promise.reject(interrupted());
  return new Promise<T>((resolve, reject) => {
    const onStop = (): void => reject(interrupted());
    stop.addEventListener('abort', onStop, { once: true });
    work.then(
      (value) => {
        stop.removeEventListener('abort', onStop);
        resolve(value);
      },
      (err: unknown) => {
        stop.removeEventListener('abort', onStop);
        reject(err);
      },
    );
  });
}
