import type pg from 'pg';

/**
 * The schema on PostgreSQL: the same tables, columns and steps as SQLite's migrations
 * (src/state/migrations.ts), step for step, so both engines are at the same version with
 * the same meaning. Times are ms since the epoch: BIGINT, as SQLite's INTEGER holds them.
 * A migration is never edited once released; a change is a new entry in both lists.
 */
const MIGRATIONS: readonly string[] = [
  // 1: one row per UIDL per mailbox, and one row per mailbox for its last run.
  `
  CREATE TABLE messages (
    mailbox      TEXT    NOT NULL,
    uidl         TEXT    NOT NULL,
    first_seen   BIGINT  NOT NULL,
    size         BIGINT,
    delivered_at BIGINT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    last_attempt BIGINT,
    gone_since   BIGINT,
    deleted_at   BIGINT,
    PRIMARY KEY (mailbox, uidl)
  );
  CREATE TABLE mailboxes (
    mailbox     TEXT PRIMARY KEY,
    last_run    BIGINT,
    last_status TEXT,
    last_error  TEXT,
    syncs       INTEGER NOT NULL DEFAULT 0
  );
  `,
  // 2: a Maildir file placed for a message before its delivered mark.
  `ALTER TABLE messages ADD COLUMN placed TEXT;`,
  // 3: a poll of a large mailbox with nothing new reads only what may need action.
  `
  CREATE INDEX messages_pending ON messages (mailbox)
    WHERE delivered_at IS NULL OR gone_since IS NOT NULL OR deleted_at IS NOT NULL;
  CREATE INDEX messages_age ON messages (mailbox, first_seen);
  ALTER TABLE mailboxes ADD COLUMN listing_digest TEXT;
  ALTER TABLE mailboxes ADD COLUMN listing_rows BIGINT;
  `,
  // 4: a message's identity beyond its UIDL, and each target's part of a delivery to several.
  `
  ALTER TABLE messages ADD COLUMN fingerprint TEXT;
  CREATE TABLE deliveries (
    mailbox TEXT    NOT NULL,
    uidl    TEXT    NOT NULL,
    target  TEXT    NOT NULL,
    intent  TEXT,
    sole    INTEGER NOT NULL DEFAULT 0,
    done_at BIGINT,
    PRIMARY KEY (mailbox, uidl, target)
  );
  ALTER TABLE mailboxes ADD COLUMN listing_octets BIGINT;
  `,
  // 5: when each mailbox was listed, what left the server undelivered, the last good run.
  `
  CREATE TABLE listings (
    mailbox  TEXT    NOT NULL,
    at       BIGINT  NOT NULL,
    vanished INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (mailbox, at)
  );
  ALTER TABLE mailboxes ADD COLUMN last_ok BIGINT;
  ALTER TABLE mailboxes ADD COLUMN vanished_total INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE mailboxes ADD COLUMN vanished_at BIGINT;
  UPDATE mailboxes SET last_ok = last_run WHERE last_status = 'ok';
  INSERT INTO listings (mailbox, at) SELECT mailbox, last_run FROM mailboxes WHERE last_status = 'ok' AND last_run IS NOT NULL;
  `,
  // 6: a route rule's decision to leave a message unread.
  `ALTER TABLE messages ADD COLUMN unread TEXT;`,
  // 7: what every run did, added up, and how long the last one took.
  `
  ALTER TABLE mailboxes ADD COLUMN delivered_total   BIGINT NOT NULL DEFAULT 0;
  ALTER TABLE mailboxes ADD COLUMN failed_total      BIGINT NOT NULL DEFAULT 0;
  ALTER TABLE mailboxes ADD COLUMN quarantined_total BIGINT NOT NULL DEFAULT 0;
  ALTER TABLE mailboxes ADD COLUMN deleted_total     BIGINT NOT NULL DEFAULT 0;
  ALTER TABLE mailboxes ADD COLUMN last_duration_ms  BIGINT;
  `,
  // 8: which host made the last run, for a group's status.
  `ALTER TABLE mailboxes ADD COLUMN last_host TEXT;`,
];

export const PG_SCHEMA_VERSION = MIGRATIONS.length;

/** Any fixed number: the advisory lock that lets one member at a time migrate. */
const MIGRATION_LOCK = 0x70696e63;

/**
 * Brings the database up to date, one member at a time (several hosts of a group may start
 * at once); refuses one a newer pinchmail wrote. The version is kept in a table, as
 * PostgreSQL has no user_version.
 */
export async function migratePg(client: pg.PoolClient): Promise<void> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    await client.query('CREATE TABLE IF NOT EXISTS pinchmail_schema (version INTEGER NOT NULL)');
    const row = (await client.query<{ version: number }>('SELECT version FROM pinchmail_schema')).rows[0];
    const current = row?.version ?? 0;
    if (current > PG_SCHEMA_VERSION) {
      throw new Error(`the state database has schema version ${current}, newer than this pinchmail understands (${PG_SCHEMA_VERSION})`);
    }
    for (let version = current; version < PG_SCHEMA_VERSION; version++) {
      await client.query('BEGIN');
      try {
        await client.query(MIGRATIONS[version]!);
        await client.query(version === 0 ? 'INSERT INTO pinchmail_schema (version) VALUES (1)' : 'UPDATE pinchmail_schema SET version = $1', version === 0 ? [] : [version + 1]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
  }
}
