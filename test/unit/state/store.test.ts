import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { dueBefore, plan, type KnownUidls, type ListedMessage, type PlanInput, type StoredRow } from '../../../src/plan/plan.js';
import { listingDigest } from '../../../src/pop3/listing.js';
import { SCHEMA_VERSION } from '../../../src/state/migrations.js';
import { SqliteStore } from '../../../src/state/sqlite-store.js';
import type { ListingMark, StateStore } from '../../../src/state/store.js';
import { prng } from '../../support/corpus.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 22);

/** A listing's mark, as the run gives it: the digest of its UIDLs and STAT's total size. */
const markOf = (listing: readonly ListedMessage[]): ListingMark => ({ digest: listingDigest(listing), octets: listing.reduce((n, m) => n + m.size, 0) });
const uidlsOf = (known: KnownUidls): Set<string> => (known === 'as-listed' ? new Set() : new Set(known.keys()));

// Lists of UIDLs leaving or gone come in no particular order.
const normal = (p: ReturnType<typeof plan>) => ({
  ...p,
  gone: [...p.gone].sort(),
  forget: [...p.forget].sort(),
  returned: [...p.returned].sort(),
  vanished: [...p.vanished].sort((a, b) => a.uidl.localeCompare(b.uidl)),
});

/** The plan once the rows it asks for are given, as a run gives them. */
async function settled(store: StateStore, input: PlanInput): Promise<ReturnType<typeof plan>> {
  let p = plan(input);
  if (p.need.rows.length > 0) p = plan({ ...input, rows: new Map([...input.rows, ...await store.rowsFor('box', p.need.rows)]) });
  return p;
}

/** Every row of mailbox "box", read straight from the file. */
function wholeTable(file: string): Map<string, StoredRow> {
  const raw = new Database(file, { readonly: true });
  const rows = raw
    .prepare<[], { uidl: string; first_seen: number; size: number; delivered_at: number | null; attempts: number; last_error: string | null; gone_since: number | null; deleted_at: number | null }>(
      "SELECT uidl, first_seen, size, delivered_at, attempts, last_error, gone_since, deleted_at FROM messages WHERE mailbox = 'box'",
    )
    .all();
  raw.close();
  return new Map(
    rows.map((r) => [
      r.uidl,
      { uidl: r.uidl, firstSeen: r.first_seen, size: r.size, deliveredAt: r.delivered_at, attempts: r.attempts, lastError: r.last_error, goneSince: r.gone_since, deletedAt: r.deleted_at, fingerprint: null, unread: null },
    ]),
  );
}

