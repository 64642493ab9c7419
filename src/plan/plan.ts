/**
 * The heart of pinchmail's bookkeeping, as a pure function: from what the server
 * lists, what this host remembers, one clock reading and the retention, decide what
 * to fetch, what to delete and what to forget. No I/O, no clock of its own.
 *
 * A message is its UIDL only while nothing casts doubt on that: servers reuse UIDLs
 * (message numbers, hashes of a few headers), and a peer may delete a message whose
 * UIDL then comes back on another. Before a UIDL that left and came back is acted on,
 * and before any DELE, the planner compares the message's identity with what this host
 * recorded (see identity.ts): the header fingerprint where it has one, else the LIST
 * size. It asks for what it needs to know through `need`, and is run again with the
 * answers; the executor acts only on a plan that needs nothing more.
 */
import { withinPerRunLimit, type Deferred, type PerRunLimit } from './per-run.js';
import { sameMessage, type Identity } from './identity.js';

export interface ListedMessage {
  msgNo: number;
  uidl: string;
  size: number;
}

/**
 * What a route rule does with a message instead of reading it: leave it on the server,
 * never deleted by this host ("skip"), or delete it from the server ("kill").
 */
export type UnreadAction = 'skip' | 'kill';

export interface StoredRow {
  uidl: string;
  firstSeen: number;
  size: number | null;
  deliveredAt: number | null;
  attempts: number;
  lastError: string | null;
  goneSince: number | null;
  deletedAt: number | null;
  /** Of the header block of the copy this host delivered (identity.ts); null before delivery or for rows older than fingerprints. */
  fingerprint: string | null;
  /** What the last run that left it unread decided; null for a message no rule left unread. */
  unread: UnreadAction | null;
}

/**
 * Every UIDL the state database holds for the mailbox, with the size first seen where
 * the store gives it; or 'as-listed', the store's word that it holds every listed UIDL,
 * that any other it holds is among the rows, already marked gone, and that no message
 * changed under its UIDL (it has recorded this very listing before; see StateStore.snapshot).
 */
export type KnownUidls = ReadonlySet<string> | ReadonlyMap<string, KnownMessage> | 'as-listed';

/** What the store gives of a known UIDL when it reads them all. */
export interface KnownMessage {
  /** The LIST size last recorded. */
  size: number | null;
  firstSeen: number;
}

export interface PlanInput {
  /** What the server lists and identifies; sizes may come later (see `sizes`). */
  listing: readonly (Omit<ListedMessage, 'size'> & { size?: number })[];
  /**
   * UIDLs the listing gives to messages it does not identify (shared by several, or no
   * unique-id): none of those messages is touched, and a row under such a UIDL counts as
   * gone, so that when the UIDL names one message again its identity is established
   * like that of any UIDL that comes back.
   */
  unidentified?: ReadonlySet<string>;
  known: KnownUidls;
  /**
   * The stored rows that may call for action: not delivered, due for deletion, gone
   * from the server, or deleted. A known UIDL without a row here is delivered, not yet
   * due and not gone, which on a large mailbox is nearly all of them; loading only
   * these keeps a poll with nothing new cheap.
   */
  rows: ReadonlyMap<string, StoredRow>;
  /** The run's one clock reading, ms since the epoch. */
  now: number;
  /** Infinity for "never". */
  retentionMs: number;
  /** LIST sizes by message number, once asked for (need.sizes). */
  sizes?: ReadonlyMap<number, number>;
  /** Header fingerprints by message number, once asked for (need.headers); null where the header could not be read. */
  headers?: ReadonlyMap<number, string | null>;
  /** The most this run fetches (maxMessagesPerRun, maxBytesPerRun); none when absent. */
  perRun?: PerRunLimit;
}

export interface FetchItem extends ListedMessage {
  firstSeen: number;
  /** Failed runs so far. */
  attempts: number;
  /** Old enough that, once delivered in this run, it is deleted in this run too. */
  dueOnDelivery: boolean;
  /** A rule left it on the server unread last time ("skip"): looked at again, outside the per-run limit. */
  skipped: boolean;
}

export interface DeleteItem extends ListedMessage {
  firstSeen: number;
  ageMs: number;
}

