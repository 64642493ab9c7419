import { redacted } from './database-url.js';
import pg from 'pg';
import { PinchmailError, errorMessage } from '../errors.js';
import type { KnownUidls, ListingChanges, StoredRow, UnreadAction } from '../plan/plan.js';
import { migratePg } from './pg-migrations.js';
import type { Delivered, Intent, ListingMark, MailboxLock, MailboxSummary, OpenIntent, RunOutcome, StateStore } from './store.js';
import { LISTINGS_DAYS_MS, LISTINGS_KEPT, NO_COUNTS, ROW_COLUMNS, PENDING, summaryFrom, summaryQueries, type FailingRow, type ListingRow, type Row, type RunRow, type SummaryCounts, storedRow } from './rows.js';

/** BIGINT (int8, oid 20) as a number: every value pinchmail keeps there (ms, octets, counts) is far below 2^53. */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser,
};

const SUMMARY = summaryQueries('$1');

/** The advisory locks of mailboxes: this number and a hash of the state key. */
const LOCK_SPACE = 0x706d6c6b;

/**
 * The state of a group of hosts, on PostgreSQL: the same schema and the same meaning as
 * the SQLite store, every host of the group reading and writing one database. Each change
 * is its own transaction, committed (synchronous_commit on) before the call resolves, so
 * what a call records survives a crash of this host or of the server. A mailbox's lock is
 * an advisory lock held by a connection of its own, which the server drops the moment the
 * host dies or the connection is lost.
 */
export class PgStore implements StateStore {
  readonly shared = true;
  /** The connection holding each mailbox's lock: makeDurable checks it is still there before any DELE. */
  private readonly locks = new Map<string, pg.Client>();

  private constructor(
    private readonly pool: pg.Pool,
    readonly file: string,
    /** A connection of its own for each lock, outside the pool: a run holds one for as long as it lasts, and --parallel runs many. */
    private readonly connect: () => pg.Client,
  ) {}

  /** Connects (failing at once, with nothing touched, when the server cannot be reached) and migrates. */
  static async open(url: string, options: { password?: string; readOnly?: boolean } = {}): Promise<PgStore> {
    const shown = redacted(url);
    // node-postgres lets the URL's fields win over the options given beside it: a password given apart goes into the URL.
    const withPassword = options.password === undefined ? url : withUrlPassword(url, options.password);
    const pool = new pg.Pool({ connectionString: withPassword, types: TYPES, max: 16, connectionTimeoutMillis: 10_000 });
    // A connection the server drops while idle is an error of the pool's, not of a run's: the next query connects again.
    pool.on('error', () => {});
    pool.on('connect', (client) => {
      client.on('error', () => {});
      void client.query("SET synchronous_commit = 'on'").catch(() => {});
    });
    const settings = { connectionString: withPassword, types: TYPES, connectionTimeoutMillis: 10_000 };
    const store = new PgStore(pool, shown, () => new pg.Client(settings));
    try {
      const client = await pool.connect();
      try {
        if (!options.readOnly) await migratePg(client);
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end().catch(() => {});
      throw pgStateError(err, shown, 'cannot open');
    }
    return store;
  }

  private async run<T>(doing: string, work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw pgStateError(err, this.file, doing);
    }
    try {
      return await work(client);
    } catch (err) {
      throw pgStateError(err, this.file, doing);
    } finally {
      client.release();
    }
  }

  /** `work` in one transaction: all of it committed, or none. */
  private tx<T>(doing: string, work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.run(doing, async (c) => {
      await c.query('BEGIN');
      try {
        const out = await work(c);
        await c.query('COMMIT');
        return out;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      }
    });
  }

