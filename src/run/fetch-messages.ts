import type { Log } from '../log.js';
import { DeliveryError } from '../deliver/errors.js';
import type { MaildirMessage } from '../deliver/maildir.js';
import type { Router, Take } from '../deliver/route/router.js';
import type { Spool, SpoolFile } from '../deliver/spool.js';
import { labelOf, type MessageMeta, type Targets } from '../deliver/target.js';
import { PinchmailError, errorMessage } from '../errors.js';
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

export interface FetchContext {
  session: Pop3Session;
  items: readonly FetchItem[];
  router: Router;
  targets: Targets;
  spool: Spool;
  store: StateStore;
  mailbox: string;
  account: string;
  /** Deliveries through spooled copies that may run at once (1: strictly one after another). */
  parallel: number;
  now: number;
  stop: AbortSignal;
  log: Log;
  report: AccountReport;
  onProgress?: (done: number, total: number) => void;
}

interface Flight {
  item: FetchItem;
  prepared: Promise<Prepared>;
  /** Given to a delivery (or failed and cleaned up): no longer this loop's to throw away. */
  handed: boolean;
  /** Throws away what a flight left behind, once it has settled. */
  discard(): void;
}

interface Entry {
  uidl: string;
  size: number;
  firstSeen: number;
  ageMs: number;
}

/** A failure of one message, after which the others can still go on. */
function isMessageLevel(err: unknown): boolean {
  if (err instanceof Pop3Error) return ['REFUSED', 'SYS_TEMP', 'SYS_PERM'].includes(err.code);
  return err instanceof PinchmailError && err.code === 'DELIVERY';
}

/**
 * Retrieves and delivers each message, marking each delivered once every target has
 * taken it. Where the route needs the headers and the server has TOP, they are read
 * first, so a message the route drops is never downloaded. A message that fails is
 * recorded and left for the next run; the rest go on. A broken connection ends the
 * loop and is rethrown once the deliveries in hand have finished. Returns the items
 * delivered.
 */
