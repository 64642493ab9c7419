import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { KnownUidls, ListingChanges, StoredRow } from '../plan/plan.js';
import { stateError } from './errors.js';
import { migrate } from './migrations.js';

export interface MailboxSummary {
  tracked: number;
  delivered: number;
  failing: { uidl: string; attempts: number; lastError: string | null; lastAttempt: number | null; firstSeen: number }[];
  oldestFirstSeen: number | null;
  /** first_seen of the oldest delivered message still on the server (its deletion is due first). */
  oldestDeliverable: number | null;
  lastRun: { at: number; status: string; error: string | null } | null;
}

const ROW_COLUMNS = 'uidl, first_seen, size, delivered_at, attempts, last_error, gone_since, deleted_at';
/** The condition of the messages_pending index (migration 3), word for word, so SQLite can use it. */
const PENDING = '(delivered_at IS NULL OR gone_since IS NOT NULL OR deleted_at IS NOT NULL)';

interface Row {
  uidl: string;
  first_seen: number;
  size: number | null;
  delivered_at: number | null;
  attempts: number;
  last_error: string | null;
  gone_since: number | null;
  deleted_at: number | null;
}

/**
 * The state database: what this host has seen and delivered, per mailbox.
 *
 * Durability: each change is its own transaction in WAL mode with synchronous=NORMAL,
 * which survives a crash of this process at any instant. What must also survive a
 * power cut before the server is told to delete anything is forced to disk by
 * makeDurable(), which the fetch calls right before its first DELE.
 */
export class StateStore {
  private readonly statements: ReturnType<StateStore['prepare']>;

  private constructor(
    private readonly db: Database.Database,
    readonly file: string,
  ) {
    this.statements = this.prepare();
  }

  /** Opens (creating with mode 0600 in a 0700 directory) and migrates. */
  static open(file: string): StateStore {
    try {
      const dir = path.dirname(file);
      if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
      if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
      const db = new Database(file, { timeout: 5_000 });
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      migrate(db);
      return new StateStore(db, file);
    } catch (err) {
      throw stateError(err, file, 'cannot open');
    }
  }

