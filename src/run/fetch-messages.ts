import type { Logger } from 'pino';
import type { MessageMeta, PendingDelivery, DeliveryTarget } from '../deliver/target.js';
import { DeliveryError } from '../deliver/errors.js';
import { PinchmailError, errorMessage } from '../errors.js';
import type { FetchItem } from '../plan/plan.js';
import { Pop3Error } from '../pop3/errors.js';
import type { Pop3Session } from '../pop3/session.js';
import type { StateStore } from '../state/store.js';
import type { BodySink } from '../pop3/client.js';
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
  target: DeliveryTarget;
  store: StateStore;
  mailbox: string;
  account: string;
  now: number;
  stop: AbortSignal;
  log: Logger;
  report: AccountReport;
  onProgress?: (done: number, total: number) => void;
}

interface InFlight {
  item: FetchItem;
  pending: PendingDelivery | null;
  retrieved: Promise<number>;
}

/** A failure of one message, after which the others can still go on. */
function isMessageLevel(err: unknown): boolean {
  if (err instanceof Pop3Error) return ['REFUSED', 'SYS_TEMP', 'SYS_PERM'].includes(err.code);
  return err instanceof PinchmailError && err.code === 'DELIVERY';
}

/**
 * Retrieves and delivers each message in order, marking each delivered the moment
 * its target has taken it. A message that fails is recorded and left for the next
 * run; the rest go on. A broken connection ends the loop and is rethrown.
 * Returns the items delivered.
 */
export async function fetchAndDeliver(ctx: FetchContext): Promise<FetchItem[]> {
  const { items, session, target } = ctx;
  const delivered: FetchItem[] = [];
  const flights: InFlight[] = [];
  let started = 0;

  const launch = (upTo: number): void => {
    for (; started < Math.min(upTo, items.length); started++) {
      const item = items[started]!;
      let pending: PendingDelivery | null = null;
      let retrieved: Promise<number>;
      try {
        pending = target.begin();
        retrieved = session.retrTo(item.msgNo, crashSwitchSet ? crashingSink(pending.sink) : pending.sink, item.size, item.uidl);
      } catch (err) {
        retrieved = Promise.reject(err);
      }
      // Observed now, so an abandoned flight never becomes an unhandled rejection.
      retrieved.catch(() => {});
      flights.push({ item, pending, retrieved });
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
      try {
        await untilStopped(flight.retrieved, ctx.stop);
        // Once the body is here, the message in hand is finished even if a signal comes.
        await flight.pending!.complete(meta);
        crashPoint('delivered-unrecorded');
      } catch (err) {
        // Anything else (a broken connection, a signal) ends the loop; `finally` cleans up.
        if (!isMessageLevel(err)) throw err;
        flight.pending?.abort();
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
      ctx.report.delivered++;
      ctx.report.fetch.push({ ...entry, outcome: 'delivered' });
      ctx.log.info({ uidl: item.uidl, size: item.size }, `delivered ${item.uidl} to ${target.label}`);
    }
  } finally {
    // Whatever was retrieved ahead and not delivered is thrown away once its RETR ends
    // (the caller drops the connection); the server keeps the message.
    for (const flight of flights.slice(processed)) {
      void flight.retrieved.then(
        () => flight.pending?.abort(),
        () => flight.pending?.abort(),
      );
    }
  }
  return delivered;
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
