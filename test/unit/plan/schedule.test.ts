import { expect, it } from 'vitest';
import { JITTER, firstPollDelay, nextPollDelay } from '../../../src/plan/schedule.js';

const MIN = 60_000;

it('the first poll waits at most a tenth of the interval, at random', () => {
  expect(firstPollDelay(5 * MIN, 0)).toBe(0);
  expect(firstPollDelay(5 * MIN, 0.5)).toBe(15_000);
  expect(firstPollDelay(5 * MIN, 0.999999)).toBeLessThan(5 * MIN * JITTER);
});

it('the next poll counts from the start of the last, within a tenth either way', () => {
  expect(nextPollDelay(5 * MIN, 0, 0.5)).toBe(5 * MIN);
  expect(nextPollDelay(5 * MIN, 0, 0)).toBe(4.5 * MIN);
  expect(nextPollDelay(5 * MIN, 0, 0.999999)).toBeCloseTo(5.5 * MIN, -1);
  // A poll of 20 s leaves 4 m 40 s to wait.
  expect(nextPollDelay(5 * MIN, 20_000, 0.5)).toBe(5 * MIN - 20_000);
});

it('a poll longer than the interval is followed at once, never overlapped', () => {
  expect(nextPollDelay(5_000, 9_000, 0.5)).toBe(0);
});

it('never asks for a timer longer than Node can arm (an interval of 24 days stretched by the jitter)', () => {
  const DAY = 86_400_000;
  expect(nextPollDelay(24 * DAY, 0, 0.999999)).toBeLessThanOrEqual(2 ** 31 - 1);
  expect(firstPollDelay(24 * DAY, 0.999999)).toBeLessThanOrEqual(2 ** 31 - 1);
});