  async tryLock(mailbox: string): Promise<MailboxLock | null> {
    const client = this.connect();
    // A connection lost while the run holds it: the lock is gone with it, which makeDurable finds out.
    client.on('error', () => {});
    try {
      await client.connect();
      const got = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LOCK_SPACE, mailbox]);
      if (!got.rows[0]?.ok) {
        await client.end();
        return null;
      }
    } catch (err) {
      await client.end().catch(() => {});
      throw pgStateError(err, this.file, 'taking the lock');
    }
    this.locks.set(mailbox, client);
    return {
      release: async () => {
        if (this.locks.get(mailbox) !== client) return;
        this.locks.delete(mailbox);
        // Ending the session releases its advisory locks.
        await client.end().catch(() => {});
      },
    };
  }

  async snapshot(mailbox: string, dueBefore: number, mark: ListingMark): Promise<{ known: KnownUidls; rows: Map<string, StoredRow> }> {
    return this.tx('reading', async (c) => {
      const known: KnownUidls = (await this.isLastListing(c, mailbox, mark))
        ? 'as-listed'
        : new Map(
            (await c.query<{ uidl: string; size: number | null; first_seen: number }>('SELECT uidl, size, first_seen FROM messages WHERE mailbox = $1', [mailbox])).rows.map((r) => [
              r.uidl,
              { size: r.size, firstSeen: r.first_seen },
            ]),
          );
      const pending = await c.query<Row>(
        `SELECT ${ROW_COLUMNS} FROM messages WHERE mailbox = $1 AND ${PENDING}
         UNION
         SELECT ${ROW_COLUMNS} FROM messages WHERE mailbox = $1 AND first_seen <= $2`,
        [mailbox, dueBefore],
      );
      return { known, rows: new Map(pending.rows.map((r) => [r.uidl, storedRow(r)])) };
    });
  }

  private async isLastListing(c: pg.PoolClient, mailbox: string, mark: ListingMark): Promise<boolean> {
    const last = (await c.query<{ listing_digest: string | null; listing_octets: number | null; listing_rows: number | null }>(
      'SELECT listing_digest, listing_octets, listing_rows FROM mailboxes WHERE mailbox = $1',
      [mailbox],
    )).rows[0];
    if (last?.listing_digest !== mark.digest || last.listing_octets !== mark.octets) return false;
    return last.listing_rows === (await rowCount(c, mailbox));
  }

  async rowsFor(mailbox: string, uidls: readonly string[]): Promise<Map<string, StoredRow>> {
    return this.run('reading', async (c) => {
      const r = await c.query<Row>(`SELECT ${ROW_COLUMNS} FROM messages WHERE mailbox = $1 AND uidl = ANY($2::text[])`, [mailbox, [...uidls]]);
      return new Map(r.rows.map((row) => [row.uidl, storedRow(row)]));
    });
  }

  async lastListing(mailbox: string): Promise<{ digest: string | null; octets: number | null; rows: number | null; at: number | null } | null> {
    return this.run('reading', async (c) => {
      const last = (await c.query<{ listing_digest: string | null; listing_octets: number | null; listing_rows: number | null }>(
        'SELECT listing_digest, listing_octets, listing_rows FROM mailboxes WHERE mailbox = $1',
        [mailbox],
      )).rows[0];
      const at = (await c.query<{ at: number | null }>('SELECT max(at) AS at FROM listings WHERE mailbox = $1', [mailbox])).rows[0]?.at ?? null;
      return last ? { digest: last.listing_digest, octets: last.listing_octets, rows: last.listing_rows, at } : null;
    });
  }

  async applyListing(mailbox: string, changes: ListingChanges, now: number, mark: ListingMark | null): Promise<void> {
    const changed = changes.newlySeen.length + changes.gone.length + changes.returned.length + changes.replaced.length + changes.resized.length + changes.forget.length > 0;
    await this.tx('recording the server listing', async (c) => {
      if (!changed && mark !== null && (await this.isLastListing(c, mailbox, mark))) return;
      if (changes.newlySeen.length) {
        await c.query('INSERT INTO messages (mailbox, uidl, first_seen, size) SELECT $1, u, $2, s FROM unnest($3::text[], $4::bigint[]) AS t(u, s) ON CONFLICT DO NOTHING', [
          mailbox,
          now,
          changes.newlySeen.map((m) => m.uidl),
          changes.newlySeen.map((m) => m.size),
        ]);
      }
      if (changes.gone.length) await c.query('UPDATE messages SET gone_since = $1 WHERE mailbox = $2 AND uidl = ANY($3::text[]) AND gone_since IS NULL', [now, mailbox, changes.gone]);
      if (changes.returned.length) await c.query('UPDATE messages SET gone_since = NULL, deleted_at = NULL WHERE mailbox = $1 AND uidl = ANY($2::text[])', [mailbox, changes.returned]);
      for (const m of changes.resized) await c.query('UPDATE messages SET size = $1 WHERE mailbox = $2 AND uidl = $3', [m.size, mailbox, m.uidl]);
      for (const m of changes.replaced) {
        await c.query(
          `UPDATE messages SET first_seen = $1, size = $2, delivered_at = NULL, attempts = 0, last_error = NULL, last_attempt = NULL,
                  gone_since = NULL, deleted_at = NULL, placed = NULL, fingerprint = NULL, unread = NULL
            WHERE mailbox = $3 AND uidl = $4`,
          [now, m.size, mailbox, m.uidl],
        );
      }
      const dropped = [...changes.replaced.map((m) => m.uidl), ...changes.forget];
      if (changes.forget.length) await c.query('DELETE FROM messages WHERE mailbox = $1 AND uidl = ANY($2::text[])', [mailbox, changes.forget]);
      if (dropped.length) await c.query('DELETE FROM deliveries WHERE mailbox = $1 AND uidl = ANY($2::text[])', [mailbox, dropped]);
      await c.query(
        `INSERT INTO mailboxes (mailbox, listing_digest, listing_octets, listing_rows) VALUES ($1, $2, $3, $4)
         ON CONFLICT (mailbox) DO UPDATE SET listing_digest = excluded.listing_digest, listing_octets = excluded.listing_octets, listing_rows = excluded.listing_rows`,
        [mailbox, mark?.digest ?? null, mark?.octets ?? null, await rowCount(c, mailbox)],
      );
    });
  }

  async markDelivered(mailbox: string, delivered: Delivered, now: number): Promise<void> {
    await this.markDeliveredMany(mailbox, [delivered], now);
  }

  async markDeliveredMany(mailbox: string, delivered: readonly Delivered[], now: number): Promise<void> {
    if (delivered.length === 0) return;
    await this.tx('recording deliveries', async (c) => {
      const uidls = delivered.map((d) => d.uidl);
      await c.query(
        `UPDATE messages m SET delivered_at = $2, fingerprint = coalesce(d.fp, m.fingerprint), last_error = NULL, placed = NULL, unread = NULL
           FROM unnest($3::text[], $4::text[]) AS d(uidl, fp) WHERE m.mailbox = $1 AND m.uidl = d.uidl`,
        [mailbox, now, uidls, delivered.map((d) => d.fingerprint)],
      );
      await c.query('DELETE FROM deliveries WHERE mailbox = $1 AND uidl = ANY($2::text[])', [mailbox, uidls]);
    });
  }

  async noteIntents(mailbox: string, notes: readonly Intent[]): Promise<void> {
    await this.tx('recording a delivery about to happen', async (c) => {
      for (const n of notes) {
        await c.query(
          `INSERT INTO deliveries (mailbox, uidl, target, intent, sole) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (mailbox, uidl, target) DO UPDATE SET intent = excluded.intent, sole = excluded.sole`,
          [mailbox, n.uidl, n.target, n.intent, n.sole ? 1 : 0],
        );
        await c.query('UPDATE messages SET fingerprint = coalesce($1, fingerprint) WHERE mailbox = $2 AND uidl = $3', [n.fingerprint, mailbox, n.uidl]);
      }
    });
  }

  async dropIntent(mailbox: string, uidl: string, target: string | null): Promise<void> {
    await this.run('recording a delivery that did not happen', (c) =>
      target === null
        ? c.query('UPDATE messages SET placed = NULL WHERE mailbox = $1 AND uidl = $2', [mailbox, uidl])
        : c.query('UPDATE deliveries SET intent = NULL WHERE mailbox = $1 AND uidl = $2 AND target = $3', [mailbox, uidl, target]),
    );
  }

  async markTargetDone(mailbox: string, uidl: string, target: string, now: number): Promise<void> {
    await this.run('recording a delivery', (c) =>
      c.query(
        `INSERT INTO deliveries (mailbox, uidl, target, done_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (mailbox, uidl, target) DO UPDATE SET intent = NULL, done_at = excluded.done_at`,
        [mailbox, uidl, target, now],
      ),
    );
  }

  async openIntents(mailbox: string): Promise<OpenIntent[]> {
    return this.run('reading', async (c) => {
      const notes = await c.query<{ uidl: string; target: string; intent: string; sole: number }>(
        'SELECT uidl, target, intent, sole FROM deliveries WHERE mailbox = $1 AND intent IS NOT NULL',
        [mailbox],
      );
      const legacy = await c.query<{ uidl: string; placed: string }>(
        `SELECT uidl, placed FROM messages WHERE mailbox = $1 AND ${PENDING} AND placed IS NOT NULL AND delivered_at IS NULL`,
        [mailbox],
      );
      return [
        ...notes.rows.map((r) => ({ uidl: r.uidl, target: r.target, intent: r.intent, sole: r.sole === 1 })),
        ...legacy.rows.map((r) => ({ uidl: r.uidl, target: null, intent: r.placed, sole: true })),
      ];
    });
  }

  async doneTargets(mailbox: string): Promise<Map<string, Set<string>>> {
    return this.run('reading', async (c) => {
      const done = new Map<string, Set<string>>();
      const r = await c.query<{ uidl: string; target: string }>('SELECT uidl, target FROM deliveries WHERE mailbox = $1 AND done_at IS NOT NULL', [mailbox]);
      for (const { uidl, target } of r.rows) done.set(uidl, (done.get(uidl) ?? new Set<string>()).add(target));
      return done;
    });
  }

  async markFailed(mailbox: string, uidl: string, error: string, now: number, fingerprint: string | null = null): Promise<void> {
    await this.run('recording a failed delivery', (c) =>
      c.query('UPDATE messages SET attempts = attempts + 1, last_error = $1, last_attempt = $2, fingerprint = coalesce($3, fingerprint) WHERE mailbox = $4 AND uidl = $5', [
        error.slice(0, 1000),
        now,
        fingerprint,
        mailbox,
        uidl,
      ]),
    );
  }

  async markUnread(mailbox: string, uidl: string, action: UnreadAction, fingerprint: string | null): Promise<void> {
    await this.run('recording a message left unread', (c) =>
      c.query('UPDATE messages SET unread = $1, fingerprint = coalesce($2, fingerprint) WHERE mailbox = $3 AND uidl = $4', [action, fingerprint, mailbox, uidl]),
    );
  }

  async importDelivered(mailbox: string, uidls: readonly { uidl: string; firstSeen: number | null }[], now: number): Promise<{ added: number; nowDelivered: number }> {
    return this.tx('recording imported messages', async (c) => {
      const names = uidls.map((u) => u.uidl);
      const seen = uidls.map((u) => Math.min(u.firstSeen ?? now, now));
      const added = await c.query(
        'INSERT INTO messages (mailbox, uidl, first_seen, delivered_at) SELECT $1, u, s, $2 FROM unnest($3::text[], $4::bigint[]) AS t(u, s) ON CONFLICT DO NOTHING',
        [mailbox, now, names, seen],
      );
      const flipped = await c.query<{ uidl: string }>(
        `UPDATE messages m SET delivered_at = $2, first_seen = LEAST(m.first_seen, t.s), unread = NULL
           FROM unnest($3::text[], $4::bigint[]) AS t(u, s)
          WHERE m.mailbox = $1 AND m.uidl = t.u AND m.delivered_at IS NULL
          RETURNING m.uidl`,
        [mailbox, now, names, seen],
      );
      if (flipped.rows.length) await c.query('DELETE FROM deliveries WHERE mailbox = $1 AND uidl = ANY($2::text[])', [mailbox, flipped.rows.map((r) => r.uidl)]);
      await c.query('UPDATE mailboxes SET listing_digest = NULL WHERE mailbox = $1', [mailbox]);
      return { added: added.rowCount ?? 0, nowDelivered: flipped.rows.length };
    });
  }

  async markDeleted(mailbox: string, uidls: readonly string[], now: number): Promise<void> {
    if (uidls.length === 0) return;
    await this.run('recording deletions', (c) => c.query('UPDATE messages SET deleted_at = $1 WHERE mailbox = $2 AND uidl = ANY($3::text[])', [now, mailbox, [...uidls]]));
  }

  async recordRun(mailbox: string, now: number, outcome: RunOutcome, listing: { vanished: number } | null = null): Promise<void> {
    const { status, error, counts } = outcome;
    const n = { ...NO_COUNTS, ...counts };
    await this.tx('recording the run', async (c) => {
      await c.query(
        `INSERT INTO mailboxes AS b (mailbox, last_run, last_status, last_error, last_ok, delivered_total, failed_total, quarantined_total, deleted_total, last_duration_ms, last_host)
              VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (mailbox) DO UPDATE SET last_run = excluded.last_run, last_status = excluded.last_status, last_error = excluded.last_error,
                                             last_ok = coalesce(excluded.last_ok, b.last_ok),
                                             delivered_total = b.delivered_total + excluded.delivered_total,
                                             failed_total = b.failed_total + excluded.failed_total,
                                             quarantined_total = b.quarantined_total + excluded.quarantined_total,
                                             deleted_total = b.deleted_total + excluded.deleted_total,
                                             last_duration_ms = excluded.last_duration_ms, last_host = excluded.last_host`,
        [mailbox, now, status, error, status === 'ok' ? now : null, n.delivered, n.failed, n.quarantined, n.deleted, n.durationMs, outcome.host ?? null],
      );
      if (!listing) return;
      await c.query('INSERT INTO listings AS l (mailbox, at, vanished) VALUES ($1, $2, $3) ON CONFLICT (mailbox, at) DO UPDATE SET vanished = l.vanished + excluded.vanished', [
        mailbox,
        now,
        listing.vanished,
      ]);
      await c.query(
        `DELETE FROM listings WHERE mailbox = $1
            AND (at > $2
                 OR (at < $3 AND at < (SELECT at FROM listings WHERE mailbox = $1 AND at <= $2 ORDER BY at DESC LIMIT 1 OFFSET 1))
                 OR at <= (SELECT at FROM listings WHERE mailbox = $1 ORDER BY at DESC LIMIT 1 OFFSET ${LISTINGS_KEPT}))`,
        [mailbox, now, now - LISTINGS_DAYS_MS],
      );
      if (listing.vanished > 0) {
        await c.query(
          `INSERT INTO mailboxes AS b (mailbox, vanished_total, vanished_at) VALUES ($1, $2, $3)
           ON CONFLICT (mailbox) DO UPDATE SET vanished_total = b.vanished_total + excluded.vanished_total, vanished_at = excluded.vanished_at`,
          [mailbox, listing.vanished, now],
        );
      }
    });
  }

  /**
   * Every commit was durable when it returned (synchronous_commit on). What is left to
   * make sure of before a DELE: that this host still holds the mailbox's lock, whose
   * connection a network failure may have taken (the lock with it, and another member may
   * be polling now). Then the deletions may go; otherwise the run stops before any.
   */
  async makeDurable(mailbox: string): Promise<void> {
    const lock = this.locks.get(mailbox);
    if (!lock) return;
    try {
      await lock.query('SELECT 1');
    } catch (err) {
      throw pgStateError(err, this.file, 'checking this host still holds the account before deleting anything');
    }
  }

  async summary(mailbox: string): Promise<MailboxSummary> {
    return this.run('reading', async (c) =>
      summaryFrom(
        (await c.query<SummaryCounts>(SUMMARY.counts, [mailbox])).rows[0]!,
        (await c.query<FailingRow>(SUMMARY.failing, [mailbox])).rows,
        (await c.query<RunRow>(SUMMARY.run, [mailbox])).rows[0],
        (await c.query<ListingRow>(SUMMARY.listings, [mailbox])).rows,
      ),
    );
  }

  async listingTimes(mailbox: string): Promise<number[]> {
    return this.run('reading', async (c) => (await c.query<{ at: number }>('SELECT at FROM listings WHERE mailbox = $1 ORDER BY at', [mailbox])).rows.map((r) => r.at));
  }

  async close(): Promise<void> {
    await Promise.all([...this.locks.values()].map((client) => client.end().catch(() => {})));
    this.locks.clear();
    await this.pool.end().catch(() => {});
  }
}