/** What the state database must learn from this listing. */
export interface ListingChanges {
  newlySeen: ListedMessage[];
  /** Rows the server no longer lists (first run without them). */
  gone: string[];
  /** Rows marked gone or deleted that the server lists again, found to be the same message. */
  returned: string[];
  /** Rows whose UIDL now names another message: recorded afresh, first seen now. */
  replaced: ListedMessage[];
  /** Rows of messages the server rewrote (found the same by their header): the size to compare from now on. */
  resized: ListedMessage[];
  /** Rows gone for longer than the grace period. */
  forget: string[];
  /** Messages that left the server before this host delivered them (another host's retention was too short for us). */
  vanished: StoredRow[];
}

/** What the planner must know before its plan can be acted on. */
export interface PlanNeeds {
  /** Message numbers whose LIST size is needed. */
  sizes: number[];
  /** Messages whose header fingerprint is needed (read with TOP n 0, or RETR). */
  headers: ListedMessage[];
  /** UIDLs whose stored rows are needed (a size that differs from the one recorded calls for them). */
  rows: string[];
}

export interface Plan extends ListingChanges {
  /** Not yet delivered by this host: new messages in server order, then those that failed before; within the per-run limit. */
  fetch: FetchItem[];
  /** What the per-run limit leaves for the next run (first seen now all the same, so retention counts from today). */
  deferred: Deferred;
  /** Delivered by this host, old enough, and still the message it delivered. */
  delete: DeleteItem[];
  /** Empty when the plan can be acted on; otherwise run plan() again with the answers. */
  need: PlanNeeds;
}

const DAY = 86_400_000;
/** UIDLs gone from the server are remembered at least this long, and at least the retention. */
export const MIN_GRACE_MS = 14 * DAY;

/** How long a UIDL that left the server is remembered: the retention, but never under two weeks. */
export function graceFor(retentionMs: number): number {
  return Number.isFinite(retentionMs) ? Math.max(retentionMs, MIN_GRACE_MS) : MIN_GRACE_MS;
}

export function isDue(firstSeen: number, now: number, retentionMs: number): boolean {
  return Number.isFinite(retentionMs) && now - firstSeen >= retentionMs;
}

/** Messages first seen at or before this are due for deletion once delivered (-1: none is). */
export function dueBefore(now: number, retentionMs: number): number {
  return Number.isFinite(retentionMs) ? now - retentionMs : -1;
}

export function needsNothing(p: Plan): boolean {
  return p.need.sizes.length === 0 && p.need.headers.length === 0 && p.need.rows.length === 0;
}

