import { describe, expect, it } from 'vitest';
import { deletionsOnceDelivered, sizesAsked } from '../../../src/plan/deletions.js';
import type { DeleteItem, FetchItem } from '../../../src/plan/plan.js';

const NOW = Date.parse('2026-11-02T08:00:00Z');
const due = (msgNo: number): DeleteItem => ({ msgNo, uidl: `u${msgNo}`, size: 10, firstSeen: NOW - 9e9, ageMs: 9e9 });
const fetched = (msgNo: number, dueOnDelivery: boolean): FetchItem => ({ msgNo, uidl: `u${msgNo}`, size: 10, firstSeen: NOW - 5, attempts: 0, dueOnDelivery, skipped: false });

describe('deletionsOnceDelivered', () => {
  it('is what was due, and what this run delivered that was due on delivery, in server order', () => {
    const plan = deletionsOnceDelivered([due(4), due(1)], [fetched(3, true), fetched(2, false)], NOW, false);
    expect(plan.map((d) => [d.msgNo, d.afterDelivery])).toEqual([
      [1, false],
      [3, true],
      [4, false],
    ]);
    expect(plan[1]).toMatchObject({ uidl: 'u3', ageMs: 5 });
  });
  it('takes what a kill rule left unread, however new, marked as such', () => {
    const plan = deletionsOnceDelivered([due(1)], [], NOW, false, [fetched(2, false)]);
    expect(plan.map((d) => [d.msgNo, d.afterDelivery, d.unread])).toEqual([
      [1, false, false],
      [2, false, true],
    ]);
  });
  it('is nothing in a run that had to log in again', () => {
    expect(deletionsOnceDelivered([due(1)], [fetched(2, true)], NOW, true, [fetched(3, false)])).toEqual([]);
  });
});

describe('sizesAsked', () => {
  it('asks LIST with the listing for a mailbox of up to 2000 messages last time, or one never listed', () => {
    expect(sizesAsked(null)).toBe('with-listing');
    expect(sizesAsked(2000)).toBe('with-listing');
    expect(sizesAsked(2001)).toBe('on-demand');
  });
});
