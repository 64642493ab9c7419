import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dueBefore, plan, type ListedMessage } from '../../src/plan/plan.js';
import { listingDigest } from '../../src/pop3/listing.js';
import { PgStore } from '../../src/state/pg-store.js';
import { SqliteStore } from '../../src/state/sqlite-store.js';
import type { ListingMark, StateStore } from '../../src/state/store.js';
import { describePostgres, type Postgres } from '../support/postgres.js';

/**
 * What every engine of the state store must do, one suite run against each (go-imap's
 * way with its backends): SQLite in a temp file, PostgreSQL on a private server (a fresh
 * database per test). What a run and status rely on, through the interface only.
 */
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 1);
const markOf = (listing: readonly ListedMessage[]): ListingMark => ({ digest: listingDigest(listing), octets: listing.reduce((n, m) => n + m.size, 0) });
const listed = (...uidls: string[]): ListedMessage[] => uidls.map((uidl, i) => ({ msgNo: i + 1, uidl, size: 100 }));

/** A poll as a run records it: the snapshot, the plan from it, the listing applied. */
async function poll(store: StateStore, listing: ListedMessage[], now: number, retentionMs = 7 * DAY): Promise<ReturnType<typeof plan>> {
  const snap = await store.snapshot('box', dueBefore(now, retentionMs), markOf(listing));
  const planned = plan({ listing, ...snap, now, retentionMs });
  await store.applyListing('box', planned, now, markOf(listing));
  return planned;
}

