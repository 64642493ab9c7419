import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { dueBefore, plan, type ListedMessage, type StoredRow } from '../../../src/plan/plan.js';
import { StateStore } from '../../../src/state/store.js';
import { prng } from '../../support/corpus.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 22);

describe('StateStore.snapshot', () => {
  it('plans exactly as the whole table would, on random states', () => {
    const random = prng(5);
    for (let round = 0; round < 30; round++) {
      const file = path.join(dir, `s${round}.sqlite`);
      const store = StateStore.open(file);
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
          };
          all.set(uidl, row);
          insert.run('box', uidl, row.firstSeen, row.size, row.deliveredAt, row.attempts, row.lastError, row.goneSince, row.deletedAt);
        }
        if (random() < 0.7) listing.push({ msgNo: listing.length + 1, uidl, size: 100 });
      }
      raw.close();
      const snap = store.snapshot('box', dueBefore(NOW, retentionMs));
      expect(snap.known).toEqual(new Set(all.keys()));
      const fromSnapshot = plan({ listing, known: snap.known, rows: snap.rows, now: NOW, retentionMs });
      const fromTable = plan({ listing, known: new Set(all.keys()), rows: all, now: NOW, retentionMs });
      // Lists of UIDLs leaving or gone come in no particular order.
      const normal = (p: ReturnType<typeof plan>) => ({ ...p, gone: [...p.gone].sort(), forget: [...p.forget].sort(), returned: [...p.returned].sort(), vanished: [...p.vanished].sort((a, b) => a.uidl.localeCompare(b.uidl)) });
      expect(normal(fromSnapshot)).toEqual(normal(fromTable));
      store.close();
    }
  });
});
