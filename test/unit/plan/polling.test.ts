import { describe, expect, it } from 'vitest';
import { listingGap, observedPolling, peerWindow, pollingHealth, pollingMargin, shortRetention } from '../../../src/plan/polling.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-11-02T08:00:00Z');

describe('peerWindow: how soon the other hosts may delete', () => {
  it('is the declared peerRetention, else this host’s retention', () => {
    expect(peerWindow({ retentionMs: 7 * DAY, peerRetentionMs: null })).toBe(7 * DAY);
    expect(peerWindow({ retentionMs: 7 * DAY, peerRetentionMs: 2 * DAY })).toBe(2 * DAY);
    expect(peerWindow({ retentionMs: Infinity, peerRetentionMs: 3 * HOUR })).toBe(3 * HOUR);
  });
  it('is none for "never", and for "0" (a host of its own) unless peers are declared', () => {
    expect(peerWindow({ retentionMs: Infinity, peerRetentionMs: null })).toBeNull();
    expect(peerWindow({ retentionMs: 0, peerRetentionMs: null })).toBeNull();
    expect(peerWindow({ retentionMs: 0, peerRetentionMs: Infinity })).toBeNull();
    expect(peerWindow({ retentionMs: 0, peerRetentionMs: 0 })).toBe(0);
  });
});

describe('listingGap', () => {
  it('reports a listing that came longer after the one before than the window, and nothing within it', () => {
    expect(listingGap(T0, T0 + 9 * DAY, 7 * DAY)).toEqual({ previous: T0, at: T0 + 9 * DAY, gapMs: 9 * DAY, windowMs: 7 * DAY });
    expect(listingGap(T0, T0 + 7 * DAY, 7 * DAY)).toBeNull();
    expect(listingGap(T0, T0 + HOUR, 7 * DAY)).toBeNull();
  });
  it('says nothing for a first listing, or without a window', () => {
    expect(listingGap(null, T0, 7 * DAY)).toBeNull();
    expect(listingGap(T0, T0 + 99 * DAY, null)).toBeNull();
  });
});

describe('observedPolling', () => {
  it('gives the median and the worst interval, whatever order the times come in', () => {
    const times = [T0, T0 + 5 * MIN, T0 + 10 * MIN, T0 + 60 * MIN, T0 + 65 * MIN].reverse();
    expect(observedPolling(times)).toEqual({ samples: 4, typicalMs: 5 * MIN, worstMs: 50 * MIN });
    expect(observedPolling([T0, T0 + 4 * MIN, T0 + 10 * MIN])).toEqual({ samples: 2, typicalMs: 5 * MIN, worstMs: 6 * MIN });
  });
  it('knows nothing from fewer than two listings', () => {
    expect(observedPolling([])).toBeNull();
    expect(observedPolling([T0])).toBeNull();
  });
});

describe('the margin, and when it is comfortable', () => {
  it('is comfortable from twice the worst interval', () => {
    const polling = { samples: 3, typicalMs: 5 * MIN, worstMs: 30 * MIN };
    expect(pollingMargin(HOUR, polling)).toEqual({ marginMs: 30 * MIN, comfortable: true });
    expect(pollingMargin(59 * MIN, polling)).toEqual({ marginMs: 29 * MIN, comfortable: false });
    expect(pollingMargin(20 * MIN, polling)).toEqual({ marginMs: -10 * MIN, comfortable: false });
  });
  it('calls a retention under five minutes short, but not "0" and not "never"', () => {
    expect(shortRetention(30_000)).toBe(true);
    expect(shortRetention(4 * MIN)).toBe(true);
    expect(shortRetention(5 * MIN)).toBe(false);
    expect(shortRetention(0)).toBe(false);
    expect(shortRetention(null)).toBe(false);
  });
});

describe('pollingHealth', () => {
  it('shows the latest gap until a later listing is within the window again, and an overdue mailbox by the clock', () => {
    const window = HOUR;
    const late = [T0, T0 + 10 * MIN, T0 + 3 * HOUR];
    expect(pollingHealth(window, late, T0 + 3 * HOUR).latestGap).toMatchObject({ gapMs: 3 * HOUR - 10 * MIN });
    expect(pollingHealth(window, [...late, T0 + 3 * HOUR + 10 * MIN], T0 + 4 * HOUR).latestGap).toBeNull();
    expect(pollingHealth(window, late, T0 + 3 * HOUR + 30 * MIN).overdueMs).toBeNull();
    expect(pollingHealth(window, late, T0 + 5 * HOUR).overdueMs).toBe(2 * HOUR);
    expect(pollingHealth(null, late, T0 + 50 * HOUR)).toMatchObject({ latestGap: null, overdueMs: null, margin: null });
  });
});
