import { PinchmailError, classify, errorMessage } from '../errors.js';
import type { FetchItem } from '../plan/plan.js';
import { Pop3Error } from '../pop3/errors.js';
import type { FetchContext } from './fetch-context.js';
import { Lookahead, settleUndelivered } from './lookahead.js';
import { MaildirBatch } from './maildir-batch.js';
import { Outcomes } from './outcomes.js';
import type { Prepared } from './prepare-message.js';
import { SpooledDeliveries } from './spooled-deliveries.js';

/** What one session's pass over the messages came to. */
export interface FetchOutcome {
  /** Delivered to every target that takes them (dropped ones included). */
  delivered: FetchItem[];
  /** Left unread by a "kill" rule: for this run to delete. */
  killed: FetchItem[];
  /** Not tried, because the session broke or a signal came first: for another session, or the next run. */
  untried: FetchItem[];
  /** What ended the pass early (a broken session, a signal), or null when every item was tried. */
  broken: unknown;
}

/**
 * Retrieves and delivers each message, marking each delivered once every target has
 * taken it. Where the route needs the headers and the server has TOP, they are read
 * first, so a message the route drops is never downloaded. A message that fails is
 * recorded and left for the next run; the rest go on. A broken session ends the pass
 * once the deliveries in hand have finished; it is returned, not thrown, with the
 * messages that were not tried, so the caller can go on in a new session.
 *
 * The parts: a look-ahead that retrieves ahead of delivery (lookahead.ts), Maildir
 * files placed in batches (maildir-batch.ts), deliveries through spooled copies
 * (spooled-deliveries.ts), and what became of each message (outcomes.ts). This is the
 * loop that orders them.
 */
export async function fetchAndDeliver(ctx: FetchContext): Promise<FetchOutcome> {
  const { items } = ctx;
  const lookahead = new Lookahead(
    {
      session: ctx.session,
      router: ctx.router,
      decider: ctx.decider,
      targets: ctx.targets,
      spool: ctx.spool,
      headerFirst: ctx.router.needsHeaders && ctx.session.caps?.has('TOP') === true,
      maxMessageSize: ctx.maxMessageSize,
    },
    items,
  );
  const outcomes = new Outcomes(ctx);
  const batch = new MaildirBatch(ctx, outcomes);
  const spooled = new SpooledDeliveries(ctx, outcomes);
  let broken: unknown = null;
  const stopped = (): boolean => ctx.stop.aborted || broken !== null || spooled.broken !== null;

  try {
    for (let processed = 0; processed < items.length && !stopped(); processed++) {
      const flight = lookahead.flight(processed);
      const { item } = flight;
      let prepared: Prepared;
      try {
        prepared = await untilStopped(flight.prepared, ctx.stop);
      } catch (err) {
        const scope = classify(err);
        if (scope === 'message' || (scope === 'message-session' && (err as Pop3Error).msgNo === item.msgNo)) {
          flight.settled = true;
          flight.discard();
          await outcomes.fail(item, err);
          if (scope === 'message') continue;
        }
        // The session is broken (or a signal came): the pass ends; `finally` cleans up.
        broken = err;
        break;
      } finally {
        ctx.onProgress?.(processed + 1, items.length);
      }
      const unread = prepared.takes[0]?.unread ? prepared.takes[0] : null;
      if (unread) {
        // A rule that read the whole message (no TOP) still leaves it unread: the copy goes.
        flight.settled = true;
        flight.discard();
        await outcomes.leftUnread(item, unread, prepared.fingerprint);
        continue;
      }
      if (prepared.copy?.kind === 'maildir') {
        flight.settled = true;
        await batch.add({ item, takes: prepared.takes, file: prepared.copy.file, fingerprint: prepared.fingerprint });
        continue;
      }
      // A signal or a broken delivery while this one waited for its turn: it is not started.
      if (!(await spooled.turn())) break;
      flight.settled = true;
      spooled.start(flight, prepared);
    }
  } finally {
    broken ??= spooled.broken;
    await settleTheBreak(lookahead, outcomes, broken);
    lookahead.abandonUnsettled();
    await spooled.settled();
    broken ??= spooled.broken;
    try {
      await batch.flush();
    } catch (err) {
      // The files are in place and noted; the next run records them (recover.ts).
      broken ??= err;
      ctx.log.error({ err: errorMessage(err) }, `could not record delivered messages: ${errorMessage(err)}; the next run will`);
    }
    outcomes.summarise();
  }
  const tried = lookahead.tried();
  return { delivered: outcomes.delivered, killed: outcomes.killed, untried: broken || ctx.stop.aborted ? items.filter((i) => !tried.has(i)) : [], broken };
}

/**
 * What a broken session owes the messages it was busy with: the message that broke it
 * may be ahead of where the loop stopped, and it is still that message's failure; the
 * one whose body was arriving counts an attempt (see Outcomes.interrupted).
 */
async function settleTheBreak(lookahead: Lookahead, outcomes: Outcomes, broken: unknown): Promise<void> {
  if (!(broken instanceof Pop3Error)) return;
  const culprit = lookahead.unsettled(broken.msgNo);
  if (culprit) {
    settleUndelivered(culprit);
    await outcomes.fail(culprit.item, broken);
  }
  const interrupted = lookahead.unsettled(broken.inTransfer);
  if (interrupted) {
    settleUndelivered(interrupted);
    await outcomes.interrupted(interrupted.item, broken);
  }
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
