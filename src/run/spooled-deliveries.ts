import { DeliveryError, UnsyncedError, mostLasting, type Permanence } from '../deliver/errors.js';
import { MAX_HEADER_BYTES } from '../deliver/route/header-limit.js';
import type { MessageFacts } from '../deliver/route/matchers.js';
import type { Destination } from '../deliver/route/router.js';
import type { SpoolFile } from '../deliver/spool.js';
import { targetKey } from '../deliver/target.js';
import { classify, errorMessage } from '../errors.js';
import type { FetchItem } from '../plan/plan.js';
import { Limiter } from '../util/limiter.js';
import { crashPoint } from '../util/crash-points.js';
import type { FetchContext } from './fetch-context.js';
import type { Flight } from './lookahead.js';
import type { Outcomes } from './outcomes.js';
import type { Prepared } from './prepare-message.js';

/**
 * Deliveries through spooled copies: one at a time unless a target allows more
 * (`parallel`). Each is marked delivered once every target has it; a failure of the
 * message is recorded and the pass goes on; any other failure (the state database)
 * is kept as `broken`, for the loop to stop on.
 */
export class SpooledDeliveries {
  private readonly slots: Limiter;
  private readonly running = new Set<Promise<void>>();
  broken: unknown = null;

  constructor(
    private readonly ctx: FetchContext,
    private readonly outcomes: Outcomes,
  ) {
    this.slots = new Limiter(ctx.parallel);
  }

  /** Waits for a turn; false when the pass must stop instead (a signal, or a broken delivery meanwhile). */
  async turn(): Promise<boolean> {
    await this.slots.acquire();
    if (this.ctx.stop.aborted || this.broken) {
      this.slots.release();
      return false;
    }
    return true;
  }

  /** Starts the delivery of a message whose turn() came. */
  start(flight: Flight, prepared: Prepared): void {
    const { item } = flight;
    const { ctx, outcomes } = this;
    const job = (async () => {
      try {
        let done = { takes: prepared.takes, dropped: [] as string[] };
        try {
          if (prepared.copy?.kind === 'spool') done = await deliverOrQuarantine(ctx, prepared.takes, prepared.copy.file, item, prepared.fingerprint);
        } catch (err) {
          if (classify(err) !== 'message') throw err;
          flight.discard();
          await outcomes.fail(item, err, prepared.fingerprint);
          return;
        } finally {
          if (prepared.copy?.kind === 'spool') prepared.copy.file.discard();
        }
        await ctx.store.markDelivered(ctx.mailbox, { uidl: item.uidl, fingerprint: prepared.fingerprint }, ctx.now);
        outcomes.record(item, done.takes, done.dropped);
      } catch (err) {
        this.broken ??= err;
      } finally {
        this.slots.release();
      }
    })();
    this.running.add(job);
    void job.finally(() => this.running.delete(job));
  }

  /** Every delivery started has ended. */
  async settled(): Promise<void> {
    await Promise.all(this.running);
  }
}

/**
 * Delivers to the message's targets; when one refused it for good (a command's
 * permanent status) and the account has a quarantine, the same copy goes there at once.
 * Returns where the message went in the end, and why targets dropped it.
 */
async function deliverOrQuarantine(
  ctx: FetchContext,
  takes: Destination[],
  copy: SpoolFile,
  item: FetchItem,
  fingerprint: string | null,
): Promise<{ takes: Destination[]; dropped: string[] }> {
  // Targets that take the message in this job: the quarantine, if it is one of them, does not get it twice.
  const tookIt = new Set<string>();
  try {
    return { takes, dropped: await deliverTo(ctx, takes, copy, item, fingerprint, tookIt) };
  } catch (err) {
    const instead = err instanceof DeliveryError && err.permanence === 'refused' ? await ctx.decider.afterRefusal(takes, () => factsOf(copy, item)) : null;
    // A skip or kill there cannot take a message already read: it stays refused, on the server.
    if (!instead || instead.some((t) => t.unread)) throw err;
    ctx.log.warn({ uidl: item.uidl }, `message ${item.uidl} refused for good (${errorMessage(err)}); it goes to ${instead[0]!.by} now`);
    return { takes: instead, dropped: await deliverTo(ctx, instead, copy, item, fingerprint, tookIt) };
  }
}

/** What the error processor decides on, read back from the spooled copy. */
async function factsOf(copy: SpoolFile, item: FetchItem): Promise<MessageFacts> {
  const { Headers } = await import('../deliver/route/headers.js');
  return { headers: Headers.parse(copy.head(MAX_HEADER_BYTES)), size: item.size };
}

/**
 * Hands a spooled message to every target that takes it and does not have it yet
 * (from an earlier run); fails, after trying all, if any did not take it. With several
 * targets, each one's success is recorded at once, so a retry never repeats it. Returns
 * why targets that discarded it (a command's "drop" status) did so.
 */
async function deliverTo(
  ctx: FetchContext,
  takes: Destination[],
  copy: SpoolFile,
  item: FetchItem,
  fingerprint: string | null,
  tookIt: Set<string> = new Set(),
): Promise<string[]> {
  const meta = { account: ctx.account, uidl: item.uidl };
  const wanted = takes.filter((t) => t.target !== null);
  const sole = wanted.length === 1;
  const done = ctx.done.get(item.uidl);
  const failures: string[] = [];
  const kinds: Permanence[] = [];
  const dropped: string[] = [];
  for (const take of wanted) {
    const key = targetKey(take.target!);
    if (done?.has(key) || tookIt.has(key)) continue;
    let noted = false;
    const journal = {
      intend: async (intent: string) => {
        await ctx.store.noteIntents(ctx.mailbox, [{ uidl: item.uidl, target: key, intent, sole, fingerprint }]);
        noted = true;
      },
    };
    try {
      const verdict = await ctx.targets.get(take.target!).deliver(copy, meta, journal);
      if (verdict !== 'delivered') dropped.push(verdict.dropped);
    } catch (err) {
      if (classify(err) !== 'message') throw err;
      if (noted && !(err instanceof UnsyncedError)) await ctx.store.dropIntent(ctx.mailbox, item.uidl, key);
      failures.push(takes.length > 1 ? `${take.by}: ${errorMessage(err)}` : errorMessage(err));
      kinds.push(err instanceof DeliveryError ? err.permanence : 'temporary');
      continue;
    }
    crashPoint('delivered-unrecorded');
    tookIt.add(key);
    if (!sole) await ctx.store.markTargetDone(ctx.mailbox, item.uidl, key, ctx.now);
  }
  if (failures.length) throw new DeliveryError(failures.join('; '), { permanence: mostLasting(kinds) });
  return dropped;
}
