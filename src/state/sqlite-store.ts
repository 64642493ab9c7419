import { closeSync, constants, existsSync, fstatSync, openSync, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { runningUid, untrustedBecause } from '../util/private-path.js';
import type { KnownUidls, ListingChanges, StoredRow, UnreadAction } from '../plan/plan.js';
import { MailboxLockFile } from './lock.js';
import { LISTINGS_DAYS_MS, LISTINGS_KEPT, NO_COUNTS, PENDING, ROW_COLUMNS, summaryFrom, summaryQueries, type FailingRow, type ListingRow, type Row, type RunRow, type SummaryCounts, storedRow } from './rows.js';
import type { Delivered, Intent, ListingMark, MailboxLock, MailboxSummary, OpenIntent, RunOutcome, StateStore } from './store.js';
import { stateError } from './errors.js';
import { SCHEMA_VERSION, migrate } from './migrations.js';
import { checkDatabaseFiles, ensureDatabaseFiles } from './state-files.js';

/**
 * The state database: what this host has seen and delivered, per mailbox.
 *
 * Durability: each change is its own transaction in WAL mode with synchronous=NORMAL,
 * which survives a crash of this process at any instant. What must also survive a
 * power cut before the server is told to delete anything is forced to disk by
 * makeDurable(), which the fetch calls right before its first DELE.
 */
const SUMMARY = summaryQueries('?');

export class SqliteStore implements StateStore {
  readonly shared = false;
  private readonly statements: ReturnType<SqliteStore['prepare']>;

  private constructor(
    private readonly db: Database.Database,
    readonly file: string,
  ) {
    this.statements = this.prepare();
  }

  /**
   * Opens (creating with mode 0600 in a 0700 directory) and migrates. A database, or a
   * directory of it, that someone else could have written is refused (STATE_ACCESS):
   * its rows decide what is deleted from the server (see src/state/state-files.ts).
   */
  static open(file: string): SqliteStore {
    try {
      // Opened by its path in the database's verified real directory.
      const db = new Database(ensureDatabaseFiles(file), { timeout: 5_000 });
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      migrate(db);
      return new SqliteStore(db, file);
    } catch (err) {
      throw stateError(err, file, 'cannot open');
    }
  }

  /**
   * For --dry-run and status: never creates or writes anything; null when there is no
   * database yet. Refused as open() refuses: a dry run plans deletions from it, and
   * status would show what someone else wrote as this host's record.
   *
   * Opening a WAL database by name, even read-only, makes SQLite create its -wal and -shm
   * files. So when there is no -wal (no run is live, none crashed), the database is read
   * from its bytes into memory and the directory is left as it was; when there is one, it
   * holds changes not yet in the database, and the database is opened by name (SQLite
   * then creates the -shm if it is missing: a run has them anyway).
   */
  static openReadOnly(file: string): SqliteStore | null {
    try {
      const real = checkDatabaseFiles(file);
      if (real === null) return null;
      const db = SqliteStore.readIntoMemory(real) ?? new Database(real, { readonly: true, fileMustExist: true, timeout: 5_000 });
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version === 0) {
        db.close();
        return null;
      }
      if (version < SCHEMA_VERSION) {
        // Written by an older pinchmail: brought up to date in memory, since nothing here may write.
        const copy = new Database(db.serialize());
        db.close();
        migrate(copy);
        return new SqliteStore(copy, file);
      }
      return new SqliteStore(db, file);
    } catch (err) {
      throw stateError(err, file, 'cannot open');
    }
  }

  /**
   * The database as an in-memory copy of its file, read through a descriptor opened
   * without following a symlink and checked as the name was; null when a -wal is there
   * (before or after the read) or the file changed while it was read.
   */
  private static readIntoMemory(file: string): Database.Database | null {
    const wal = `${file}-wal`;
    if (existsSync(wal)) return null;
    const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    let bytes: Buffer;
    try {
      const before = fstatSync(fd);
      const problem = untrustedBecause(before, 'file', { uid: runningUid() });
      if (problem) throw new Error(`${file}: ${problem}`);
      bytes = readFileSync(fd);
      const after = fstatSync(fd);
      if (after.size !== before.size || after.mtimeMs !== before.mtimeMs || existsSync(wal)) return null;
    } finally {
      closeSync(fd);
    }
    if (bytes.length === 0) return null;
    // Bytes 18 and 19 of the header say WAL (2); memory has no WAL, so read as rollback (1).
    if (bytes.length >= 20 && bytes[18] === 2 && bytes[19] === 2) bytes[18] = bytes[19] = 1;
    return new Database(bytes);
  }

  /** The flock-like lock of a file beside the database (src/state/lock.ts). */
  async tryLock(mailbox: string): Promise<MailboxLock | null> {
    return MailboxLockFile.tryAcquire(this.file, mailbox);
  }

  private prepare() {
    const db = this.db;
    return {
      known: db.prepare<[string], { uidl: string; size: number | null; first_seen: number }>('SELECT uidl, size, first_seen FROM messages WHERE mailbox = ?'),
      rowCount: db.prepare<[string], number>('SELECT count(*) FROM messages WHERE mailbox = ?').pluck(),
      // The indexes are named so that a schema without them fails loudly here rather than
      // every poll quietly reading the whole mailbox.
      pending: db.prepare<[string, string, number], Row>(
        `SELECT ${ROW_COLUMNS} FROM messages INDEXED BY messages_pending WHERE mailbox = ? AND ${PENDING}
         UNION
         SELECT ${ROW_COLUMNS} FROM messages INDEXED BY messages_age WHERE mailbox = ? AND first_seen <= ?`,
      ),
      lastListing: db.prepare<[string], { listing_digest: string | null; listing_octets: number | null; listing_rows: number | null }>(
        'SELECT listing_digest, listing_octets, listing_rows FROM mailboxes WHERE mailbox = ?',
      ),
      lastListedAt: db.prepare<[string], number | null>('SELECT max(at) FROM listings WHERE mailbox = ?').pluck(),
      listed: db.prepare(
        'INSERT INTO listings (mailbox, at, vanished) VALUES (?, ?, ?) ON CONFLICT (mailbox, at) DO UPDATE SET vanished = vanished + excluded.vanished',
      ),
      // Old ones go, but never the two latest (a gap of a month must still show in status),
      // and any "later" than this one: the clock was wrong then, or was set back since.
      pruneListings: db.prepare(
        `DELETE FROM listings WHERE mailbox = @mailbox
            AND (at > @now
                 OR (at < @cutoff AND at < (SELECT at FROM listings WHERE mailbox = @mailbox AND at <= @now ORDER BY at DESC LIMIT 1 OFFSET 1))
                 OR at <= (SELECT at FROM listings WHERE mailbox = @mailbox ORDER BY at DESC LIMIT 1 OFFSET ${LISTINGS_KEPT}))`,
      ),
      countVanished: db.prepare(
        `INSERT INTO mailboxes (mailbox, vanished_total, vanished_at) VALUES (?, ?, ?)
         ON CONFLICT (mailbox) DO UPDATE SET vanished_total = vanished_total + excluded.vanished_total, vanished_at = excluded.vanished_at`,
      ),
      setListing: db.prepare(
        `INSERT INTO mailboxes (mailbox, listing_digest, listing_octets, listing_rows) VALUES (?, ?, ?, ?)
         ON CONFLICT (mailbox) DO UPDATE SET listing_digest = excluded.listing_digest, listing_octets = excluded.listing_octets,
                                             listing_rows = excluded.listing_rows`,
      ),
      insertSeen: db.prepare('INSERT INTO messages (mailbox, uidl, first_seen, size) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
      insertImported: db.prepare('INSERT INTO messages (mailbox, uidl, first_seen, delivered_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
      // A UIDL this host knows but has not delivered: the other fetcher did, so it must not be delivered again.
      deliveredElsewhere: db.prepare(
        'UPDATE messages SET delivered_at = ?, first_seen = min(first_seen, ?), unread = NULL WHERE mailbox = ? AND uidl = ? AND delivered_at IS NULL',
      ),
      forgetListing: db.prepare('UPDATE mailboxes SET listing_digest = NULL WHERE mailbox = ?'),
      setGone: db.prepare('UPDATE messages SET gone_since = ? WHERE mailbox = ? AND uidl = ? AND gone_since IS NULL'),
      clearGone: db.prepare('UPDATE messages SET gone_since = NULL, deleted_at = NULL WHERE mailbox = ? AND uidl = ?'),
      // A UIDL that now names another message: everything known of the old one goes.
      replace: db.prepare(
        `UPDATE messages SET first_seen = ?, size = ?, delivered_at = NULL, attempts = 0, last_error = NULL, last_attempt = NULL,
                gone_since = NULL, deleted_at = NULL, placed = NULL, fingerprint = NULL, unread = NULL
          WHERE mailbox = ? AND uidl = ?`,
      ),
      forget: db.prepare('DELETE FROM messages WHERE mailbox = ? AND uidl = ?'),
      delivered: db.prepare(
        'UPDATE messages SET delivered_at = ?, fingerprint = coalesce(?, fingerprint), last_error = NULL, placed = NULL, unread = NULL WHERE mailbox = ? AND uidl = ?',
      ),
      unread: db.prepare('UPDATE messages SET unread = ?, fingerprint = coalesce(?, fingerprint) WHERE mailbox = ? AND uidl = ?'),
      setFingerprint: db.prepare('UPDATE messages SET fingerprint = coalesce(?, fingerprint) WHERE mailbox = ? AND uidl = ?'),
      dropDeliveries: db.prepare('DELETE FROM deliveries WHERE mailbox = ? AND uidl = ?'),
      intend: db.prepare(
        `INSERT INTO deliveries (mailbox, uidl, target, intent, sole) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (mailbox, uidl, target) DO UPDATE SET intent = excluded.intent, sole = excluded.sole`,
      ),
      targetDone: db.prepare(
        `INSERT INTO deliveries (mailbox, uidl, target, done_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (mailbox, uidl, target) DO UPDATE SET intent = NULL, done_at = excluded.done_at`,
      ),
      clearIntent: db.prepare('UPDATE deliveries SET intent = NULL WHERE mailbox = ? AND uidl = ? AND target = ?'),
      clearLegacyNote: db.prepare('UPDATE messages SET placed = NULL WHERE mailbox = ? AND uidl = ?'),
      intents: db.prepare<[string], { uidl: string; target: string; intent: string; sole: number }>(
        'SELECT uidl, target, intent, sole FROM deliveries WHERE mailbox = ? AND intent IS NOT NULL',
      ),
      legacyNotes: db.prepare<[string], { uidl: string; placed: string }>(
        `SELECT uidl, placed FROM messages INDEXED BY messages_pending
          WHERE mailbox = ? AND ${PENDING} AND placed IS NOT NULL AND delivered_at IS NULL`,
      ),
      doneTargets: db.prepare<[string], { uidl: string; target: string }>(
        'SELECT uidl, target FROM deliveries WHERE mailbox = ? AND done_at IS NOT NULL',
      ),
      failed: db.prepare(
        'UPDATE messages SET attempts = attempts + 1, last_error = ?, last_attempt = ?, fingerprint = coalesce(?, fingerprint) WHERE mailbox = ? AND uidl = ?',
      ),
      row: db.prepare<[string, string], Row>(`SELECT ${ROW_COLUMNS} FROM messages WHERE mailbox = ? AND uidl = ?`),
      resize: db.prepare('UPDATE messages SET size = ? WHERE mailbox = ? AND uidl = ?'),
      deleted: db.prepare('UPDATE messages SET deleted_at = ? WHERE mailbox = ? AND uidl = ?'),
      sync: db.prepare('INSERT INTO mailboxes (mailbox, syncs) VALUES (?, 1) ON CONFLICT (mailbox) DO UPDATE SET syncs = syncs + 1'),
      run: db.prepare(
        `INSERT INTO mailboxes (mailbox, last_run, last_status, last_error, last_ok, delivered_total, failed_total, quarantined_total, deleted_total, last_duration_ms, last_host)
              VALUES (@mailbox, @now, @status, @error, @ok, @delivered, @failed, @quarantined, @deleted, @durationMs, @host)
         ON CONFLICT (mailbox) DO UPDATE SET last_run = excluded.last_run, last_status = excluded.last_status, last_error = excluded.last_error,
                                             last_ok = coalesce(excluded.last_ok, last_ok),
                                             delivered_total = delivered_total + excluded.delivered_total,
                                             failed_total = failed_total + excluded.failed_total,
                                             quarantined_total = quarantined_total + excluded.quarantined_total,
                                             deleted_total = deleted_total + excluded.deleted_total,
                                             last_duration_ms = excluded.last_duration_ms, last_host = excluded.last_host`,
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
   * What the planner needs (see PlanInput), given when messages fall due and the mark of
   * this run's listing. The rows are only those that may call for action. The known
   * UIDLs (with the sizes first seen) are read in full unless the listing bears the very
   * mark applyListing last recorded and no row has been added or removed since: then
   * every listed UIDL is held, every other one held is marked gone (so among the rows),
   * and reading 100,000 UIDLs to learn nothing is skipped.
   */
  async snapshot(mailbox: string, dueBefore: number, mark: ListingMark): Promise<{ known: KnownUidls; rows: Map<string, StoredRow> }> {
    return this.guard('reading', () => {
      const s = this.statements;
      const known: KnownUidls = this.isLastListing(mailbox, mark) ? 'as-listed' : new Map(s.known.all(mailbox).map((r) => [r.uidl, { size: r.size, firstSeen: r.first_seen }]));
      const rows = new Map<string, StoredRow>();
      for (const r of s.pending.iterate(mailbox, mailbox, dueBefore)) rows.set(r.uidl, storedRow(r));
      return { known, rows };
    });
  }

  /**
   * Is `mark` the one applyListing last recorded, with no row added or removed since? Then
   * the store holds every UIDL of that listing and has marked every other one gone.
   */
  private isLastListing(mailbox: string, mark: ListingMark): boolean {
    const s = this.statements;
    const last = s.lastListing.get(mailbox);
    return last?.listing_digest === mark.digest && last.listing_octets === mark.octets && last.listing_rows === s.rowCount.get(mailbox);
  }

  /** The rows of these UIDLs (those the planner asked for: plan.need.rows). */
  async rowsFor(mailbox: string, uidls: readonly string[]): Promise<Map<string, StoredRow>> {
    return this.guard('reading', () => {
      const rows = new Map<string, StoredRow>();
      for (const uidl of uidls) {
        const r = this.statements.row.get(mailbox, uidl);
        if (r) rows.set(uidl, storedRow(r));
      }
      return rows;
    });
  }

  /**
   * The mark of the last listing recorded for the mailbox, which identified every message
   * it listed, and how many rows the mailbox held after it (a hint to its size); null for
   * a mailbox never listed.
   */
  async lastListing(mailbox: string): Promise<{ digest: string | null; octets: number | null; rows: number | null; at: number | null } | null> {
    return this.guard('reading', () => {
      const last = this.statements.lastListing.get(mailbox);
      const at = this.statements.lastListedAt.get(mailbox) ?? null;
      return last ? { digest: last.listing_digest, octets: last.listing_octets, rows: last.listing_rows, at } : null;
    });
  }

  /**
   * Records what the server listed, in one transaction: first sightings, departures,
   * returns, UIDLs that now name other messages, rows to forget, and the listing's
   * mark with the row count it leaves (what lets the next snapshot of the same listing
   * skip the known UIDLs). `mark` is null for a listing that is not to vouch for the
   * next one (it held messages it did not identify). (The listing's time is kept with the
   * run's record: see recordRun.)
   */
  async applyListing(mailbox: string, changes: ListingChanges, now: number, mark: ListingMark | null): Promise<void> {
    const s = this.statements;
    const changed =
      changes.newlySeen.length + changes.gone.length + changes.returned.length + changes.replaced.length + changes.resized.length + changes.forget.length > 0;
    this.guard('recording the server listing', () =>
      this.db.transaction(() => {
        if (!changed && mark !== null && this.isLastListing(mailbox, mark)) return;
        for (const m of changes.newlySeen) s.insertSeen.run(mailbox, m.uidl, now, m.size);
        for (const uidl of changes.gone) s.setGone.run(now, mailbox, uidl);
        for (const uidl of changes.returned) s.clearGone.run(mailbox, uidl);
        for (const m of changes.resized) s.resize.run(m.size, mailbox, m.uidl);
        for (const m of changes.replaced) {
          s.replace.run(now, m.size, mailbox, m.uidl);
          s.dropDeliveries.run(mailbox, m.uidl);
        }
        for (const uidl of changes.forget) {
          s.forget.run(mailbox, uidl);
          s.dropDeliveries.run(mailbox, uidl);
        }
        s.setListing.run(mailbox, mark?.digest ?? null, mark?.octets ?? null, s.rowCount.get(mailbox));
      })(),
    );
  }

  /** Marks a message delivered to every target that takes it; what each target noted of it is no longer needed. */
  async markDelivered(mailbox: string, delivered: Delivered, now: number): Promise<void> {
    await this.markDeliveredMany(mailbox, [delivered], now);
  }

  /** Marks many delivered in one transaction (a batch of Maildir files made durable together). */
  async markDeliveredMany(mailbox: string, delivered: readonly Delivered[], now: number): Promise<void> {
    const s = this.statements;
    this.guard('recording deliveries', () =>
      this.db.transaction(() => {
        for (const d of delivered) {
          s.delivered.run(now, d.fingerprint, mailbox, d.uidl);
          s.dropDeliveries.run(mailbox, d.uidl);
        }
      })(),
    );
  }

  /**
   * Records, before a target acts, what it is about to do (a Maildir file about to be
   * renamed into place), so a run that dies before the delivered mark leaves a note the
   * next run can check (the target's recover) instead of delivering again. One
   * transaction for a batch, on disk before this returns: the file it announces may be
   * on disk a moment later, and must not outlive its note in a power cut.
   */
  async noteIntents(mailbox: string, notes: readonly Intent[]): Promise<void> {
    const s = this.statements;
    this.guard('recording a delivery about to happen', () =>
      this.durably(() =>
        this.db.transaction(() => {
          for (const n of notes) {
            s.intend.run(mailbox, n.uidl, n.target, n.intent, n.sole ? 1 : 0);
            s.setFingerprint.run(n.fingerprint, mailbox, n.uidl);
          }
        })(),
      ),
    );
  }

  /** The target did not do what it noted (it failed, or a crashed run's attempt never landed). */
  async dropIntent(mailbox: string, uidl: string, target: string | null): Promise<void> {
    this.guard('recording a delivery that did not happen', () =>
      target === null ? this.statements.clearLegacyNote.run(mailbox, uidl) : this.statements.clearIntent.run(mailbox, uidl, target),
    );
  }

  /** One of a message's several targets has it; the message is marked delivered once all have. */
  async markTargetDone(mailbox: string, uidl: string, target: string, now: number): Promise<void> {
    this.guard('recording a delivery', () => this.statements.targetDone.run(mailbox, uidl, target, now));
  }

  /** Notes of deliveries about to happen that no delivered mark followed: left by a run that died. */
  async openIntents(mailbox: string): Promise<OpenIntent[]> {
    return this.guard('reading', () => [
      ...this.statements.intents.all(mailbox).map((r) => ({ uidl: r.uidl, target: r.target, intent: r.intent, sole: r.sole === 1 })),
      ...this.statements.legacyNotes.all(mailbox).map((r) => ({ uidl: r.uidl, target: null, intent: r.placed, sole: true })),
    ]);
  }

  /** For each message delivered to some of its targets only, the targets that have it. */
  async doneTargets(mailbox: string): Promise<Map<string, Set<string>>> {
    return this.guard('reading', () => {
      const done = new Map<string, Set<string>>();
      for (const { uidl, target } of this.statements.doneTargets.iterate(mailbox)) {
        const set = done.get(uidl) ?? new Set<string>();
        set.add(target);
        done.set(uidl, set);
      }
      return done;
    });
  }

  /** One more failed attempt; with the fingerprint of the copy retrieved, when there was one (plan/identity.ts). */
  async markFailed(mailbox: string, uidl: string, error: string, now: number, fingerprint: string | null = null): Promise<void> {
    this.guard('recording a failed delivery', () => this.statements.failed.run(error.slice(0, 1000), now, fingerprint, mailbox, uidl));
  }

  /**
   * A rule left the message unread: 'skip' (on the server; not a failure, and not missed
   * if it leaves), or 'kill' (about to be deleted; durable with the rest before the DELE).
   */
  async markUnread(mailbox: string, uidl: string, action: UnreadAction, fingerprint: string | null): Promise<void> {
    this.guard('recording a message left unread', () => this.statements.unread.run(action, fingerprint, mailbox, uidl));
  }

  /**
   * UIDLs another fetcher delivered (`pinchmail import`), recorded as delivered by this host
   * with the time that fetcher first saw them (`now`, the import's clock, where it does not
   * say), so retention treats them as its own. A UIDL this host knows but has not
   * delivered becomes delivered (the other fetcher delivered it; its half-done deliveries
   * are forgotten); one it delivered keeps its row. The recorded listing is forgotten: the
   * next poll compares every row. How many were new, and how many became delivered.
   */
  async importDelivered(mailbox: string, uidls: readonly { uidl: string; firstSeen: number | null }[], now: number): Promise<{ added: number; nowDelivered: number }> {
    const s = this.statements;
    return this.guard('recording imported messages', () =>
      this.db.transaction(() => {
        let added = 0;
        let nowDelivered = 0;
        for (const { uidl, firstSeen } of uidls) {
          const seen = Math.min(firstSeen ?? now, now);
          if (s.insertImported.run(mailbox, uidl, seen, now).changes) added++;
          else if (s.deliveredElsewhere.run(now, seen, mailbox, uidl).changes) {
            nowDelivered++;
            s.dropDeliveries.run(mailbox, uidl);
          }
        }
        s.forgetListing.run(mailbox);
        return { added, nowDelivered };
      })(),
    );
  }

  async markDeleted(mailbox: string, uidls: readonly string[], now: number): Promise<void> {
    const s = this.statements;
    this.guard('recording deletions', () => this.db.transaction(() => uidls.forEach((u) => s.deleted.run(now, mailbox, u)))());
  }

  /**
   * The run's outcome, and, when it got a complete listing, that listing's time with how
   * many messages it found gone before this host delivered them: how often this host
   * really polls, and what it may have missed (src/plan/polling.ts). One transaction,
   * the one write every run makes, so a poll with nothing new writes nothing else.
   */
  async recordRun(mailbox: string, now: number, outcome: RunOutcome, listing: { vanished: number } | null = null): Promise<void> {
    const s = this.statements;
    const { status, error, counts } = outcome;
    this.guard('recording the run', () =>
      this.db.transaction(() => {
        s.run.run({ mailbox, now, status, error, ok: status === 'ok' ? now : null, host: outcome.host ?? null, ...NO_COUNTS, ...counts });
        if (!listing) return;
        s.listed.run(mailbox, now, listing.vanished);
        s.pruneListings.run({ mailbox, now, cutoff: now - LISTINGS_DAYS_MS });
        if (listing.vanished > 0) s.countVanished.run(mailbox, listing.vanished, now);
      })(),
    );
  }

  /**
   * Forces every committed change to stable storage: one write at synchronous=FULL
   * fsyncs the WAL, and with it every commit appended before it.
   */
  async makeDurable(mailbox: string): Promise<void> {
    this.guard('syncing to disk', () => this.durably(() => this.statements.sync.run(mailbox)));
  }

  /** Runs `work` at synchronous=FULL: its commit reaches the disk (with every one before it) before this returns. */
  private durably<T>(work: () => T): T {
    this.db.pragma('synchronous = FULL');
    try {
      return work();
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  async summary(mailbox: string): Promise<MailboxSummary> {
    return this.guard('reading', () => {
      const q = SUMMARY;
      return summaryFrom(
        this.db.prepare<[string], SummaryCounts>(q.counts).get(mailbox)!,
        this.db.prepare<[string], FailingRow>(q.failing).all(mailbox),
        this.db.prepare<[string], RunRow>(q.run).get(mailbox),
        this.db.prepare<[string], ListingRow>(q.listings).all(mailbox),
      );
    });
  }

  /** When this host recorded its recent complete listings of `mailbox`, oldest first (what summary().listings holds). */
  async listingTimes(mailbox: string): Promise<number[]> {
    return this.guard('reading', () =>
      this.db.prepare<[string], number>('SELECT at FROM listings WHERE mailbox = ? ORDER BY at').pluck().all(mailbox),
    );
  }

  async close(): Promise<void> {
    try {
      this.db.close();
    } catch {
      // Closing is best effort: every change was committed when it was made.
    }
  }
}