  /** For --dry-run and status: never creates or writes anything; null when there is no database yet. */
  static openReadOnly(file: string): StateStore | null {
    if (!existsSync(file)) return null;
    try {
      const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 5_000 });
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version === 0) {
        db.close();
        return null;
      }
      return new StateStore(db, file);
    } catch (err) {
      throw stateError(err, file, 'cannot open');
    }
  }

  private prepare() {
    const db = this.db;
    return {
      known: db.prepare<[string], string>('SELECT uidl FROM messages WHERE mailbox = ?').pluck(),
      rowCount: db.prepare<[string], number>('SELECT count(*) FROM messages WHERE mailbox = ?').pluck(),
      // The indexes are named so that a schema without them fails loudly here rather than
      // every poll quietly reading the whole mailbox.
      pending: db.prepare<[string, string, number], Row>(
        `SELECT ${ROW_COLUMNS} FROM messages INDEXED BY messages_pending WHERE mailbox = ? AND ${PENDING}
         UNION
         SELECT ${ROW_COLUMNS} FROM messages INDEXED BY messages_age WHERE mailbox = ? AND first_seen <= ?`,
      ),
      lastListing: db.prepare<[string], { listing_digest: string | null; listing_rows: number | null }>(
        'SELECT listing_digest, listing_rows FROM mailboxes WHERE mailbox = ?',
      ),
      setListing: db.prepare(
        `INSERT INTO mailboxes (mailbox, listing_digest, listing_rows) VALUES (?, ?, ?)
         ON CONFLICT (mailbox) DO UPDATE SET listing_digest = excluded.listing_digest, listing_rows = excluded.listing_rows`,
      ),
      insertSeen: db.prepare('INSERT INTO messages (mailbox, uidl, first_seen, size) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
      setGone: db.prepare('UPDATE messages SET gone_since = ? WHERE mailbox = ? AND uidl = ? AND gone_since IS NULL'),
      clearGone: db.prepare('UPDATE messages SET gone_since = NULL WHERE mailbox = ? AND uidl = ?'),
      forget: db.prepare('DELETE FROM messages WHERE mailbox = ? AND uidl = ?'),
      delivered: db.prepare('UPDATE messages SET delivered_at = ?, last_error = NULL, placed = NULL WHERE mailbox = ? AND uidl = ?'),
      placed: db.prepare('UPDATE messages SET placed = ? WHERE mailbox = ? AND uidl = ?'),
      placedRows: db.prepare<[string], { uidl: string; placed: string }>(
        `SELECT uidl, placed FROM messages INDEXED BY messages_pending
          WHERE mailbox = ? AND ${PENDING} AND placed IS NOT NULL AND delivered_at IS NULL`,
      ),
      failed: db.prepare(
        'UPDATE messages SET attempts = attempts + 1, last_error = ?, last_attempt = ? WHERE mailbox = ? AND uidl = ?',
      ),
      deleted: db.prepare('UPDATE messages SET deleted_at = ? WHERE mailbox = ? AND uidl = ?'),
      sync: db.prepare('INSERT INTO mailboxes (mailbox, syncs) VALUES (?, 1) ON CONFLICT (mailbox) DO UPDATE SET syncs = syncs + 1'),
      run: db.prepare(
        'INSERT INTO mailboxes (mailbox, last_run, last_status, last_error) VALUES (?, ?, ?, ?) ON CONFLICT (mailbox) DO UPDATE SET last_run = excluded.last_run, last_status = excluded.last_status, last_error = excluded.last_error',
      ),
    };
  }

  private guard<T>(doing: string, work: () => T): T {
    try {
      return work();
    } catch (err) {
      throw stateError(err, this.file, doing);
    }
  }

  /**
   * What the planner needs (see PlanInput), given when messages fall due and the digest
   * of this run's listing (listingDigest, src/pop3/listing.ts). The rows are only those
   * that may call for action. The known UIDLs are read in full unless the listing is the very one
   * applyListing last recorded and no row has been added or removed since: then every
   * listed UIDL is held, every other one held is marked gone (so among the rows), and
   * reading 100,000 UIDLs to learn nothing is skipped.
   */
  snapshot(mailbox: string, dueBefore: number, digest: string): { known: KnownUidls; rows: Map<string, StoredRow> } {
    return this.guard('reading', () => {
      const s = this.statements;
      const last = s.lastListing.get(mailbox);
      const unchanged = last?.listing_digest === digest && last.listing_rows === s.rowCount.get(mailbox);
      const known: KnownUidls = unchanged ? 'as-listed' : new Set(s.known.all(mailbox));
      const rows = new Map<string, StoredRow>();
      for (const r of s.pending.iterate(mailbox, mailbox, dueBefore)) {
        rows.set(r.uidl, {
          uidl: r.uidl,
          firstSeen: r.first_seen,
          size: r.size,
          deliveredAt: r.delivered_at,
          attempts: r.attempts,
          lastError: r.last_error,
          goneSince: r.gone_since,
          deletedAt: r.deleted_at,
        });
      }
      return { known, rows };
    });
  }

  /**
   * The digest of the last listing recorded for the mailbox, which was found well-formed
   * before it was recorded, and how many rows the mailbox held after it (a hint to its
   * size); null for a mailbox never listed.
   */
  lastListing(mailbox: string): { digest: string | null; rows: number | null } | null {
    return this.guard('reading', () => {
      const last = this.statements.lastListing.get(mailbox);
      return last ? { digest: last.listing_digest, rows: last.listing_rows } : null;
    });
  }

  /**
   * Records what the server listed, in one transaction: first sightings, departures,
   * returns, rows to forget, and the listing's digest with the row count it leaves
   * (what lets the next snapshot of the same listing skip the known UIDLs).
   */
  applyListing(mailbox: string, changes: ListingChanges, now: number, digest: string): void {
    const s = this.statements;
    const changed = changes.newlySeen.length + changes.gone.length + changes.returned.length + changes.forget.length > 0;
    this.guard('recording the server listing', () =>
      this.db.transaction(() => {
        const last = s.lastListing.get(mailbox);
        if (!changed && last?.listing_digest === digest && last.listing_rows === s.rowCount.get(mailbox)) return;
        for (const m of changes.newlySeen) s.insertSeen.run(mailbox, m.uidl, now, m.size);
        for (const uidl of changes.gone) s.setGone.run(now, mailbox, uidl);
        for (const uidl of changes.returned) s.clearGone.run(mailbox, uidl);
        for (const uidl of changes.forget) s.forget.run(mailbox, uidl);
        s.setListing.run(mailbox, digest, s.rowCount.get(mailbox));
      })(),
    );
  }

  markDelivered(mailbox: string, uidl: string, now: number): void {
    this.guard('recording a delivery', () => this.statements.delivered.run(now, mailbox, uidl));
  }

  /** Marks many delivered in one transaction (a batch of Maildir files made durable together). */
  markDeliveredMany(mailbox: string, uidls: readonly string[], now: number): void {
    const s = this.statements;
    this.guard('recording deliveries', () => this.db.transaction(() => uidls.forEach((u) => s.delivered.run(now, mailbox, u)))());
  }

  /**
   * Records that a message's Maildir file is about to appear at `file` (or, with null,
   * that it will not). Written before the rename, so a run that dies before the
   * delivered mark leaves a note the next run can check instead of delivering again.
   */
  markPlaced(mailbox: string, uidl: string, file: string | null): void {
    this.guard('recording a Maildir file', () => this.statements.placed.run(file, mailbox, uidl));
  }

  /** Notes for a batch of files about to be renamed into new/, in one transaction. */
  markPlacedMany(mailbox: string, files: readonly { uidl: string; file: string }[]): void {
    const s = this.statements;
    this.guard('recording Maildir files', () => this.db.transaction(() => files.forEach((f) => s.placed.run(f.file, mailbox, f.uidl)))());
  }

  /** Messages with a Maildir file placed but no delivered mark: left by a run that died. */
  placedUnmarked(mailbox: string): { uidl: string; file: string }[] {
    return this.guard('reading', () => this.statements.placedRows.all(mailbox).map((r) => ({ uidl: r.uidl, file: r.placed })));
  }

  markFailed(mailbox: string, uidl: string, error: string, now: number): void {
    this.guard('recording a failed delivery', () => this.statements.failed.run(error.slice(0, 1000), now, mailbox, uidl));
  }

  markDeleted(mailbox: string, uidls: readonly string[], now: number): void {
    const s = this.statements;
    this.guard('recording deletions', () => this.db.transaction(() => uidls.forEach((u) => s.deleted.run(now, mailbox, u)))());
  }

  recordRun(mailbox: string, now: number, status: string, error: string | null): void {
    this.guard('recording the run', () => this.statements.run.run(mailbox, now, status, error));
  }

  /**
   * Forces every committed change to stable storage: one write at synchronous=FULL
   * fsyncs the WAL, and with it every commit appended before it.
   */
  makeDurable(mailbox: string): void {
    this.guard('syncing to disk', () => {
      this.db.pragma('synchronous = FULL');
      try {
        this.statements.sync.run(mailbox);
      } finally {
        this.db.pragma('synchronous = NORMAL');
      }
    });
  }

  summary(mailbox: string): MailboxSummary {
    return this.guard('reading', () => {
      const counts = this.db
        .prepare<[string], { tracked: number; delivered: number; oldest: number | null; deliverable: number | null }>(
          `SELECT count(*) AS tracked,
                  count(delivered_at) AS delivered,
                  min(first_seen) AS oldest,
                  min(CASE WHEN delivered_at IS NOT NULL AND gone_since IS NULL AND deleted_at IS NULL THEN first_seen END) AS deliverable
             FROM messages WHERE mailbox = ?`,
        )
        .get(mailbox)!;
      const failing = this.db
        .prepare<[string], { uidl: string; attempts: number; last_error: string | null; last_attempt: number | null; first_seen: number }>(
          `SELECT uidl, attempts, last_error, last_attempt, first_seen FROM messages
            WHERE mailbox = ? AND delivered_at IS NULL AND attempts > 0 AND gone_since IS NULL
            ORDER BY first_seen`,
        )
        .all(mailbox);
      const run = this.db
        .prepare<[string], { last_run: number; last_status: string; last_error: string | null }>(
          'SELECT last_run, last_status, last_error FROM mailboxes WHERE mailbox = ?',
        )
        .get(mailbox);
      return {
        tracked: counts.tracked,
        delivered: counts.delivered,
        failing: failing.map((f) => ({
          uidl: f.uidl,
          attempts: f.attempts,
          lastError: f.last_error,
          lastAttempt: f.last_attempt,
          firstSeen: f.first_seen,
        })),
        oldestFirstSeen: counts.oldest,
        oldestDeliverable: counts.deliverable,
        lastRun: run ? { at: run.last_run, status: run.last_status, error: run.last_error } : null,
      };
    });
  }

  close(): void {
    try {
      this.db.close();
    } catch {
      // Closing is best effort: every change was committed when it was made.
    }
  }
}