const rowCount = async (c: pg.PoolClient, mailbox: string): Promise<number> =>
  (await c.query<{ n: number }>('SELECT count(*) AS n FROM messages WHERE mailbox = $1', [mailbox])).rows[0]!.n;

function withUrlPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = encodeURIComponent(password);
  return u.toString();
}


/**
 * What PostgreSQL or the network said, as one of our codes: a server that cannot be
 * reached, is starting or shutting down, or dropped the connection is worth a retry
 * (exit 75); a login or permission refused needs the operator.
 */
export function pgStateError(err: unknown, where: string, doing: string): PinchmailError {
  if (err instanceof PinchmailError) return err;
  const code = String((err as { code?: unknown }).code ?? '');
  const say = (what: string): string => `state database ${where}: ${doing}: ${what}`;
  const detail = errorMessage(err);
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'].includes(code) || code.startsWith('08') || code.startsWith('57P') || /timeout|terminated|Connection terminated/i.test(detail)) {
    return new PinchmailError('STATE_BUSY', say(`cannot reach the server (${detail})`), { cause: err });
  }
  if (code === '28P01' || code === '28000' || code === '42501' || code === '3D000') return new PinchmailError('STATE_ACCESS', say(detail), { cause: err });
  // node-postgres' words when the server asks for a password and none was found.
  if (/password must be a string/i.test(detail)) {
    return new PinchmailError('STATE_ACCESS', say('the server asks for a password, and none is given: set "databasePassword", or PGPASSWORD, or a ~/.pgpass line'), { cause: err });
  }
  if (code === '53100') return new PinchmailError('DISK_FULL', say('the server\'s disk is full'), { cause: err });
  return new PinchmailError('INTERNAL', say(detail), { cause: err });
}
