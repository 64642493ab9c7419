import type { Database } from 'better-sqlite3';

/**
 * Schema versions, applied in order and recorded in PRAGMA user_version. A migration
 * is never edited once released; a change is a new entry.
 */
const MIGRATIONS: readonly string[] = [
  // 1: one row per UIDL per mailbox, and one row per mailbox for its last run.
  `
  CREATE TABLE messages (
    mailbox      TEXT    NOT NULL,  -- the account's stateKey
    uidl         TEXT    NOT NULL,
    first_seen   INTEGER NOT NULL,  -- ms since the epoch: when this host first saw the UIDL listed
    size         INTEGER,           -- octets, as LIST reported it
    delivered_at INTEGER,           -- set once every delivery target has taken the message
    attempts     INTEGER NOT NULL DEFAULT 0,  -- runs in which delivery failed
    last_error   TEXT,
    last_attempt INTEGER,
    gone_since   INTEGER,           -- first run that did not list it; cleared if it comes back
    deleted_at   INTEGER,           -- this host sent DELE and the server took QUIT
    PRIMARY KEY (mailbox, uidl)
  ) WITHOUT ROWID;

  CREATE TABLE mailboxes (
    mailbox     TEXT PRIMARY KEY,
    last_run    INTEGER,
    last_status TEXT,
    last_error  TEXT,
    syncs       INTEGER NOT NULL DEFAULT 0  -- bumped at synchronous=FULL to force earlier commits to disk
  ) WITHOUT ROWID;
  `,
  // 2: a Maildir file placed for a message before its delivered mark (see src/run/recover.ts).
  `
  ALTER TABLE messages ADD COLUMN placed TEXT;
  `,
  // 3: a poll of a large mailbox with nothing new reads only what may need action (see StateStore.snapshot).
  `
  CREATE INDEX messages_pending ON messages (mailbox)
    WHERE delivered_at IS NULL OR gone_since IS NOT NULL OR deleted_at IS NOT NULL;
  CREATE INDEX messages_age ON messages (mailbox, first_seen);
  ALTER TABLE mailboxes ADD COLUMN listing_digest TEXT;   -- of the listing applyListing last recorded
  ALTER TABLE mailboxes ADD COLUMN listing_rows INTEGER;  -- rows held for the mailbox right after
  `,
  // 4: a message's identity beyond its UIDL (src/plan/identity.ts), and each target's part
  // of a delivery to several (intent before it acts, done after), which supersedes
  // messages.placed (still read, for notes an older version left).
  `
  ALTER TABLE messages ADD COLUMN fingerprint TEXT;  -- of the header block of the copy this host delivered
  CREATE TABLE deliveries (
    mailbox TEXT    NOT NULL,
    uidl    TEXT    NOT NULL,
    target  TEXT    NOT NULL,  -- which of the message's targets (src/deliver/target.ts, targetKey)
    intent  TEXT,              -- what the target is about to do, recorded before it acts: a Maildir file's path
    sole    INTEGER NOT NULL DEFAULT 0,  -- the message's only target: once it has the message, the message is delivered
    done_at INTEGER,           -- the target has the message; the others may still be owed it
    PRIMARY KEY (mailbox, uidl, target)
  ) WITHOUT ROWID;
  ALTER TABLE mailboxes ADD COLUMN listing_octets INTEGER;  -- STAT's total size for that listing
  `,
  // 5: when this host listed each mailbox (how often it really polls, and the gaps in which
  // a peer may have deleted mail it never saw: src/plan/polling.ts), what left the server
  // before this host delivered it, and the last run that succeeded.
  `
  CREATE TABLE listings (
    mailbox  TEXT    NOT NULL,
    at       INTEGER NOT NULL,            -- the run's clock when it recorded a complete listing
    vanished INTEGER NOT NULL DEFAULT 0,  -- messages that listing found gone before this host delivered them
    PRIMARY KEY (mailbox, at)
  ) WITHOUT ROWID;
  ALTER TABLE mailboxes ADD COLUMN last_ok INTEGER;                      -- the last run that ended without a failure
  ALTER TABLE mailboxes ADD COLUMN vanished_total INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE mailboxes ADD COLUMN vanished_at INTEGER;                  -- the last listing that found one
  -- What an older version knew: a run that ended ok had listed the mailbox completely.
  UPDATE mailboxes SET last_ok = last_run WHERE last_status = 'ok';
  INSERT INTO listings (mailbox, at) SELECT mailbox, last_run FROM mailboxes WHERE last_status = 'ok' AND last_run IS NOT NULL;
  `,
  // 6: a route rule's decision to leave a message unread (src/deliver/route/router.ts):
  // 'skip' keeps it on the server, looked at again each run; 'kill' deletes it.
  `
  ALTER TABLE messages ADD COLUMN unread TEXT;  -- 'skip' or 'kill', set by the last run that decided so; cleared on delivery
  `,
  // 7: what every run of this host did, added up, and how long the last one took: the
  // counters of the metrics (src/cli/metrics.ts), which must never go back.
  `
  ALTER TABLE mailboxes ADD COLUMN delivered_total   INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE mailboxes ADD COLUMN failed_total      INTEGER NOT NULL DEFAULT 0;  -- failed deliveries, one per message per run
  ALTER TABLE mailboxes ADD COLUMN quarantined_total INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE mailboxes ADD COLUMN deleted_total     INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE mailboxes ADD COLUMN last_duration_ms  INTEGER;
  `,
  // 8: which host made the last run, for a group's status (hosts sharing one database).
  `
  ALTER TABLE mailboxes ADD COLUMN last_host TEXT;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database up to date; refuses one written by a newer pinchmail. */
export function migrate(db: Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(`the state database has schema version ${current}, newer than this pinchmail understands (${SCHEMA_VERSION})`);
  }
  for (let version = current; version < SCHEMA_VERSION; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