describe('StateStore.snapshot', () => {
  it('plans exactly as the whole table would, on random states', async () => {
    const random = prng(5);
    for (let round = 0; round < 30; round++) {
      const file = path.join(dir, `s${round}.sqlite`);
      const store = SqliteStore.open(file);
      const retentionMs = [0, DAY, 3 * DAY, Number.POSITIVE_INFINITY][round % 4]!;
      const listing: ListedMessage[] = [];
      const all = new Map<string, StoredRow>();
      const raw = new Database(file);
      const insert = raw.prepare(
        'INSERT INTO messages (mailbox, uidl, first_seen, size, delivered_at, attempts, last_error, gone_since, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      );
      for (let i = 0; i < 200; i++) {
        const uidl = `u${i}`;
        if (random() < 0.8) {
          const row: StoredRow = {
            uidl,
            firstSeen: NOW - Math.floor(random() * 10 * DAY),
            size: 100,
            deliveredAt: random() < 0.7 ? NOW - DAY : null,
            attempts: random() < 0.1 ? 2 : 0,
            lastError: null,
            goneSince: random() < 0.2 ? NOW - Math.floor(random() * 30 * DAY) : null,
            deletedAt: random() < 0.05 ? NOW - DAY : null,
            fingerprint: null,
            unread: null,
          };
          all.set(uidl, row);
          insert.run('box', uidl, row.firstSeen, row.size, row.deliveredAt, row.attempts, row.lastError, row.goneSince, row.deletedAt);
        }
        if (random() < 0.7) listing.push({ msgNo: listing.length + 1, uidl, size: 100 });
      }
      raw.close();
      const digest = markOf(listing);
      const snap = await store.snapshot('box', dueBefore(NOW, retentionMs), digest);
      expect(uidlsOf(snap.known)).toEqual(new Set(all.keys()));
      // The rows the plan asks for (messages listed out of order) are read as a run reads them.
      const fromSnapshot = await settled(store, { listing, known: snap.known, rows: snap.rows, now: NOW, retentionMs });
      expect(normal(fromSnapshot)).toEqual(normal(plan({ listing, known: new Set(all.keys()), rows: all, now: NOW, retentionMs })));

      // Recorded, the same listing comes back: the store vouches for it instead of reading every UIDL,
      // and the plan is still exactly what the whole table gives.
      await store.applyListing('box', fromSnapshot, NOW, digest);
      const later = NOW + Math.floor(random() * 20 * DAY);
      const again = await store.snapshot('box', dueBefore(later, retentionMs), digest);
      expect(again.known).toBe('as-listed');
      const table = wholeTable(file);
      expect(normal(plan({ listing, known: again.known, rows: again.rows, now: later, retentionMs }))).toEqual(
        normal(plan({ listing, known: new Set(table.keys()), rows: table, now: later, retentionMs })),
      );
      // Any other listing is read in full.
      expect((await store.snapshot('box', dueBefore(later, retentionMs), markOf(listing.slice(1)))).known).toBeInstanceOf(Map);
      // So is the same listing with another total size: a message changed under its UIDL.
      expect((await store.snapshot('box', dueBefore(later, retentionMs), { ...digest, octets: digest.octets + 1 })).known).toBeInstanceOf(Map);
      await store.close();
    }
  });
});

describe('a recorded listing', () => {
  const listing: ListedMessage[] = [1, 2, 3].map((n) => ({ msgNo: n, uidl: `u${n}`, size: 10 }));
  const digest = markOf(listing);

  async function recorded(name: string): Promise<{ store: StateStore; file: string }> {
    const file = path.join(dir, `${name}.sqlite`);
    const store = SqliteStore.open(file);
    const first = await store.snapshot('box', -1, digest);
    await store.applyListing('box', plan({ listing, ...first, now: NOW, retentionMs: Infinity }), NOW, digest);
    for (const m of listing) await store.markDelivered('box', { uidl: m.uidl, fingerprint: null }, NOW);
    return { store, file };
  }

  it('a row an operator deleted (to have it fetched again) is noticed, though the listing is the same', async () => {
    const { store, file } = await recorded('deleted-row');
    expect((await store.snapshot('box', -1, digest)).known).toBe('as-listed');
    const raw = new Database(file);
    raw.prepare("DELETE FROM messages WHERE uidl = 'u2'").run();
    raw.close();
    const snap = await store.snapshot('box', -1, digest);
    expect(uidlsOf(snap.known)).toEqual(new Set(['u1', 'u3']));
    expect(plan({ listing, ...snap, now: NOW, retentionMs: Infinity }).fetch.map((f) => f.uidl)).toEqual(['u2']);
    await store.close();
  });

  it('a poll that changes nothing writes nothing, and the next one still skips the known UIDLs', async () => {
    const { store, file } = await recorded('unchanged');
    // data_version, read on another connection, moves whenever anything is committed.
    const watcher = new Database(file, { readonly: true });
    const version = (): number => watcher.pragma('data_version', { simple: true }) as number;
    const before = version();
    const snap = await store.snapshot('box', -1, digest);
    await store.applyListing('box', plan({ listing, ...snap, now: NOW + DAY, retentionMs: Infinity }), NOW + DAY, digest);
    expect(version()).toBe(before);
    await store.markDelivered('box', { uidl: 'u1', fingerprint: null }, NOW + DAY);
    expect(version()).not.toBe(before);
    watcher.close();
    expect((await store.snapshot('box', -1, digest)).known).toBe('as-listed');
    await store.close();
  });
});

describe('migrations', () => {
  it('a database from the first release is brought up to date and keeps its rows', async () => {
    const file = path.join(dir, 'v1.sqlite');
    const raw = new Database(file);
    raw.exec(`
      CREATE TABLE messages (mailbox TEXT NOT NULL, uidl TEXT NOT NULL, first_seen INTEGER NOT NULL, size INTEGER, delivered_at INTEGER,
        attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, last_attempt INTEGER, gone_since INTEGER, deleted_at INTEGER,
        PRIMARY KEY (mailbox, uidl)) WITHOUT ROWID;
      CREATE TABLE mailboxes (mailbox TEXT PRIMARY KEY, last_run INTEGER, last_status TEXT, last_error TEXT, syncs INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
      PRAGMA user_version = 1;
    `);
    raw.prepare('INSERT INTO messages (mailbox, uidl, first_seen, size, delivered_at) VALUES (?, ?, ?, ?, ?)').run('box', 'old', NOW - 9 * DAY, 5, NOW - 9 * DAY);
    raw.prepare('INSERT INTO messages (mailbox, uidl, first_seen, size) VALUES (?, ?, ?, ?)').run('box', 'failing', NOW - DAY, 5);
    raw.prepare("INSERT INTO mailboxes (mailbox, last_run, last_status) VALUES ('box', ?, 'ok'), ('down', ?, 'failed')").run(NOW - DAY, NOW - 2 * DAY);
    raw.close();

    // status and --dry-run, which may not write, read it brought up to date in memory.
    const readOnly = SqliteStore.openReadOnly(file)!;
    expect(await readOnly.summary('box')).toMatchObject({ tracked: 2, delivered: 1 });
    // A run an older version recorded as ok had listed the mailbox: the last success, and the first listing known.
    expect(await readOnly.summary('box')).toMatchObject({ lastOk: NOW - DAY, listings: [NOW - DAY] });
    expect(await readOnly.summary('down')).toMatchObject({ lastOk: null, listings: [] });
    await readOnly.close();
    const untouched = new Database(file, { readonly: true });
    expect(untouched.pragma('user_version', { simple: true })).toBe(1);
    await untouched.close();

    const store = SqliteStore.open(file);
    const listing = [{ msgNo: 1, uidl: 'old', size: 5 }, { msgNo: 2, uidl: 'failing', size: 5 }, { msgNo: 3, uidl: 'new', size: 5 }];
    const snap = await store.snapshot('box', dueBefore(NOW, 7 * DAY), markOf(listing));
    const p = plan({ listing, ...snap, now: NOW, retentionMs: 7 * DAY });
    expect(p.fetch.map((f) => f.uidl)).toEqual(['failing', 'new']);
    expect(p.delete.map((d) => d.uidl)).toEqual(['old']);
    await store.close();
    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    check.close();
  });
});

describe('the run record: listings kept for how often this host polls', () => {
  it('keeps each complete listing’s time with what it found gone, the last 1000 within 30 days, and the last success across failed runs', async () => {
    const store = SqliteStore.open(path.join(dir, 'listings.sqlite'));
    const MIN = 60_000;
    for (let i = 0; i < 1005; i++) await store.recordRun('box', NOW + i * MIN, { status: 'ok', error: null }, { vanished: i === 1002 ? 2 : 0 });
    await store.recordRun('box', NOW + 1005 * MIN, { status: 'failed', error: 'auth failed' }, null);
    let s = await store.summary('box');
    expect(s.listings).toHaveLength(1000);
    expect(s.listings[0]).toBe(NOW + 5 * MIN);
    expect(s.listings.at(-1)).toBe(NOW + 1004 * MIN);
    expect(s.lastOk).toBe(NOW + 1004 * MIN);
    expect(s.lastRun).toEqual({ at: NOW + 1005 * MIN, status: 'failed', error: 'auth failed', durationMs: null, host: null });
    expect(s.vanished).toEqual({ total: 2, lastAt: NOW + 1002 * MIN, atLatestListing: 0 });
    expect((await store.lastListing('box'))?.at).toBe(NOW + 1004 * MIN);
    // A listing 31 days on leaves the older ones behind, all but the one before it: the gap must still show.
    await store.recordRun('box', NOW + 31 * DAY, { status: 'ok', error: null }, { vanished: 1 });
    s = await store.summary('box');
    expect(s.listings).toEqual([NOW + 1004 * MIN, NOW + 31 * DAY]);
    expect(s.vanished).toEqual({ total: 3, lastAt: NOW + 31 * DAY, atLatestListing: 1 });
    // The clock set back: listings "later" than the new one go, so the next gap is judged from it.
    await store.recordRun('box', NOW + 30 * DAY, { status: 'ok', error: null }, { vanished: 0 });
    expect((await store.summary('box')).listings).toEqual([NOW + 1004 * MIN, NOW + 30 * DAY]);
    await store.close();
  });
});

describe('messages another fetcher delivered (pinchmail import)', () => {
  it('are never fetched again, and are deleted once retention has passed since that fetcher first saw them', async () => {
    const file = path.join(dir, 'import.sqlite');
    const store = SqliteStore.open(file);
    const retentionMs = 7 * DAY;
    const added = await store.importDelivered('box', [{ uidl: 'old', firstSeen: NOW - 10 * DAY }, { uidl: 'recent', firstSeen: NOW - DAY }, { uidl: 'untimed', firstSeen: null }], NOW);
    expect(added).toEqual({ added: 3, nowDelivered: 0 });
    // Imported again (the command run twice): nothing changes.
    expect(await store.importDelivered('box', [{ uidl: 'old', firstSeen: NOW }], NOW + DAY)).toEqual({ added: 0, nowDelivered: 0 });

    const listing: ListedMessage[] = ['old', 'recent', 'untimed', 'new'].map((uidl, i) => ({ msgNo: i + 1, uidl, size: 100 }));
    const snap = await store.snapshot('box', dueBefore(NOW, retentionMs), markOf(listing));
    const p = await settled(store, { listing, known: snap.known, rows: snap.rows, now: NOW, retentionMs });
    expect(p.fetch.map((f) => f.uidl)).toEqual(['new']);
    expect(p.delete.map((d) => d.uidl)).toEqual(['old']);
    // A source without times counts from the import: 7 days later it is due.
    const later = NOW + 7 * DAY;
    const p2 = await settled(store, { listing, ...await store.snapshot('box', dueBefore(later, retentionMs), markOf(listing)), now: later, retentionMs });
    expect(p2.delete.map((d) => d.uidl).sort()).toEqual(['old', 'recent', 'untimed']);
    await store.close();
  });

  it('makes a message this host knew but had not delivered delivered, since the other fetcher did', async () => {
    const store = SqliteStore.open(path.join(dir, 'import-known.sqlite'));
    const listing: ListedMessage[] = [{ msgNo: 1, uidl: 'failing', size: 100 }];
    // A run saw it and failed to deliver it.
    const first = await settled(store, { listing, ...await store.snapshot('box', dueBefore(NOW, DAY), markOf(listing)), now: NOW, retentionMs: DAY });
    await store.applyListing('box', first, NOW, markOf(listing));
    await store.markFailed('box', 'failing', 'exit 75', NOW);
    expect(await store.importDelivered('box', [{ uidl: 'failing', firstSeen: null }], NOW + 1000)).toEqual({ added: 0, nowDelivered: 1 });
    const again = await settled(store, { listing, ...await store.snapshot('box', dueBefore(NOW + 1000, DAY), markOf(listing)), now: NOW + 1000, retentionMs: DAY });
    expect(again.fetch).toEqual([]);
    await store.close();
  });
});
