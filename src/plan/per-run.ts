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
 * Messages a rule left unread last time are taken outside the limit: a rule that leaves
 * them unread again costs nothing, and one large message skipped every run must not
 * hold the others back.
 */
export function withinPerRunLimit(fetch: readonly FetchItem[], limit: PerRunLimit): { fetch: FetchItem[]; deferred: Deferred } {
  let bytes = 0;
  let taken = 0;
  const within: FetchItem[] = [];
  const rest: FetchItem[] = [];
  for (const item of fetch) {
    if (item.skipped) within.push(item);
    else if (rest.length > 0 || taken >= limit.messages || (taken > 0 && bytes + item.size > limit.bytes)) rest.push(item);
    else {
      bytes += item.size;
      taken++;
      within.push(item);
    }
  }
  return { fetch: within, deferred: { messages: rest.length, bytes: rest.reduce((sum, m) => sum + m.size, 0) } };
}
