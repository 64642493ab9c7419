import { describe, expect, it } from 'vitest';
import { MIN_GRACE_MS, graceFor, plan, type ListedMessage, type StoredRow } from '../../../src/plan/plan.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);

const listed = (...uidls: string[]): ListedMessage[] => uidls.map((uidl, i) => ({ msgNo: i + 1, uidl, size: 100 + i }));

function row(uidl: string, fields: Partial<StoredRow> = {}): StoredRow {
  return { uidl, firstSeen: NOW - HOUR, size: 100, deliveredAt: null, attempts: 0, lastError: null, goneSince: null, deletedAt: null, ...fields };
}

const rows = (...list: StoredRow[]): Map<string, StoredRow> => new Map(list.map((r) => [r.uidl, r]));

interface Case {
  name: string;
  listing: ListedMessage[];
  rows: Map<string, StoredRow>;
  retentionMs: number;
  fetch?: string[];
  dueOnDelivery?: string[];
  delete?: string[];
  newlySeen?: string[];
  gone?: string[];
  returned?: string[];
  forget?: string[];
  vanished?: string[];
}

const cases: Case[] = [
  {
    name: 'a new mailbox: everything is new and fetched, nothing deleted yet',
    listing: listed('a', 'b'),
    rows: rows(),
    retentionMs: 3 * DAY,
    fetch: ['a', 'b'],
    newlySeen: ['a', 'b'],
    delete: [],
  },
  {
    name: 'retention "0": new messages are deleted as soon as they are delivered',
    listing: listed('a'),
    rows: rows(),
    retentionMs: 0,
    fetch: ['a'],
    dueOnDelivery: ['a'],
  },
  {
    name: 'delivered and old enough: deleted; delivered and young: kept',
    listing: listed('old', 'young', 'edge'),
    rows: rows(
      row('old', { deliveredAt: NOW - 3 * DAY, firstSeen: NOW - 4 * DAY }),
      row('young', { deliveredAt: NOW - HOUR, firstSeen: NOW - HOUR }),
      row('edge', { deliveredAt: NOW - 3 * DAY, firstSeen: NOW - 3 * DAY }),
    ),
    retentionMs: 3 * DAY,
    fetch: [],
    delete: ['old', 'edge'],
  },
  {
    name: 'never delivered here: never deleted here, however old',
    listing: listed('stuck'),
    rows: rows(row('stuck', { firstSeen: NOW - 30 * DAY, attempts: 9 })),
    retentionMs: DAY,
    fetch: ['stuck'],
    dueOnDelivery: ['stuck'],
    delete: [],
  },
  {
    name: 'retention "never" deletes nothing',
    listing: listed('a'),
    rows: rows(row('a', { deliveredAt: 1, firstSeen: 1 })),
    retentionMs: Number.POSITIVE_INFINITY,
    fetch: [],
    delete: [],
  },
  {
    name: 'a UIDL gone from the server is marked gone, and warned about if undelivered',
    listing: listed('kept'),
    rows: rows(row('kept', { deliveredAt: NOW - HOUR }), row('done', { deliveredAt: NOW - HOUR }), row('lost')),
    retentionMs: DAY,
    gone: ['done', 'lost'],
    vanished: ['lost'],
    forget: [],
  },
  {
    name: 'a server that briefly lists nothing causes no redelivery: rows are kept',
    listing: [],
    rows: rows(row('a', { deliveredAt: NOW - HOUR }), row('b', { deliveredAt: NOW - HOUR })),
    retentionMs: DAY,
    fetch: [],
    gone: ['a', 'b'],
    forget: [],
  },
  {
    name: 'and when they come back, they are not new',
    listing: listed('a', 'b'),
    rows: rows(row('a', { deliveredAt: NOW - HOUR, goneSince: NOW - HOUR }), row('b', { deliveredAt: NOW - HOUR, goneSince: NOW - HOUR })),
    retentionMs: DAY,
    fetch: [],
    newlySeen: [],
    returned: ['a', 'b'],
  },
  {
    name: 'forgotten only after the grace period (at least the retention, at least two weeks)',
    listing: [],
    rows: rows(
      row('just', { deliveredAt: 1, goneSince: NOW - MIN_GRACE_MS + 1 }),
      row('past', { deliveredAt: 1, goneSince: NOW - MIN_GRACE_MS }),
      row('long', { deliveredAt: 1, goneSince: NOW - 20 * DAY }),
    ),
    retentionMs: DAY,
    forget: ['past', 'long'],
    gone: [],
  },
  {
    name: 'a long retention stretches the grace period',
    listing: [],
    rows: rows(row('a', { deliveredAt: 1, goneSince: NOW - 20 * DAY })),
    retentionMs: 30 * DAY,
    forget: [],
  },
  {
    name: 'a deleted message the server still lists is deleted again',
    listing: listed('a'),
    rows: rows(row('a', { deliveredAt: 1, firstSeen: 1, deletedAt: NOW - HOUR })),
    retentionMs: DAY,
    delete: ['a'],
  },
];

describe('plan', () => {
  it.each(cases)('$name', (c) => {
    const p = plan({ listing: c.listing, known: new Set(c.rows.keys()), rows: c.rows, now: NOW, retentionMs: c.retentionMs });
    if (c.fetch) expect(p.fetch.map((f) => f.uidl)).toEqual(c.fetch);
    if (c.dueOnDelivery) expect(p.fetch.filter((f) => f.dueOnDelivery).map((f) => f.uidl)).toEqual(c.dueOnDelivery);
    if (c.delete) expect(p.delete.map((d) => d.uidl)).toEqual(c.delete);
    if (c.newlySeen) expect(p.newlySeen.map((m) => m.uidl)).toEqual(c.newlySeen);
    if (c.gone) expect(p.gone).toEqual(c.gone);
    if (c.returned) expect(p.returned).toEqual(c.returned);
    if (c.forget) expect(p.forget).toEqual(c.forget);
    if (c.vanished) expect(p.vanished.map((r) => r.uidl)).toEqual(c.vanished);
  });

  it('reports first-seen and age from the one clock reading', () => {
    const stored = rows(row('old', { deliveredAt: 1, firstSeen: NOW - 2 * DAY }));
    const p = plan({
      listing: listed('new', 'old'),
      known: new Set(stored.keys()),
      rows: stored,
      now: NOW,
      retentionMs: DAY,
    });
    expect(p.fetch[0]).toMatchObject({ uidl: 'new', firstSeen: NOW, msgNo: 1, size: 100 });
    expect(p.delete[0]).toMatchObject({ uidl: 'old', firstSeen: NOW - 2 * DAY, ageMs: 2 * DAY, msgNo: 2 });
  });

  it('grace is the retention, at least two weeks', () => {
    expect(graceFor(DAY)).toBe(MIN_GRACE_MS);
    expect(graceFor(30 * DAY)).toBe(30 * DAY);
    expect(graceFor(Number.POSITIVE_INFINITY)).toBe(MIN_GRACE_MS);
  });
});

describe('plan from a snapshot (known UIDLs, rows only where action may be needed)', () => {
  it('a known UIDL without a row is delivered and not yet due: nothing to do while listed, gone when not', () => {
    const p = plan({ listing: listed('quiet', 'new'), known: new Set(['quiet', 'left']), rows: new Map(), now: NOW, retentionMs: DAY });
    expect(p.fetch.map((f) => f.uidl)).toEqual(['new']);
    expect(p.newlySeen.map((m) => m.uidl)).toEqual(['new']);
    expect(p.delete).toEqual([]);
    expect(p.gone).toEqual(['left']);
    expect(p.vanished).toEqual([]);
  });
});
