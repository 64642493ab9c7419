import type { ListingGap } from '../plan/polling.js';

/** What one account's run did, for the summary, --json and the exit status. */

export interface MessageReport {
  uidl: string;
  size: number;
  firstSeen: number;
  ageMs: number;
  /** For deletions: due only once this run has delivered the message. */
  afterDelivery?: boolean;
  /** Real runs: what became of a message this run tried to fetch ("skipped" and "killed": left unread by a rule). */
  outcome?: 'delivered' | 'dropped' | 'failed' | 'skipped' | 'killed';
  /** For deletions: a "kill" rule's, of a message never read. */
  unread?: boolean;
  error?: string;
}

export interface AccountReport {
  name: string;
  status: 'ok' | 'failed' | 'skipped';
  /** The first failure, typed (Pop3Error, PinchmailError, ...; classify() and the CLI's exit table read it), or null. */
  error: Error | null;
  /** Delivered to every target that took it (dropped messages included). */
  delivered: number;
  /** Of those, taken by "drop" rules only. */
  dropped: number;
  /** Of those, sent to the account's onFailure target. */
  quarantined: number;
  failed: number;
  /** Left on the server unread by a "skip" rule (never deleted by this host). */
  skipped: number;
  /** Deleted from the server unread by a "kill" rule (counted in `deleted` once the server took the DELE). */
  killed: number;
  deleted: number;
  /** Messages the per-run limit left for the next run. */
  deferred: number;
  /** Messages the server listed, or null when the run did not get that far. */
  onServer: number | null;
  fetch: MessageReport[];
  delete: MessageReport[];
  /** UIDLs that left the server before this host delivered them. */
  vanished: { uidl: string; firstSeen: number }[];
  /** Messages the UIDL listing did not identify (a UIDL shared or invalid): left alone. */
  unidentified: { msgNo: number; uidl: string; why: string }[];
  /** This listing came longer after the one before than peers keep mail (src/plan/polling.ts); null when it did not. */
  listingGap: ListingGap | null;
}

export function emptyReport(name: string): AccountReport {
  return { name, status: 'ok', error: null, delivered: 0, dropped: 0, quarantined: 0, failed: 0, skipped: 0, killed: 0, deleted: 0, deferred: 0, onServer: null, fetch: [], delete: [], vanished: [], unidentified: [], listingGap: null };
}
