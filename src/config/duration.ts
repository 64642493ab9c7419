const UNIT_MS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** "30s", "15m", "12h", "7d", "2w", or combinations such as "1d12h" (units in falling order). */
export const DURATION_PATTERN = '^(0|never|([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?)$';
const DURATION = new RegExp(DURATION_PATTERN);

/**
 * Milliseconds for a duration; "0" is zero and "never" is Infinity (only where the
 * caller allows it). Returns null for anything else.
 */
export function parseDuration(text: string): number | null {
  if (!DURATION.test(text) || text === '') return null;
  if (text === 'never') return Number.POSITIVE_INFINITY;
  if (text === '0') return 0;
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/([0-9]+)([wdhms])/g)) ms += Number(n) * UNIT_MS[unit!]!;
  return ms;
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