function contract(engine: string, open: () => Promise<StateStore>): void {
  describe(`the state store on ${engine}`, () => {
    it('records first sightings once, and vouches for a listing it recorded', async () => {
      const store = await open();
      const first = await poll(store, listed('a', 'b', 'c'), NOW);
      expect(first.fetch.map((f) => f.uidl).sort()).toEqual(['a', 'b', 'c']);
      expect((await store.lastListing('box'))?.digest).toBe(markOf(listed('a', 'b', 'c')).digest);
      expect((await store.snapshot('box', dueBefore(NOW, 7 * DAY), markOf(listed('a', 'b', 'c')))).known).toBe('as-listed');
      const again = await poll(store, listed('a', 'b', 'c', 'd'), NOW + 1000);
      expect(again.newlySeen.map((m) => m.uidl)).toEqual(['d']);
      await store.close();
    });

    it('marks deliveries, and deletes only delivered messages once their retention has passed', async () => {
      const store = await open();
      await poll(store, listed('a', 'b'), NOW);
      // No fingerprint: the plan then asks no header before the DELE.
      await store.markDeliveredMany('box', [{ uidl: 'a', fingerprint: null }], NOW);
      const later = await poll(store, listed('a', 'b'), NOW + 8 * DAY);
      expect(later.fetch.map((f) => f.uidl)).toEqual(['b']);
      expect(later.delete.map((d) => d.uidl)).toEqual(['a']);
      await store.makeDurable('box');
      await store.markDeleted('box', ['a'], NOW + 8 * DAY);
      const s = await store.summary('box');
      expect({ tracked: s.tracked, delivered: s.delivered, onServer: s.onServer, deliveredOnServer: s.deliveredOnServer }).toEqual({ tracked: 2, delivered: 1, onServer: 1, deliveredOnServer: 0 });
      expect((await store.rowsFor('box', ['a'])).get('a')).toMatchObject({ deliveredAt: NOW, deletedAt: NOW + 8 * DAY });
      await store.close();
    });

    it('keeps a target\'s note until the delivery is recorded, and each target\'s part of a delivery to several', async () => {
      const store = await open();
      await poll(store, listed('a', 'b'), NOW);
      await store.noteIntents('box', [{ uidl: 'a', target: 'maildir:/m', intent: '/m/new/1', sole: true, fingerprint: 'f1' }]);
      expect(await store.openIntents('box')).toEqual([{ uidl: 'a', target: 'maildir:/m', intent: '/m/new/1', sole: true }]);
      // The copy's fingerprint is kept with the note, for a crashed run's delivery recovered later.
      expect((await store.rowsFor('box', ['a'])).get('a')?.fingerprint).toBe('f1');
      await store.dropIntent('box', 'a', 'maildir:/m');
      expect(await store.openIntents('box')).toEqual([]);
      await store.markTargetDone('box', 'b', 'command:x', NOW);
      expect(await store.doneTargets('box')).toEqual(new Map([['b', new Set(['command:x'])]]));
      await store.markDelivered('box', { uidl: 'b', fingerprint: null }, NOW);
      expect(await store.doneTargets('box')).toEqual(new Map());
      await store.close();
    });

    it('counts failures and messages left unread, as status shows them', async () => {
      const store = await open();
      await poll(store, listed('a', 'b', 'c'), NOW);
      await store.markFailed('box', 'a', 'boom', NOW, null);
      await store.markFailed('box', 'a', 'boom again', NOW + 1, null);
      await store.markUnread('box', 'b', 'skip', null);
      const s = await store.summary('box');
      expect(s.failing).toEqual([{ uidl: 'a', attempts: 2, lastError: 'boom again', lastAttempt: NOW + 1, firstSeen: NOW }]);
      expect(s.skipped).toBe(1);
      expect(s.oldestUndelivered).toBe(NOW);
      await store.close();
    });

    it('records an import once, flipping a known undelivered UIDL to delivered', async () => {
      const store = await open();
      await poll(store, listed('known'), NOW);
      const first = await store.importDelivered('box', [{ uidl: 'old', firstSeen: NOW - 3 * DAY }, { uidl: 'known', firstSeen: null }], NOW);
      expect(first).toEqual({ added: 1, nowDelivered: 1 });
      expect(await store.importDelivered('box', [{ uidl: 'old', firstSeen: NOW - 3 * DAY }], NOW)).toEqual({ added: 0, nowDelivered: 0 });
      expect((await store.rowsFor('box', ['old'])).get('old')).toMatchObject({ firstSeen: NOW - 3 * DAY, deliveredAt: NOW });
      await store.close();
    });

    it('adds up runs and keeps their listing times', async () => {
      const store = await open();
      await store.recordRun('box', NOW, { status: 'ok', error: null, counts: { delivered: 2, durationMs: 40 } }, { vanished: 0 });
      await store.recordRun('box', NOW + DAY, { status: 'failed', error: 'nope', host: 'worker-2', counts: { delivered: 1 } }, { vanished: 2 });
      const s = await store.summary('box');
      expect(s.lastRun).toEqual({ at: NOW + DAY, status: 'failed', error: 'nope', durationMs: null, host: 'worker-2' });
      expect(s.lastOk).toBe(NOW);
      expect(s.totals.delivered).toBe(3);
      expect(s.vanished).toEqual({ total: 2, lastAt: NOW + DAY, atLatestListing: 2 });
      expect(await store.listingTimes('box')).toEqual([NOW, NOW + DAY]);
      await store.close();
    });

    it('lets one run at a time hold a mailbox, and another have it once released', async () => {
      const store = await open();
      const lock = await store.tryLock('box');
      expect(lock).not.toBeNull();
      expect(await store.tryLock('box')).toBeNull();
      const other = await store.tryLock('other-box');
      expect(other).not.toBeNull();
      await lock!.release();
      const again = await store.tryLock('box');
      expect(again).not.toBeNull();
      await again!.release();
      await other!.release();
      await store.close();
    });
  });
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
contract('SQLite', async () => SqliteStore.open(path.join(dir, `state-${n++}.sqlite`)));

describePostgres('the state store contract on PostgreSQL', (server: () => Postgres) => {
  contract('PostgreSQL', async () => PgStore.open(await server().createDatabase()));
});
