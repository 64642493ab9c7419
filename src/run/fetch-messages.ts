import type { Logger } from 'pino';
import { DeliveryError } from '../deliver/errors.js';
import type { Maildir, MaildirMessage } from '../deliver/maildir.js';
import { Headers, MAX_HEADER_BYTES } from '../deliver/route/headers.js';
import type { Router, Take } from '../deliver/route/router.js';
import type { Spool, SpoolFile } from '../deliver/spool.js';
import { labelOf, type MessageMeta, type Targets } from '../deliver/target.js';
import { PinchmailError, errorMessage } from '../errors.js';
import type { FetchItem } from '../plan/plan.js';
import type { BodySink } from '../pop3/client.js';
import { Pop3Error } from '../pop3/errors.js';
import type { Pop3Session } from '../pop3/session.js';
import type { StateStore } from '../state/store.js';
import { crashPoint, crashSwitchSet } from './crash-points.js';
import type { AccountReport } from './report.js';

/**
 * Messages retrieved ahead of the one being delivered. RETRs for them are in flight
 * together (pipelined), and each lands in its own spool or tmp file, so the network
 * keeps busy while a command runs; the bound keeps a slow command from turning the
 * whole mailbox into spool files.
 */
const LOOKAHEAD = 32;

/**
 * Maildir deliveries made durable and marked together: one fsync of new/ and one
 * transaction per batch instead of per message. Bounded, so a crash leaves little for
 * recover.ts to check.
 */
const BATCH = 64;

type MessageEntry = { uidl: string; size: number; firstSeen: number; ageMs: number };

export interface FetchContext {
  session: Pop3Session;
  items: readonly FetchItem[];
  router: Router;
  targets: Targets;
  spool: Spool;
  store: StateStore;
  mailbox: string;
  account: string;
  now: number;
  stop: AbortSignal;
  log: Logger;
  report: AccountReport;
  onProgress?: (done: number, total: number) => void;
}

/** A message retrieved (or decided without retrieving), waiting for its turn to be delivered. */
interface Prepared {
  takes: Take[];
  /** The whole message: a spooled copy, or, when a Maildir is its only target, the Maildir file itself. */
  copy: { kind: 'spool'; file: SpoolFile } | { kind: 'maildir'; file: MaildirMessage } | null;
}

interface Flight {
  item: FetchItem;
  prepared: Promise<Prepared>;
  /** Throws away what a flight left behind, once it has settled. */
  discard(): void;
}

/** A failure of one message, after which the others can still go on. */
function isMessageLevel(err: unknown): boolean {
  if (err instanceof Pop3Error) return ['REFUSED', 'SYS_TEMP', 'SYS_PERM'].includes(err.code);
  return err instanceof PinchmailError && err.code === 'DELIVERY';
}

/**
 * Retrieves and delivers each message in order, marking each delivered the moment
 * every target has taken it. Where the route needs the message's headers and the
 * server has TOP, they are read first, so a message the route drops is never
 * downloaded. A message that fails is recorded and left for the next run; the rest
 * go on. A broken connection ends the loop and is rethrown. Returns the items delivered.
 */
