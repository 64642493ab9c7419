import { describe, expect, it } from 'vitest';
import { DURATION_PATTERN, MAX_DURATION_MS, MAX_TIMER_MS, formatDuration, parseDuration, parseSize } from '../../../src/config/duration.js';

describe('durations', () => {
  it.each([
    ['30s', 30_000],
    ['15m', 900_000],
    ['12h', 43_200_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['1d12h', 129_600_000],
    ['1w2d3h4m5s', 788_645_000],
    ['0', 0],
    ['never', Number.POSITIVE_INFINITY],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'seven', '7', '7 d', '7D', '1h1d', '-1d', '1.5h', 'Never', '0s0'])('%j is not a duration', (text) => {
    expect(parseDuration(text)).toBeNull();
  });

  it('the pattern (which the JSON Schema uses too) does not admit the empty string', () => {
    const pattern = new RegExp(DURATION_PATTERN);
    expect(pattern.test('')).toBe(false);
    for (const ok of ['0', 'never', '30s', '2w', '1w2d3h4m5s', '1d12h']) expect(pattern.test(ok), ok).toBe(true);
  });

  it('a duration too long to be held exactly is not a duration (not a huge number, not "never")', () => {
    expect(parseDuration('10000w')).toBe(MAX_DURATION_MS);
    expect(MAX_DURATION_MS).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
    // Now plus the longest duration is still a valid Date, for `status`.
    expect(Number.isNaN(new Date(Date.UTC(3000, 0) + MAX_DURATION_MS).getTime())).toBe(false);
    expect(parseDuration('10000w1s')).toBeNull();
    expect(parseDuration('99999999999w')).toBeNull();
    expect(parseDuration(`${'9'.repeat(400)}s`)).toBeNull();
  });

  it('the longest timer is 24 days, inside what a Node timer takes (2^31 - 1 ms)', () => {
    expect(MAX_TIMER_MS).toBe(parseDuration('24d'));
    expect(MAX_TIMER_MS).toBeLessThan(2 ** 31);
    expect(formatDuration(MAX_TIMER_MS)).toBe('24d');
  });

  it('formats back to the shortest form', () => {
    expect(formatDuration(129_600_000)).toBe('1d12h');
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(0)).toBe('0');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('never');
  });
});

describe('sizes', () => {
  it.each([
    ['500', 500],
    ['20K', 20 * 1024],
    ['20M', 20 * 1024 * 1024],
    ['1G', 1024 ** 3],
  ])('%s is %d bytes', (text, bytes) => expect(parseSize(text)).toBe(bytes));

  it.each(['', '20MB', '1.5M', 'M', '-1'])('%j is not a size', (text) => expect(parseSize(text)).toBeNull());
});
