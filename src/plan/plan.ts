/**
 * The heart of pinchmail's bookkeeping, as a pure function: from what the server
 * lists, what this host remembers, one clock reading and the retention, decide what
 * to fetch, what to delete and what to forget. No I/O, no clock of its own.
 */

export interface ListedMessage {
  msgNo: number;
  uidl: string;
  size: number;
}

export interface StoredRow {
  uidl: string;
  firstSeen: number;
  size: number | null;
  deliveredAt: number | null;
  attempts: number;
  lastError: string | null;
  goneSince: number | null;
  deletedAt: number | null;
}

/**
 * Every UIDL the state database holds for the mailbox; or 'as-listed', the store's word
 * that it holds every listed UIDL and that any other it holds is among the rows, already
 * marked gone (it has recorded this very listing before; see StateStore.snapshot).
 */
export type KnownUidls = ReadonlySet<string> | 'as-listed';

export interface PlanInput {
  /** What the server lists; sizes may come later (see withSizes). */
  listing: readonly (Omit<ListedMessage, 'size'> & { size?: number })[];
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
}

export interface FetchItem extends ListedMessage {
  firstSeen: number;
  /** Failed runs so far. */
  attempts: number;
  /** Old enough that, once delivered in this run, it is deleted in this run too. */
  dueOnDelivery: boolean;
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
  /** Rows marked gone that the server lists again. */
  returned: string[];
  /** Rows gone for longer than the grace period. */
  forget: string[];
}

export interface Plan extends ListingChanges {
  /** Not yet delivered by this host, in server order. */
  fetch: FetchItem[];
  /** Delivered by this host and old enough. */
  delete: DeleteItem[];
  /** Messages that left the server before this host delivered them (another host's retention was too short for us). */
  vanished: StoredRow[];
}

const DAY = 86_400_000;
/** UIDLs gone from the server are remembered at least this long, and at least the retention. */
export const MIN_GRACE_MS = 14 * DAY;

/** The plan with sizes filled in for what it will fetch and delete (sizes come after planning, and only for those). */
export function withSizes(p: Plan, sizes: ReadonlyMap<number, number>): Plan {
  const sized = <T extends ListedMessage>(m: T): T => ({ ...m, size: sizes.get(m.msgNo) ?? m.size });
  return { ...p, newlySeen: p.newlySeen.map(sized), fetch: p.fetch.map(sized), delete: p.delete.map(sized) };
}

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

export function plan({ listing, known, rows, now, retentionMs }: PlanInput): Plan {
  const out: Plan = { newlySeen: [], gone: [], returned: [], forget: [], fetch: [], delete: [], vanished: [] };
  const isKnown = known === 'as-listed' ? () => true : (uidl: string) => known.has(uidl);
  let knownListed = 0;
  const rowsListed = new Set<string>();
  for (const entry of listing) {
    const row = rows.get(entry.uidl);
    if (!row) {
      // Known without a row: delivered, not yet due. Nothing to do (nearly every message, on a big mailbox).
      if (isKnown(entry.uidl)) {
        knownListed++;
        continue;
      }
      const m: ListedMessage = { msgNo: entry.msgNo, uidl: entry.uidl, size: entry.size ?? 0 };
      out.newlySeen.push(m);
      out.fetch.push({ ...m, firstSeen: now, attempts: 0, dueOnDelivery: isDue(now, now, retentionMs) });
      continue;
    }
    knownListed++;
    rowsListed.add(row.uidl);
    const m: ListedMessage = { msgNo: entry.msgNo, uidl: entry.uidl, size: entry.size ?? 0 };
    if (row.goneSince !== null) out.returned.push(m.uidl);
    if (row.deliveredAt === null) {
      out.fetch.push({ ...m, firstSeen: row.firstSeen, attempts: row.attempts, dueOnDelivery: isDue(row.firstSeen, now, retentionMs) });
    } else if (isDue(row.firstSeen, now, retentionMs)) {
      out.delete.push({ ...m, firstSeen: row.firstSeen, ageMs: now - row.firstSeen });
    }
  }
  const grace = graceFor(retentionMs);
  for (const row of rows.values()) {
    if (rowsListed.has(row.uidl)) continue;
    if (row.goneSince === null) {
      out.gone.push(row.uidl);
      if (row.deliveredAt === null) out.vanished.push(row);
    } else if (now - row.goneSince >= grace) {
      out.forget.push(row.uidl);
    }
  }
  // Known UIDLs without a row that the server no longer lists: delivered, not yet due,
  // and deleted by another host. Looked for only when the counts say there are some.
  const unlistedRows = rows.size - rowsListed.size;
  if (known !== 'as-listed' && known.size - knownListed > unlistedRows) {
    const listed = new Set(listing.map((e) => e.uidl));
    for (const uidl of known) if (!listed.has(uidl) && !rows.has(uidl)) out.gone.push(uidl);
  }
  out.fetch.sort((a, b) => a.msgNo - b.msgNo);
  out.delete.sort((a, b) => a.msgNo - b.msgNo);
  return out;
}