export async function fetchAndDeliver(ctx: FetchContext): Promise<FetchItem[]> {
  const { items } = ctx;
  const delivered: FetchItem[] = [];
  const flights: Flight[] = [];
  const headerFirst = ctx.router.needsHeaders && ctx.session.caps?.has('TOP') === true;

  const launch = (upTo: number): void => {
    while (flights.length < Math.min(upTo, items.length)) {
      const item = items[flights.length]!;
      let copy: Prepared['copy'] = null;
      const prepared = prepare(ctx, item, headerFirst, (c) => (copy = c));
      // Observed now, so an abandoned flight never becomes an unhandled rejection.
      prepared.catch(() => {});
      flights.push({
        item,
        prepared,
        discard: () => {
          const c = copy as Prepared['copy'];
          if (c?.kind === 'spool') c.file.discard();
          if (c?.kind === 'maildir') void c.file.abort();
        },
      });
    }
  };

  // Messages going straight into a Maildir are placed concurrently, and then made
  // durable by one fsync of new/ and marked in one transaction per batch (recover.ts
  // covers a run that dies in between).
  let placed: { item: FetchItem; entry: MessageEntry; takes: Take[]; maildir: Maildir; done: Promise<unknown> }[] = [];
  const record = (item: FetchItem, entry: MessageEntry, takes: Take[]): void => {
    crashPoint('recorded');
    delivered.push(item);
    const dropped = takes.every((t) => t.target === null);
    ctx.report.delivered++;
    if (dropped) ctx.report.dropped++;
    ctx.report.fetch.push({ ...entry, outcome: dropped ? 'dropped' : 'delivered' });
    const where = takes.map((t) => (t.target ? labelOf(t.target) : `nowhere (dropped by ${t.by})`)).join(', ');
    ctx.log.info({ uidl: item.uidl, size: item.size, by: takes.map((t) => t.by) }, `${dropped ? 'dropped' : 'delivered'} ${item.uidl}: ${where}`);
  };
  const fail = (item: FetchItem, entry: MessageEntry, err: unknown): void => {
    const why = describeFailure(err);
    ctx.report.failed++;
    ctx.report.fetch.push({ ...entry, outcome: 'failed', error: why });
    ctx.store.markFailed(ctx.mailbox, item.uidl, why, ctx.now);
    ctx.log.error(
      { uidl: item.uidl, size: item.size, attempts: item.attempts + 1 },
      `message ${item.uidl} not delivered: ${why}; it stays on the server and is tried again next run`,
    );
    // Whatever the cause, a message left for the next run is a temporary failure.
    ctx.report.error ??= err instanceof DeliveryError ? err : new DeliveryError(`message ${item.uidl} not delivered: ${why}`, { cause: err });
  };
  const flush = async (): Promise<void> => {
    if (placed.length === 0) return;
    const batch = placed;
    placed = [];
    const outcomes = await Promise.allSettled(batch.map((p) => p.done));
    const landed = batch.filter((_, i) => outcomes[i]!.status === 'fulfilled');
    for (const [i, p] of batch.entries()) {
      const outcome = outcomes[i]!;
      if (outcome.status === 'fulfilled') continue;
      if (!isMessageLevel(outcome.reason)) throw outcome.reason;
      ctx.store.markPlaced(ctx.mailbox, p.item.uidl, null);
      fail(p.item, p.entry, outcome.reason);
    }
    for (const maildir of new Set(landed.map((p) => p.maildir))) await maildir.syncNew();
    ctx.store.markDeliveredMany(ctx.mailbox, landed.map((p) => p.item.uidl), ctx.now);
    for (const p of landed) record(p.item, p.entry, p.takes);
  };

  let processed = 0;
  try {
    for (; processed < items.length; processed++) {
      if (ctx.stop.aborted) break;
      launch(processed + LOOKAHEAD);
      const flight = flights[processed]!;
      const { item } = flight;
      const meta: MessageMeta = { account: ctx.account, uidl: item.uidl };
      const entry: MessageEntry = { uidl: item.uidl, size: item.size, firstSeen: item.firstSeen, ageMs: ctx.now - item.firstSeen };
      let prepared: Prepared;
      let placing = false;
      try {
        prepared = await untilStopped(flight.prepared, ctx.stop);
        if (prepared.copy?.kind === 'maildir') {
          // Noted before the rename, so a run that dies before the mark is not repeated.
          const file = prepared.copy.file;
          ctx.store.markPlaced(ctx.mailbox, item.uidl, file.target);
          const done = file.place().then(() => crashPoint('delivered-unrecorded'));
          done.catch(() => {});
          placed.push({ item, entry, takes: prepared.takes, maildir: file.maildir, done });
          placing = true;
        } else {
          // Once the message is here, it is finished even if a signal comes.
          await deliverTo(ctx, prepared, meta);
          crashPoint('delivered-unrecorded');
        }
      } catch (err) {
        // Anything else (a broken connection, a signal) ends the loop; `finally` cleans up.
        if (!isMessageLevel(err)) throw err;
        flight.discard();
        fail(item, entry, err);
        continue;
      } finally {
        ctx.onProgress?.(processed + 1, items.length);
      }
      if (placing) {
        if (placed.length >= BATCH) await flush();
      } else {
        ctx.store.markDelivered(ctx.mailbox, item.uidl, ctx.now);
        record(item, entry, prepared.takes);
      }
    }
  } finally {
    // Whatever was retrieved ahead and not delivered is thrown away once its RETR ends
    // (the caller drops the connection); the server keeps the message.
    for (const flight of flights.slice(processed)) {
      void flight.prepared.then(flight.discard, flight.discard);
    }
    try {
      await flush();
    } catch (err) {
      // The files are in place and noted; the next run records them (recover.ts).
      ctx.report.error ??= err;
      ctx.log.error({ err: errorMessage(err) }, `could not record ${placed.length} delivered messages: ${errorMessage(err)}; the next run will`);
    }
  }
  return delivered;
}