export function plan(input: PlanInput): Plan {
  const { listing, known, rows, now, retentionMs } = input;
  const out: Plan = {
    newlySeen: [],
    gone: [],
    returned: [],
    replaced: [],
    resized: [],
    forget: [],
    fetch: [],
    deferred: { messages: 0, bytes: 0 },
    delete: [],
    vanished: [],
    need: { sizes: [], headers: [], rows: [] },
  };
  const isKnown = known === 'as-listed' ? () => true : (uidl: string) => known.has(uidl);
  const sizeOf = (entry: PlanInput['listing'][number]): number | undefined => entry.size ?? input.sizes?.get(entry.msgNo);
  const fresh = (m: ListedMessage): FetchItem => ({ ...m, firstSeen: now, attempts: 0, dueOnDelivery: isDue(now, now, retentionMs), skipped: false });
  let knownListed = 0;
  const rowsListed = new Set<string>();
  // The latest first sight among the messages listed so far. Servers list messages in the
  // order they arrived, so one first seen earlier than a message listed before it (a new
  // one, say) arrived since, under a UIDL this host knows: its identity is in doubt.
  let latest = Number.NEGATIVE_INFINITY;
  const outOfOrder = (firstSeen: number): boolean => {
    const earlier = firstSeen < latest;
    latest = Math.max(latest, firstSeen);
    return earlier;
  };
  for (const entry of listing) {
    const row = rows.get(entry.uidl);
    if (!row) {
      // Known without a row: delivered, not yet due. Nothing to do (nearly every message, on a
      // big mailbox), unless a size at hand differs from the recorded one, or it is listed out
      // of order: then its row is asked for, to check its identity.
      if (isKnown(entry.uidl)) {
        knownListed++;
        const size = sizeOf(entry);
        const recorded = known instanceof Map ? known.get(entry.uidl) : undefined;
        if (recorded && (outOfOrder(recorded.firstSeen) || (size !== undefined && recorded.size !== null && recorded.size !== size))) {
          out.need.rows.push(entry.uidl);
        }
        continue;
      }
      latest = now;
      const size = sizeOf(entry);
      if (size === undefined) out.need.sizes.push(entry.msgNo);
      const m: ListedMessage = { msgNo: entry.msgNo, uidl: entry.uidl, size: size ?? 0 };
      out.newlySeen.push(m);
      out.fetch.push(fresh(m));
      continue;
    }
    knownListed++;
    rowsListed.add(row.uidl);
    const came = row.goneSince !== null || row.deletedAt !== null;
    const due = row.deliveredAt !== null && isDue(row.firstSeen, now, retentionMs);
    const doubted = outOfOrder(row.firstSeen) && row.deliveredAt !== null;
    const size = sizeOf(entry);
    // A UIDL that is to be acted on, that left and came back, or is listed out of order has
    // its identity checked; one delivered and not yet due, also when a size at hand differs.
    if (!came && !doubted && row.deliveredAt !== null && !due && (size === undefined || row.size === null || size === row.size)) continue;
    if (size === undefined) {
      out.need.sizes.push(entry.msgNo);
      continue;
    }
    const m: ListedMessage = { msgNo: entry.msgNo, uidl: entry.uidl, size };
    // Before a DELE, or when it comes back, the header must match too; otherwise the size is enough.
    const verdict = sameMessage(identityOf(row), size, came || due || doubted ? input.headers?.get(entry.msgNo) : (input.headers?.get(entry.msgNo) ?? 'size only'));
    if (verdict === 'ask') {
      if (input.headers === undefined) out.need.headers.push(m);
      // Asked and still unknown (the header could not be read): nothing is decided this run.
      continue;
    }
    if (verdict === 'other') {
      out.replaced.push(m);
      out.fetch.push(fresh(m));
      continue;
    }
    if (came) out.returned.push(m.uidl);
    // The same message, rewritten by the server (status headers): its size now is the one to compare.
    if (row.size !== null && row.size !== size) out.resized.push(m);
    if (row.deliveredAt === null) {
      out.fetch.push({ ...m, firstSeen: row.firstSeen, attempts: row.attempts, dueOnDelivery: isDue(row.firstSeen, now, retentionMs), skipped: row.unread === 'skip' });
    } else if (due) {
      out.delete.push({ ...m, firstSeen: row.firstSeen, ageMs: now - row.firstSeen });
    }
  }
  const grace = graceFor(retentionMs);
  for (const row of rows.values()) {
    if (rowsListed.has(row.uidl)) continue;
    if (row.goneSince === null) {
      out.gone.push(row.uidl);
      // One a rule left unread was not missed: this host chose not to read it.
      if (row.deliveredAt === null && row.unread === null && !input.unidentified?.has(row.uidl)) out.vanished.push(row);
    } else if (now - row.goneSince >= grace) {
      out.forget.push(row.uidl);
    }
  }
  // Known UIDLs without a row that the server no longer lists: delivered, not yet due,
  // and deleted by another host. Looked for only when the counts say there are some.
  const unlistedRows = rows.size - rowsListed.size;
  if (known !== 'as-listed' && known.size - knownListed > unlistedRows) {
    const listed = new Set(listing.map((e) => e.uidl));
    for (const uidl of known.keys()) if (!listed.has(uidl) && !rows.has(uidl)) out.gone.push(uidl);
  }
  // The per-run limit takes the oldest (server order), failed before or not, so none waits for ever behind new mail.
  if (input.perRun) {
    out.fetch.sort((a, b) => a.msgNo - b.msgNo);
    ({ fetch: out.fetch, deferred: out.deferred } = withinPerRunLimit(out.fetch, input.perRun));
  }
  // Of those, messages that failed before go last, so one that keeps failing never holds up new mail.
  out.fetch.sort((a, b) => Number(a.attempts > 0) - Number(b.attempts > 0) || a.msgNo - b.msgNo);
  out.delete.sort((a, b) => a.msgNo - b.msgNo);
  return out;
}

function identityOf(row: StoredRow): Identity {
  return { size: row.size, fingerprint: row.fingerprint };
}
