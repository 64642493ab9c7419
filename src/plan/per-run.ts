import type { FetchItem } from './plan.js';

/** The most one run fetches of an account (getmail6's max_messages_per_session, fetchmail's fetchlimit); Infinity for no limit. */
export interface PerRunLimit {
  messages: number;
  bytes: number;
}

/** What a run leaves for the next because of the limit. */
export interface Deferred {
  messages: number;
  bytes: number;
}

/**
 * The messages this run fetches, in the order given (the planner gives them oldest
 * first), up to the limit; the rest wait for the next run. One message is always
 * taken, however large, so a message over the byte limit does not stop the mailbox.
 */
export function withinPerRunLimit(fetch: readonly FetchItem[], limit: PerRunLimit): { fetch: FetchItem[]; deferred: Deferred } {
  let bytes = 0;
  let taken = 0;
  for (const item of fetch) {
    if (taken >= limit.messages || (taken > 0 && bytes + item.size > limit.bytes)) break;
    bytes += item.size;
    taken++;
  }
  const rest = fetch.slice(taken);
  return { fetch: fetch.slice(0, taken), deferred: { messages: rest.length, bytes: rest.reduce((sum, m) => sum + m.size, 0) } };
}