/** Decides where a message goes and retrieves it, as far as that needs. */
async function prepare(ctx: FetchContext, item: FetchItem, headerFirst: boolean, hold: (copy: Prepared['copy']) => void): Promise<Prepared> {
  const { router, session } = ctx;
  let takes: Take[] | null = null;
  if (!router.needsHeaders || router.quarantines(item.attempts)) {
    takes = router.decide(null, item.attempts);
  } else if (headerFirst) {
    const head = await session.headerOf(item.msgNo, item.uidl, item.size, MAX_HEADER_BYTES);
    takes = router.decide({ headers: Headers.parse(head), size: item.size }, item.attempts);
  }
  if (takes?.every((t) => t.target === null)) return { takes, copy: null };

  const only = takes?.length === 1 ? takes[0]!.target : null;
  const copy: NonNullable<Prepared['copy']> =
    only?.kind === 'maildir' ? { kind: 'maildir', file: ctx.targets.maildir(only.dir).begin() } : { kind: 'spool', file: ctx.spool.create() };
  hold(copy);
  const sink: BodySink = crashSwitchSet ? crashingSink(copy.file) : copy.file;
  await session.retrTo(item.msgNo, sink, item.size, item.uidl);
  if (!takes) {
    // No TOP: the route reads the headers from the whole message instead.
    const head = (copy.file as SpoolFile).head(MAX_HEADER_BYTES);
    takes = router.decide({ headers: Headers.parse(head), size: item.size }, item.attempts);
  }
  return { takes, copy };
}

/** Hands a spooled message to every target that takes it; fails (after trying all) if any did not. */
async function deliverTo(ctx: FetchContext, prepared: Prepared, meta: MessageMeta): Promise<void> {
  const { copy, takes } = prepared;
  if (copy?.kind !== 'spool') return;
  const failures: string[] = [];
  try {
    for (const take of takes) {
      if (!take.target) continue;
      try {
        await ctx.targets.get(take.target).deliver(copy.file, meta);
      } catch (err) {
        if (!isMessageLevel(err)) throw err;
        failures.push(takes.length > 1 ? `${take.by}: ${errorMessage(err)}` : errorMessage(err));
      }
    }
  } finally {
    copy.file.discard();
  }
  if (failures.length) throw new DeliveryError(failures.join('; '));
}

function describeFailure(err: unknown): string {
  if (err instanceof Pop3Error) {
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

/** For the crash tests: a sink that reaches the 'mid-retr' point after its first chunk. */
function crashingSink(sink: BodySink): BodySink {
  let chunks = 0;
  return {
    async write(chunk) {
      await sink.write(chunk);
      if (++chunks === 1) crashPoint('mid-retr');
    },
  };
}
