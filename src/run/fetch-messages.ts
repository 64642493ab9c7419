import type { Logger } from 'pino';
import { DeliveryError } from '../deliver/errors.js';
import type { MaildirMessage } from '../deliver/maildir.js';
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
          if (c?.kind === 'maildir') c.file.abort();
        },
      });
    }
  };

  let processed = 0;
  try {
    for (; processed < items.length; processed++) {
      if (ctx.stop.aborted) break;
      launch(processed + LOOKAHEAD);
      const flight = flights[processed]!;
      const { item } = flight;
      const meta: MessageMeta = { account: ctx.account, uidl: item.uidl };
      const entry = { uidl: item.uidl, size: item.size, firstSeen: item.firstSeen, ageMs: ctx.now - item.firstSeen };
      let takes: Take[];
      try {
        const prepared = await untilStopped(flight.prepared, ctx.stop);
        takes = prepared.takes;
        // Once the message is here, it is finished even if a signal comes.
        await deliverTo(ctx, prepared, meta);
        crashPoint('delivered-unrecorded');
      } catch (err) {
        // Anything else (a broken connection, a signal) ends the loop; `finally` cleans up.
        if (!isMessageLevel(err)) throw err;
        flight.discard();
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
        continue;
      } finally {
        ctx.onProgress?.(processed + 1, items.length);
      }
      ctx.store.markDelivered(ctx.mailbox, item.uidl, ctx.now);
      crashPoint('recorded');
      delivered.push(item);
      const dropped = takes.every((t) => t.target === null);
      ctx.report.delivered++;
      if (dropped) ctx.report.dropped++;
      ctx.report.fetch.push({ ...entry, outcome: dropped ? 'dropped' : 'delivered' });
      const where = takes.map((t) => (t.target ? labelOf(t.target) : `nowhere (dropped by ${t.by})`)).join(', ');
      ctx.log.info({ uidl: item.uidl, size: item.size, by: takes.map((t) => t.by) }, `${dropped ? 'dropped' : 'delivered'} ${item.uidl}: ${where}`);
    }
  } finally {
    // Whatever was retrieved ahead and not delivered is thrown away once its RETR ends
    // (the caller drops the connection); the server keeps the message.
    for (const flight of flights.slice(processed)) {
      void flight.prepared.then(flight.discard, flight.discard);
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

/** Hands the message to every target that takes it; fails (after trying all) if any did not. */
async function deliverTo(ctx: FetchContext, prepared: Prepared, meta: MessageMeta): Promise<void> {
  const { copy, takes } = prepared;
  if (copy?.kind === 'maildir') {
    copy.file.commit();
    return;
  }
  if (!copy) return;
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
    write(chunk) {
      const result = sink.write(chunk);
      if (++chunks === 1) crashPoint('mid-retr');
      return result;
    },
  };
}
