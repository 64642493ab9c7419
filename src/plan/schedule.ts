/**
 * When the daemon polls an account next: pure, given the account's interval and a
 * random number in [0, 1). Peers started together (a fleet rebooted at once) must not
 * poll in lockstep, so every interval is stretched or shrunk by up to JITTER of itself,
 * and the first poll waits a random part of that.
 */
export const JITTER = 0.1;

/** The longest timer Node arms as asked (longer ones fire at once): 24 days, as the config allows for "every". */
const MAX_DELAY_MS = 24 * 86_400_000;

/** From the daemon's start (or an account's arrival in a reloaded config) to its first poll. */
export function firstPollDelay(everyMs: number, random: number): number {
  return Math.min(MAX_DELAY_MS, Math.floor(random * everyMs * JITTER));
}

/**
 * From the end of a poll to the start of the next: the interval counts from the start of
 * the one before, so a slow poll does not push every later one back; one that took
 * longer than the interval is followed at once, never overlapped.
 */
export function nextPollDelay(everyMs: number, elapsedMs: number, random: number): number {
  const interval = everyMs * (1 + JITTER * (2 * random - 1));
  return Math.min(MAX_DELAY_MS, Math.max(0, Math.round(interval - elapsedMs)));
}
