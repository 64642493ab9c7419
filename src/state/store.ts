/**
 * The state database as the rest of pinchmail sees it: what this host (or its group) has
 * seen and delivered, per mailbox, behind one asynchronous interface, whatever engine
 * holds it (SQLite today, src/state/sqlite-store.ts). A method resolves once its change is
 * committed; makeDurable() once every change before it would survive a power cut.
 */
import type { KnownUidls, ListingChanges, StoredRow, UnreadAction } from '../plan/plan.js';

export interface MailboxSummary {
  /** Every UIDL held, those that left the server included. */
  tracked: number;
  delivered: number;
  /** On the server as of the last listing (neither gone from it nor deleted by this host). */
  onServer: number;
  /** Of those, delivered by this host. */
  deliveredOnServer: number;
  /** UIDLs no longer on the server, remembered for the grace period. */
  remembered: number;
  /** On the server, left there unread by a "skip" rule. */
  skipped: number;
  failing: { uidl: string; attempts: number; lastError: string | null; lastAttempt: number | null; firstSeen: number }[];
  oldestFirstSeen: number | null;
  /** first_seen of the oldest delivered message still on the server (its deletion is due first). */
  oldestDeliverable: number | null;
  /** `host`: the host that made it (in a group, which member). */
  lastRun: { at: number; status: string; error: string | null; durationMs: number | null; host: string | null } | null;
  /** The last run that ended without a failure. */
  lastOk: number | null;
  /** first_seen of the oldest message on the server this host still owes a delivery (not one a "skip" rule leaves). */
  oldestUndelivered: number | null;
  /** What every run of this host did, added up. */
  totals: { delivered: number; failed: number; quarantined: number; deleted: number };
  /** When this host recorded its recent complete listings (see LISTINGS_KEPT), oldest first. */
  listings: number[];
  /** Messages that left the server before this host delivered them: ever, the last time, and at the latest listing. */
  vanished: { total: number; lastAt: number | null; atLatestListing: number };
}

/** What status and the metrics show of a mailbox with no record yet. */
export const EMPTY_SUMMARY: MailboxSummary = {
  tracked: 0,
  delivered: 0,
  onServer: 0,
  deliveredOnServer: 0,
  remembered: 0,
  skipped: 0,
  failing: [],
  oldestFirstSeen: null,
  oldestDeliverable: null,
  lastRun: null,
  lastOk: null,
  oldestUndelivered: null,
  totals: { delivered: 0, failed: 0, quarantined: 0, deleted: 0 },
  listings: [],
  vanished: { total: 0, lastAt: null, atLatestListing: 0 },
};

/** What a run records of itself: its outcome, what it did (added to the totals) and how long it took. */
export interface RunOutcome {
  status: 'ok' | 'failed';
  error: string | null;
  /** The host that made the run (its name). */
  host?: string | null;
  counts?: Partial<RunCounts>;
}

export interface RunCounts {
  delivered: number;
  failed: number;
  quarantined: number;
  deleted: number;
  durationMs: number | null;
}

/** What a target recorded before acting on a message (see DeliveryJournal in src/deliver/target.ts). */
export interface OpenIntent {
  uidl: string;
  /** The target's key; null for a note an older version wrote (a Maildir file's path in messages.placed). */
  target: string | null;
  intent: string;
  /** The message's only target: once it has the message, the message is delivered. */
  sole: boolean;
}

/** What a target notes before it acts (see noteIntents). */
export interface Intent {
  uidl: string;
  target: string;
  intent: string;
  sole: boolean;
  /** Of the header block of the copy being delivered, kept for when a crashed run's delivery is recovered. */
  fingerprint: string | null;
}

/**
 * A listing as a whole: the digest of its UIDLs in order (listingDigest, src/pop3/listing.ts)
 * and STAT's total size. The same mark twice means the same messages, none replaced by
 * another under its UIDL (short of sizes that change and cancel out).
 */
export interface ListingMark {
  digest: string;
  octets: number;
}

/** A delivery to record: the message and the fingerprint of its header block. */
export interface Delivered {
  uidl: string;
  fingerprint: string | null;
}

/** A mailbox held for one run; released when the run ends, or by the engine when the process dies. */
export interface MailboxLock {
  release(): Promise<void>;
}

export interface StateStore {
  /** Where the state is, for messages: the database file, or the URL without its password. */
  readonly file: string;
  /**
   * Hosts share it (a group on PostgreSQL): a mailbox another holds is being polled by a
   * member of the group, which is how the group shares its accounts, not a problem.
   */
  readonly shared: boolean;
  /** The mailbox's lock, or null when another run holds it. */
  tryLock(mailbox: string): Promise<MailboxLock | null>;
  snapshot(mailbox: string, dueBefore: number, mark: ListingMark): Promise<{ known: KnownUidls; rows: Map<string, StoredRow> }>;
  rowsFor(mailbox: string, uidls: readonly string[]): Promise<Map<string, StoredRow>>;
  lastListing(mailbox: string): Promise<{ digest: string | null; octets: number | null; rows: number | null; at: number | null } | null>;
  applyListing(mailbox: string, changes: ListingChanges, now: number, mark: ListingMark | null): Promise<void>;
  markDelivered(mailbox: string, delivered: Delivered, now: number): Promise<void>;
  markDeliveredMany(mailbox: string, delivered: readonly Delivered[], now: number): Promise<void>;
  noteIntents(mailbox: string, notes: readonly Intent[]): Promise<void>;
  dropIntent(mailbox: string, uidl: string, target: string | null): Promise<void>;
  markTargetDone(mailbox: string, uidl: string, target: string, now: number): Promise<void>;
  openIntents(mailbox: string): Promise<OpenIntent[]>;
  doneTargets(mailbox: string): Promise<Map<string, Set<string>>>;
  markFailed(mailbox: string, uidl: string, error: string, now: number, fingerprint?: string | null): Promise<void>;
  markUnread(mailbox: string, uidl: string, action: UnreadAction, fingerprint: string | null): Promise<void>;
  importDelivered(mailbox: string, uidls: readonly { uidl: string; firstSeen: number | null }[], now: number): Promise<{ added: number; nowDelivered: number }>;
  markDeleted(mailbox: string, uidls: readonly string[], now: number): Promise<void>;
  recordRun(mailbox: string, now: number, outcome: RunOutcome, listing?: { vanished: number } | null): Promise<void>;
  makeDurable(mailbox: string): Promise<void>;
  summary(mailbox: string): Promise<MailboxSummary>;
  listingTimes(mailbox: string): Promise<number[]>;
  close(): Promise<void>;
}
