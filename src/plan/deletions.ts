import type { DeleteItem, FetchItem } from './plan.js';

/** A deletion, and whether it waits on this run's delivery of the message, or is a "kill" rule's of a message never read. */
export interface Deletion extends DeleteItem {
  afterDelivery: boolean;
  unread: boolean;
}

/**
 * What a run deletes once it has delivered `delivered`: what the plan found due, what
 * this run delivered that was due the moment it was, and what a "kill" rule left unread
 * (whatever its age), in server order. A dry run asks with everything it would fetch.
 * Nothing in a run that had to log in again: identities were checked in an earlier
 * session, and in the seconds between a UIDL could have come to name another message,
 * so deleting waits for the next run's check (a killed message is decided again then).
 */
export function deletionsOnceDelivered(
  due: readonly DeleteItem[],
  delivered: readonly FetchItem[],
  now: number,
  reopened: boolean,
  killed: readonly FetchItem[] = [],
): Deletion[] {
  if (reopened) return [];
  const deletion = (f: FetchItem, afterDelivery: boolean, unread: boolean): Deletion => ({
    msgNo: f.msgNo,
    uidl: f.uidl,
    size: f.size,
    firstSeen: f.firstSeen,
    ageMs: now - f.firstSeen,
    afterDelivery,
    unread,
  });
  return [
    ...due.map((d) => ({ ...d, afterDelivery: false, unread: false })),
    ...delivered.filter((f) => f.dueOnDelivery).map((f) => deletion(f, true, false)),
    ...killed.map((f) => deletion(f, false, true)),
  ].sort((a, b) => a.msgNo - b.msgNo);
}

/**
 * A mailbox that held up to this many messages last time gets its sizes (LIST) in the
 * same round trip as its listing; a larger one only for what it will fetch or delete.
 */
const SIZES_WITH_LISTING = 2000;

/** Ask LIST with the listing, or later for the messages that need it, by the rows the mailbox held last time (null: never listed). */
export function sizesAsked(lastRows: number | null): 'with-listing' | 'on-demand' {
  return lastRows === null || lastRows <= SIZES_WITH_LISTING ? 'with-listing' : 'on-demand';
}
