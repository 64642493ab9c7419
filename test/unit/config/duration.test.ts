import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, parseSize } from '../../../src/config/duration.js';

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
