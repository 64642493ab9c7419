/**
 * What a host's own polling says about mail it may have missed. Peers share a mailbox
 * on equal terms, and the one way that loses mail is known: a peer deletes a message
 * `retention` after it first saw it, so a host that lists the mailbox less often than
 * that may never see a message that arrived just after its last listing. Pure: the
 * times come from the state database, `now` is the run's one clock reading.
 */

/**
 * How soon the other hosts may delete a message after they first saw it: the
 * `peerRetention` the operator declared, else this host's retention (peers are usually
 * configured alike). Null when no peer deletes anything that this host could miss:
 * retention "never", or "0" (one host alone, deleting as it delivers) with no
 * peerRetention declared.
 */
export function peerWindow(account: { retentionMs: number; peerRetentionMs: number | null }): number | null {
  const window = account.peerRetentionMs ?? (account.retentionMs === 0 ? null : account.retentionMs);
  return window === null || !Number.isFinite(window) ? null : window;
}

/** A listing that came longer after the one before than the peers keep mail. */
export interface ListingGap {
  /** When this host had listed the mailbox before (ms since the epoch). */
  previous: number;
  /** When it listed it this time. */
  at: number;
  gapMs: number;
  windowMs: number;
}

/**
 * The gap between this host's previous complete listing and this one, when it is longer
 * than the peers' window: mail that arrived in between may have come and gone unseen.
 * Null when there is no previous listing (a new host cannot have missed what it never
 * promised to see), no window, or the gap is within it.
 */
export function listingGap(previous: number | null, at: number, windowMs: number | null): ListingGap | null {
  if (previous === null || windowMs === null) return null;
  const gapMs = at - previous;
  return gapMs > windowMs ? { previous, at, gapMs, windowMs } : null;
}

/** How often this host really lists a mailbox, from its own recent listings. */
export interface ObservedPolling {
  /** Intervals measured (one fewer than the listings). */
  samples: number;
  /** The median interval. */
  typicalMs: number;
  /** The longest interval. */
  worstMs: number;
}

/** The intervals between listings (times in any order); null with fewer than two. */
export function observedPolling(times: readonly number[]): ObservedPolling | null {
  if (times.length < 2) return null;
  const sorted = [...times].sort((a, b) => a - b);
  const intervals = sorted.slice(1).map((t, i) => t - sorted[i]!);
  intervals.sort((a, b) => a - b);
  const mid = intervals.length >> 1;
  const typicalMs = intervals.length % 2 ? intervals[mid]! : Math.round((intervals[mid - 1]! + intervals[mid]!) / 2);
  return { samples: intervals.length, typicalMs, worstMs: intervals[intervals.length - 1]! };
}

/**
 * "Comfortably longer": the window must be at least this many times the worst interval
 * observed, so that one outage as long as the worst poll seen so far still costs nothing.
 */
export const COMFORT_FACTOR = 2;

/** Below this a retention (other than "0") is a risk of its own: see shortRetention. */
export const SHORT_RETENTION_MS = 5 * 60_000;

/** The margin between the window and the worst observed interval, and whether it is comfortable. */
export function pollingMargin(windowMs: number, polling: ObservedPolling): { marginMs: number; comfortable: boolean } {
  return { marginMs: windowMs - polling.worstMs, comfortable: windowMs >= COMFORT_FACTOR * polling.worstMs };
}

/** A retention so short (yet not "0") that any peer polling less often than it misses mail. */
export function shortRetention(windowMs: number | null): boolean {
  return windowMs !== null && windowMs > 0 && windowMs < SHORT_RETENTION_MS;
}

/** What status and the checks say of one mailbox's polling. */
export interface PollingHealth {
  /** See peerWindow. */
  windowMs: number | null;
  lastListing: number | null;
  polling: ObservedPolling | null;
  /** Null without a window or without two listings. */
  margin: { marginMs: number; comfortable: boolean } | null;
  /** The latest listing came longer after the one before than the window: shown until a later one does not. */
  latestGap: ListingGap | null;
  /** By now, longer than the window since the latest listing: the next run may find it has missed mail. */
  overdueMs: number | null;
}

/** From a mailbox's recorded listings (oldest first) and the clock. */
export function pollingHealth(windowMs: number | null, listings: readonly number[], now: number): PollingHealth {
  const polling = observedPolling(listings);
  const lastListing = listings.at(-1) ?? null;
  const since = lastListing === null ? null : now - lastListing;
  return {
    windowMs,
    lastListing,
    polling,
    margin: windowMs !== null && polling ? pollingMargin(windowMs, polling) : null,
    latestGap: listings.length >= 2 ? listingGap(listings.at(-2)!, lastListing!, windowMs) : null,
    overdueMs: windowMs !== null && since !== null && since > windowMs ? since : null,
  };
}
