const UNIT_MS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const UNITS = ['w', 'd', 'h', 'm', 's'];

/**
 * The longest duration there is (other than "never"): 10000 weeks, about 190 years. Held
 * exactly in a double, and a date plus it is still a date (Date ends at 8.64e15 ms).
 */
export const MAX_DURATION_MS = 10_000 * UNIT_MS.w!;
export const MAX_DURATION_TEXT = '10000w';

/**
 * The longest duration that may arm a timer. Node takes at most 2^31 - 1 ms (24d20h31m23s)
 * and fires anything longer after 1 ms; 24 whole days stays inside that.
 */
export const MAX_TIMER_MS = 24 * UNIT_MS.d!;

/** One or more of "2w", "3d", "4h", "5m", "6s", in that order: never the empty string. */
const SPANS = UNITS.map((unit, i) => `[0-9]+${unit}${UNITS.slice(i + 1).map((u) => `([0-9]+${u})?`).join('')}`).join('|');

/**
 * The form of a duration, for the JSON Schema: "0" and "never" only where the caller allows
 * them. (A zero such as "0s" still matches; the loader says why it is refused.)
 */
export function durationPattern(options: { allowNever?: boolean; allowZero?: boolean } = {}): string {
  return `^(${[...(options.allowZero ? ['0'] : []), ...(options.allowNever ? ['never'] : []), SPANS].join('|')})$`;
}

/** "30s", "15m", "12h", "7d", "2w", or combinations such as "1d12h" (units in falling order); "0"; "never". */
export const DURATION_PATTERN = durationPattern({ allowNever: true, allowZero: true });
const DURATION = new RegExp(DURATION_PATTERN);

/**
 * Milliseconds for a duration; "0" is zero and "never" is Infinity (only where the
 * caller allows it). Returns null for anything else, and for a duration longer than
 * MAX_DURATION_MS, so that no caller gets a number too big to mean anything.
 */
export function parseDuration(text: string): number | null {
  if (!DURATION.test(text)) return null;
  if (text === 'never') return Number.POSITIVE_INFINITY;
  if (text === '0') return 0;
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/([0-9]+)([wdhms])/g)) ms += Number(n) * UNIT_MS[unit!]!;
  return ms <= MAX_DURATION_MS ? ms : null;
}

/** The shortest readable form: 90000 → "1m30s", Infinity → "never". */
export function formatDuration(ms: number): string {
  if (ms === Number.POSITIVE_INFINITY) return 'never';
  if (ms < 1_000) return ms <= 0 ? '0' : `${Math.round(ms)}ms`;
  let rest = Math.floor(ms / 1_000) * 1_000;
  let out = '';
  for (const unit of ['d', 'h', 'm', 's']) {
    const size = UNIT_MS[unit]!;
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };
export const SIZE_PATTERN = '^[0-9]+[KMG]?$';

/** "500", "20K", "20M", "1G" → bytes (binary units), or null. */
export function parseSize(text: string): number | null {
  const m = /^([0-9]+)([KMG]?)$/.exec(text);
  return m ? Number(m[1]) * SIZE_UNITS[m[2]!]! : null;
}

/** Bytes back to the form a config uses when it is exact: 20971520 → "20M". */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [['G', 1024 ** 3], ['M', 1024 ** 2], ['K', 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}