export async function fetchAndDeliver(ctx: FetchContext): Promise<FetchItem[]> {
  const { items } = ctx;
  const delivered: FetchItem[] = [];
  const prepareCtx = {
    session: ctx.session,
    router: ctx.router,
    targets: ctx.targets,
    spool: ctx.spool,
    headerFirst: ctx.router.needsHeaders && ctx.session.caps?.has('TOP') === true,
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
        handed: false,
        discard: () => {
          const c = copy as Prepared['copy'];
          if (c?.kind === 'spool') c.file.discard();
          if (c?.kind === 'maildir') void c.file.abort();
        },
      });
    }
  };

  const record = (item: FetchItem, entry: Entry, takes: Take[]): void => {
    crashPoint('recorded');
    delivered.push(item);
    const dropped = takes.every((t) => t.target === null);
    ctx.report.delivered++;
    if (dropped) ctx.report.dropped++;
    ctx.report.fetch.push({ ...entry, outcome: dropped ? 'dropped' : 'delivered' });
    const where = takes.map((t) => (t.target ? labelOf(t.target) : `nowhere (dropped by ${t.by})`)).join(', ');
    ctx.log.info({ uidl: item.uidl, size: item.size, by: takes.map((t) => t.by) }, `${dropped ? 'dropped' : 'delivered'} ${item.uidl}: ${where}`);
  };
  const fail = (item: FetchItem, entry: Entry, err: unknown): void => {
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

  // Messages going straight into a Maildir: each is written and fsynced as it arrives;
  // then, per batch, one transaction notes them all (placed), they are renamed into
  // new/, one fsync of new/ makes the renames durable, and one transaction marks them.
  // Marks never reach the disk before their files; recover.ts finishes a batch a
  // crash interrupted.
  let pending: { item: FetchItem; entry: Entry; takes: Take[]; file: MaildirMessage; sealed: Promise<void> }[] = [];
  const settleFailures = <T extends { item: FetchItem; entry: Entry }>(batch: T[], outcomes: PromiseSettledResult<unknown>[], clearNote: boolean): T[] => {
    const ok: T[] = [];
    for (const [i, p] of batch.entries()) {
      const outcome = outcomes[i]!;
      if (outcome.status === 'fulfilled') {
        ok.push(p);
        continue;
      }
      if (!isMessageLevel(outcome.reason)) throw outcome.reason;
      if (clearNote) ctx.store.markPlaced(ctx.mailbox, p.item.uidl, null);
      fail(p.item, p.entry, outcome.reason);
    }
    return ok;
  };
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    const sealed = settleFailures(batch, await Promise.allSettled(batch.map((p) => p.sealed)), false);
    ctx.store.markPlacedMany(ctx.mailbox, sealed.map((p) => ({ uidl: p.item.uidl, file: p.file.target })));
    const published = await Promise.allSettled(sealed.map((p) => p.file.publish().then(() => crashPoint('delivered-unrecorded'))));
    const landed = settleFailures(sealed, published, true);
    for (const maildir of new Set(landed.map((p) => p.file.maildir))) await maildir.syncNew();
    ctx.store.markDeliveredMany(ctx.mailbox, landed.map((p) => p.item.uidl), ctx.now);
    for (const p of landed) record(p.item, p.entry, p.takes);
  };

  // Deliveries through spooled copies: one at a time unless a target allows more.
  const slots = new Limiter(ctx.parallel);
  const running = new Set<Promise<void>>();
  let broken: unknown = null;
  const deliverSpooled = (flight: Flight, prepared: Prepared & { copy: { kind: 'spool'; file: SpoolFile } | null }, entry: Entry): void => {
    const { item } = flight;
    const job = (async () => {
      try {
        try {
          if (prepared.copy) await deliverTo(ctx, prepared.takes, prepared.copy.file, { account: ctx.account, uidl: item.uidl });
          crashPoint('delivered-unrecorded');
        } catch (err) {
          if (!isMessageLevel(err)) throw err;
          flight.discard();
          fail(item, entry, err);
          return;
        }
        ctx.store.markDelivered(ctx.mailbox, item.uidl, ctx.now);
        record(item, entry, prepared.takes);
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
      const entry: Entry = { uidl: item.uidl, size: item.size, firstSeen: item.firstSeen, ageMs: ctx.now - item.firstSeen };
      let prepared: Prepared;
      try {
        prepared = await untilStopped(flight.prepared, ctx.stop);
      } catch (err) {
        // Anything else (a broken connection, a signal) ends the loop; `finally` cleans up.
        if (!isMessageLevel(err)) throw err;
        flight.handed = true;
        flight.discard();
        fail(item, entry, err);
        continue;
      } finally {
        ctx.onProgress?.(processed + 1, items.length);
      }
      if (prepared.copy?.kind === 'maildir') {
        flight.handed = true;
        const file = prepared.copy.file;
        const sealed = file.seal();
        sealed.catch(() => {});
        pending.push({ item, entry, takes: prepared.takes, file, sealed });
        if (pending.length >= BATCH) await flush();
        continue;
      }
      await slots.acquire();
      // A signal or a broken delivery while this one waited for its turn: it is not started.
      if (ctx.stop.aborted || broken) {
        slots.release();
        break;
      }
      flight.handed = true;
      deliverSpooled(flight, prepared as Prepared & { copy: { kind: 'spool'; file: SpoolFile } | null }, entry);
    }
  } finally {
    // Whatever was retrieved ahead and not delivered is thrown away once its RETR ends
    // (the caller drops the connection); the server keeps the message.
    for (const flight of flights.filter((f) => !f.handed)) {
      void flight.prepared.then(flight.discard, flight.discard);
    }
    await Promise.all(running);
    try {
      await flush();
    } catch (err) {
      // The files are in place and noted; the next run records them (recover.ts).
      ctx.report.error ??= err;
      ctx.log.error({ err: errorMessage(err) }, `could not record delivered messages: ${errorMessage(err)}; the next run will`);
    }
  }
  if (broken) throw broken;
  return delivered;
}

/** Hands a spooled message to every target that takes it; fails (after trying all) if any did not. */
async function deliverTo(ctx: FetchContext, takes: Take[], copy: SpoolFile, meta: MessageMeta): Promise<void> {
  const failures: string[] = [];
  try {
    for (const take of takes) {
      if (!take.target) continue;
      try {
        await ctx.targets.get(take.target).deliver(copy, meta);
      } catch (err) {
        if (!isMessageLevel(err)) throw err;
        failures.push(takes.length > 1 ? `${take.by}: ${errorMessage(err)}` : errorMessage(err));
      }
    }
  } finally {
    copy.discard();
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
