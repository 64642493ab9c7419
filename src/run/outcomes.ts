import { DeliveryError, isPermanent } from '../deliver/errors.js';
import type { Destination } from '../deliver/route/router.js';
import { labelOf } from '../deliver/target.js';
import { errorMessage } from '../errors.js';
import type { FetchItem } from '../plan/plan.js';
import { Pop3Error } from '../pop3/errors.js';
import { crashPoint } from '../util/crash-points.js';
import type { FetchContext } from './fetch-context.js';

const TRIED_AGAIN = 'it stays on the server and is tried again next run';
const LASTING = 'this will not fix itself: the message stays on the server and is tried again each run, until the target is fixed';

/**
 * What became of each message of a pass, said once: in the report, the log and the state
 * database. A failure the same as one before (its words with the UIDL taken out) is
 * counted, not logged again, and the count is logged once when the pass ends.
 */
export class Outcomes {
  /** Delivered to every target that takes them (dropped ones included). */
  readonly delivered: FetchItem[] = [];
  /** Left unread by a "kill" rule, to be deleted in this run. */
  readonly killed: FetchItem[] = [];
  private readonly seen = new Map<string, { first: string; more: string[] }>();

  constructor(private readonly ctx: FetchContext) {}

  /**
   * Delivered (or dropped) and marked so: into the report and the log. `discarded` says
   * why targets that took it discarded it (a command's "drop" status): when every
   * target did, or the route dropped it, it counts as dropped.
   */
  record(item: FetchItem, takes: readonly Destination[], discarded: readonly string[] = []): void {
    crashPoint('recorded');
    this.delivered.push(item);
    const wanted = takes.filter((t) => t.target !== null).length;
    const dropped = discarded.length >= wanted;
    this.ctx.report.delivered++;
    if (dropped) this.ctx.report.dropped++;
    if (takes.some((t) => this.ctx.router.isQuarantine(t))) this.ctx.report.quarantined++;
    this.ctx.report.fetch.push({ ...this.shown(item), outcome: dropped ? 'dropped' : 'delivered' });
    const where = [
      ...takes.map((t) => (t.target ? labelOf(t.target) : `nowhere (dropped by ${t.by})`)),
      ...discarded.map((why) => `discarded: ${why}`),
    ].join(', ');
    this.ctx.log.info({ uidl: item.uidl, size: item.size, by: takes.map((t) => t.by) }, `${dropped ? 'dropped' : 'delivered'} ${item.uidl}: ${where}`);
  }

  /**
   * A rule left the message unread: "skip" leaves it on the server (not a failure; looked
   * at again next run), "kill" has it deleted at the end of this run.
   */
  async leftUnread(item: FetchItem, by: Destination, fingerprint: string | null): Promise<void> {
    const action = by.unread!;
    await this.ctx.store.markUnread(this.ctx.mailbox, item.uidl, action, fingerprint);
    if (action === 'kill') {
      this.killed.push(item);
      this.ctx.report.killed++;
    } else {
      this.ctx.report.skipped++;
    }
    this.ctx.report.fetch.push({ ...this.shown(item), outcome: action === 'kill' ? 'killed' : 'skipped' });
    const what = action === 'kill' ? 'to be deleted from the server unread' : 'left on the server unread';
    this.ctx.log.info({ uidl: item.uidl, size: item.size, by: [by.by] }, `${action === 'kill' ? 'killed' : 'skipped'} ${item.uidl}: ${what} by ${by.by}`);
  }

  /** A message's failure, recorded with the fingerprint of its copy when one was retrieved (its identity for next time). */
  async fail(item: FetchItem, err: unknown, fingerprint: string | null = null): Promise<void> {
    const { ctx } = this;
    const why = describeFailure(err);
    ctx.report.failed++;
    ctx.report.fetch.push({ ...this.shown(item), outcome: 'failed', error: why });
    await ctx.store.markFailed(ctx.mailbox, item.uidl, why, ctx.now, fingerprint);
    const key = why.split(item.uidl).join('\0');
    const same = this.seen.get(key);
    if (same) same.more.push(item.uidl);
    else {
      this.seen.set(key, { first: item.uidl, more: [] });
      ctx.log.error({ uidl: item.uidl, size: item.size, attempts: item.attempts + 1 }, `message ${item.uidl} not delivered: ${why}; ${isPermanent(err) ? LASTING : TRIED_AGAIN}`);
    }
    // A message left for the next run is a temporary failure, unless it will not fix itself:
    // then the run says so, whichever message came first.
    const error = err instanceof DeliveryError ? err : new DeliveryError(`message ${item.uidl} not delivered: ${why}`, { cause: err });
    const before = ctx.report.error;
    if (before == null || (before instanceof DeliveryError && !isPermanent(before) && isPermanent(error))) ctx.report.error = error;
  }

  /**
   * The message whose body was arriving when the connection failed: an attempt is counted
   * (not a failure of its own: the run's error is the connection's), so that one a server
   * always fails on goes last next run, and to onFailure in time.
   */
  async interrupted(item: FetchItem, err: unknown): Promise<void> {
    const { ctx } = this;
    const why = errorMessage(err);
    await ctx.store.markFailed(ctx.mailbox, item.uidl, why, ctx.now);
    ctx.report.fetch.push({ ...this.shown(item), outcome: 'failed', error: why });
    ctx.log.warn({ uidl: item.uidl }, `message ${item.uidl} was arriving when the connection failed; it is tried again next run, after the others`);
  }

  /** One line for each kind of failure that more than one message met. */
  summarise(): void {
    for (const { first, more } of this.seen.values()) {
      if (more.length === 0) continue;
      const n = more.length;
      this.ctx.log.error(
        { uidls: more.slice(0, 100), count: n },
        `... and ${n} more message${n > 1 ? 's' : ''} failed the same way as ${first}; ${n > 1 ? 'they stay' : 'it stays'} on the server and ${n > 1 ? 'are' : 'is'} tried again next run`,
      );
    }
    this.seen.clear();
  }

  private shown(item: FetchItem): { uidl: string; size: number; firstSeen: number; ageMs: number } {
    return { uidl: item.uidl, size: item.size, firstSeen: item.firstSeen, ageMs: this.ctx.now - item.firstSeen };
  }
}

function describeFailure(err: unknown): string {
  if (err instanceof Pop3Error && err.code !== 'PROTOCOL' && err.msgNo === undefined) {
    return `the server refused to send it (${err.serverText ?? err.message}); another host may have deleted it`;
  }
  return errorMessage(err);
}
