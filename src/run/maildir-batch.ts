import { UnsyncedError } from '../deliver/errors.js';
import { placeDurably, type MaildirMessage } from '../deliver/maildir.js';
import type { Destination } from '../deliver/route/router.js';
import { targetKey } from '../deliver/target.js';
import { classify } from '../errors.js';
import type { FetchItem } from '../plan/plan.js';
import { crashPoint } from '../util/crash-points.js';
import type { FetchContext } from './fetch-context.js';
import type { Outcomes } from './outcomes.js';

/**
 * Maildir deliveries made durable and marked together: one fsync of new/ and one
 * transaction per batch instead of per message. Bounded, so a crash leaves little for
 * recover.ts to check.
 */
const BATCH = 64;

interface Placement {
  item: FetchItem;
  takes: Destination[];
  file: MaildirMessage;
  fingerprint: string | null;
}

/**
 * Messages written straight into a Maildir (their only target), placed in batches
 * (placeDurably): the batch's files are noted in one transaction, renamed, made durable
 * with one fsync of new/, and marked in one more. recover.ts finishes a batch a crash
 * interrupted.
 */
export class MaildirBatch {
  private pending: Placement[] = [];

  constructor(
    private readonly ctx: FetchContext,
    private readonly outcomes: Outcomes,
  ) {}

  /** Adds a retrieved message; places the batch once it is full. */
  async add(placement: Placement): Promise<void> {
    this.pending.push(placement);
    if (this.pending.length >= BATCH) await this.flush();
  }

  /** Places what is pending. A failure that is not one message's (the state database) is thrown. */
  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const { ctx } = this;
    const batch = this.pending;
    this.pending = [];
    // Each message's only target is its Maildir (not always the same one, with a route).
    const keyOf = (p: Placement): string => targetKey(p.takes[0]!.target!);
    const byFile = new Map(batch.map((p) => [p.file, p]));
    const placed = await placeDurably(
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
    const landed: Placement[] = [];
    for (const [i, p] of batch.entries()) {
      const outcome = placed[i]!;
      if (outcome.status === 'fulfilled') {
        crashPoint('delivered-unrecorded');
        landed.push(p);
        continue;
      }
      if (classify(outcome.reason) !== 'message') throw outcome.reason;
      // An unsynced file is in new/ all the same: its note stays for the next run to settle.
      if (!(outcome.reason instanceof UnsyncedError)) await ctx.store.dropIntent(ctx.mailbox, p.item.uidl, keyOf(p));
      await this.outcomes.fail(p.item, outcome.reason, p.fingerprint);
    }
    await ctx.store.markDeliveredMany(
      ctx.mailbox,
      landed.map((p) => ({ uidl: p.item.uidl, fingerprint: p.fingerprint })),
      ctx.now,
    );
    for (const p of landed) this.outcomes.record(p.item, p.takes);
  }
}
