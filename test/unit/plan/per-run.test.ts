import { describe, expect, it } from 'vitest';
import { withinPerRunLimit } from '../../../src/plan/per-run.js';
import { plan, type FetchItem, type StoredRow } from '../../../src/plan/plan.js';

const item = (msgNo: number, size: number, attempts = 0, skipped = false): FetchItem => ({ msgNo, uidl: `u${msgNo}`, size, firstSeen: 0, attempts, dueOnDelivery: false, skipped });

describe('the per-run limit', () => {
  it('takes messages in the planned order up to the count, and says what is left', () => {
    const { fetch, deferred } = withinPerRunLimit([item(1, 10), item(2, 20), item(3, 30)], { messages: 2, bytes: Infinity });
    expect(fetch.map((m) => m.msgNo)).toEqual([1, 2]);
    expect(deferred).toEqual({ messages: 1, bytes: 30 });
  });

  it('stops before the byte limit, but always takes one message, however large', () => {
    expect(withinPerRunLimit([item(1, 60), item(2, 50), item(3, 1)], { messages: Infinity, bytes: 100 }).fetch.map((m) => m.msgNo)).toEqual([1]);
    expect(withinPerRunLimit([item(1, 500), item(2, 1)], { messages: Infinity, bytes: 100 }).fetch.map((m) => m.msgNo)).toEqual([1]);
  });

  it('takes a message a rule skipped last time outside the limit, so a large one skipped every run holds nothing back', () => {
    const { fetch, deferred } = withinPerRunLimit([item(1, 5000, 0, true), item(2, 60), item(3, 50)], { messages: 1, bytes: 100 });
    expect(fetch.map((m) => m.msgNo)).toEqual([1, 2]);
    expect(deferred).toEqual({ messages: 1, bytes: 50 });
  });

  it('in a plan: every new message is first seen now, the oldest are fetched (one that failed before too, so it never waits for ever), failed ones last', () => {
    const listing = [1, 2, 3, 4].map((msgNo) => ({ msgNo, uidl: `u${msgNo}`, size: 100 }));
    const failed: StoredRow = { uidl: 'u1', size: 100, firstSeen: 5, deliveredAt: null, attempts: 2, lastError: 'x', goneSince: null, deletedAt: null, fingerprint: null, unread: null };
    const planned = plan({ listing, known: new Set(['u1']), rows: new Map([['u1', failed]]), now: 1000, retentionMs: Infinity, perRun: { messages: 2, bytes: Infinity } });
    expect(planned.newlySeen.map((m) => m.uidl)).toEqual(['u2', 'u3', 'u4']);
    expect(planned.fetch.map((m) => m.uidl)).toEqual(['u2', 'u1']);
    expect(planned.deferred).toEqual({ messages: 2, bytes: 200 });
  });
});
