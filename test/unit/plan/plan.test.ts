import { describe, expect, it } from 'vitest';
import { MIN_GRACE_MS, graceFor, plan, type ListedMessage, type StoredRow } from '../../../src/plan/plan.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);

const listed = (...uidls: string[]): ListedMessage[] => uidls.map((uidl, i) => ({ msgNo: i + 1, uidl, size: 100 }));

function row(uidl: string, fields: Partial<StoredRow> = {}): StoredRow {
  return { uidl, firstSeen: NOW - HOUR, size: 100, deliveredAt: null, attempts: 0, lastError: null, goneSince: null, deletedAt: null, fingerprint: null, unread: null, ...fields };
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
    name: 'a UIDL a rule left unread that leaves the server is not one this host missed',
    listing: listed('kept'),
    rows: rows(row('kept', { deliveredAt: NOW - HOUR }), row('skipped', { unread: 'skip' }), row('killed', { unread: 'kill' })),
    retentionMs: DAY,
    gone: ['skipped', 'killed'],
    vanished: [],
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

describe('identity: a UIDL is the message this host recorded only while size and header agree', () => {
  const FP = 'sha256:recorded';
  const delivered = (uidl: string, fields: Partial<StoredRow> = {}): StoredRow =>
    row(uidl, { deliveredAt: NOW - 2 * DAY, firstSeen: NOW - 2 * DAY, fingerprint: FP, ...fields });
  const at = (listing: ListedMessage[], stored: StoredRow[], extra: Partial<Parameters<typeof plan>[0]> = {}) =>
    plan({ listing, known: new Set(stored.map((r) => r.uidl)), rows: rows(...stored), now: NOW, retentionMs: DAY, ...extra });

  it('before a DELE, the header is read; the same header deletes, another makes it a new message', () => {
    const listing = listed('x');
    const first = at(listing, [delivered('x')]);
    expect(first.need.headers).toEqual([{ msgNo: 1, uidl: 'x', size: 100 }]);
    expect(first.delete).toEqual([]);
    const same = at(listing, [delivered('x')], { headers: new Map([[1, FP]]) });
    expect(same.delete.map((d) => d.uidl)).toEqual(['x']);
    expect(same.need.headers).toEqual([]);
    const other = at(listing, [delivered('x')], { headers: new Map([[1, 'sha256:another']]) });
    expect(other.delete).toEqual([]);
    expect(other.replaced.map((m) => m.uidl)).toEqual(['x']);
    expect(other.fetch).toEqual([expect.objectContaining({ uidl: 'x', firstSeen: NOW, attempts: 0 })]);
  });

  it('a header that could not be read decides nothing: neither deleted nor fetched', () => {
    const p = at(listed('x'), [delivered('x')], { headers: new Map([[1, null]]) });
    expect(p).toMatchObject({ delete: [], fetch: [], replaced: [], returned: [], need: { sizes: [], headers: [] } });
  });

  it('with a fingerprint, the header decides whatever the size: a server that rewrites status headers keeps the message', () => {
    const resized = [{ msgNo: 1, uidl: 'x', size: 250 }];
    const young = delivered('x', { firstSeen: NOW - HOUR });
    expect(at(resized, [young]).need.headers).toEqual(resized);
    const same = at(resized, [young], { headers: new Map([[1, FP]]) });
    expect(same).toMatchObject({ resized, replaced: [], fetch: [], delete: [] });
    const other = at(resized, [young], { headers: new Map([[1, 'sha256:new']]) });
    expect(other).toMatchObject({ resized: [], replaced: resized });
    expect(other.fetch.map((f) => f.uidl)).toEqual(['x']);
  });

  it('without a fingerprint, a size other than the one recorded is another message', () => {
    const p = at([{ msgNo: 1, uidl: 'x', size: 250 }], [delivered('x', { deletedAt: NOW - DAY, fingerprint: null })]);
    expect(p.need.headers).toEqual([]);
    expect(p.replaced).toEqual([{ msgNo: 1, uidl: 'x', size: 250 }]);
    expect(p.fetch.map((f) => f.uidl)).toEqual(['x']);
  });

  it('a UIDL this host saw deleted or gone that comes back is checked like a deletion', () => {
    for (const came of [{ deletedAt: NOW - HOUR }, { goneSince: NOW - HOUR }]) {
      const young = delivered('x', { firstSeen: NOW - HOUR, ...came });
      expect(at(listed('x'), [young]).need.headers).toHaveLength(1);
      expect(at(listed('x'), [young], { headers: new Map([[1, FP]]) })).toMatchObject({ returned: ['x'], fetch: [], delete: [] });
      expect(at(listed('x'), [young], { headers: new Map([[1, 'sha256:new']]) }).fetch.map((f) => f.uidl)).toEqual(['x']);
    }
  });

  it('rows from before fingerprints are told apart by size alone', () => {
    const legacy = delivered('x', { fingerprint: null });
    expect(at(listed('x'), [legacy]).delete.map((d) => d.uidl)).toEqual(['x']);
    expect(at([{ msgNo: 1, uidl: 'x', size: 99 }], [legacy]).replaced).toHaveLength(1);
  });

  it('an undelivered message whose size changed starts over: first seen now, no failed attempts', () => {
    const failing = row('f', { attempts: 3, firstSeen: NOW - 5 * DAY });
    expect(at([{ msgNo: 1, uidl: 'f', size: 100 }], [failing]).fetch).toEqual([expect.objectContaining({ attempts: 3, firstSeen: NOW - 5 * DAY })]);
    expect(at([{ msgNo: 1, uidl: 'f', size: 7 }], [failing]).fetch).toEqual([expect.objectContaining({ attempts: 0, firstSeen: NOW })]);
  });

  it('with every size at hand, a delivered message that is not yet due is compared too', () => {
    const known = new Map([['quiet', { size: 100, firstSeen: NOW - HOUR }], ['changed', { size: 100, firstSeen: NOW - HOUR }]]);
    const input = { listing: [{ msgNo: 1, uidl: 'quiet' }, { msgNo: 2, uidl: 'changed' }], known, now: NOW, retentionMs: DAY, sizes: new Map([[1, 100], [2, 180]]) };
    // Its row is asked for, then its header, which says whether it is the same message.
    expect(plan({ ...input, rows: new Map() }).need.rows).toEqual(['changed']);
    const stored = rows(delivered('changed', { firstSeen: NOW - HOUR }));
    expect(plan({ ...input, rows: stored }).need.headers).toEqual([{ msgNo: 2, uidl: 'changed', size: 180 }]);
    const replaced = plan({ ...input, rows: stored, headers: new Map([[2, 'sha256:another']]) });
    expect(replaced.replaced).toEqual([{ msgNo: 2, uidl: 'changed', size: 180 }]);
    expect(replaced.fetch.map((f) => f.uidl)).toEqual(['changed']);
    expect(plan({ ...input, rows: stored, headers: new Map([[2, FP]]) })).toMatchObject({ resized: [{ uidl: 'changed', size: 180 }], fetch: [] });
  });

  it('a known message listed after one first seen later arrived since, under a UIDL this host knows: its identity is checked', () => {
    const known = new Map([
      ['a', { size: 100, firstSeen: NOW - HOUR }],
      ['x', { size: 100, firstSeen: NOW - 2 * HOUR }],
    ]);
    const input = { listing: listed('a', 'x'), known, now: NOW, retentionMs: DAY };
    expect(plan({ ...input, rows: new Map() }).need.rows).toEqual(['x']);
    const stored = rows(delivered('x', { firstSeen: NOW - 2 * HOUR }));
    expect(plan({ ...input, rows: stored }).need.headers).toEqual([{ msgNo: 2, uidl: 'x', size: 100 }]);
    expect(plan({ ...input, rows: stored, headers: new Map([[2, 'sha256:another']]) }).fetch.map((f) => f.uidl)).toEqual(['x']);
    expect(plan({ ...input, rows: stored, headers: new Map([[2, FP]]) })).toMatchObject({ fetch: [], replaced: [], delete: [] });
    // In order, nothing is asked; a known message behind a new one is asked for too.
    expect(plan({ listing: listed('x', 'a'), known, rows: new Map(), now: NOW, retentionMs: DAY }).need.rows).toEqual([]);
    expect(plan({ listing: listed('new', 'a'), known, rows: new Map(), now: NOW, retentionMs: DAY }).need.rows).toEqual(['a']);
  });

  it('asks for the sizes it needs, and only those', () => {
    const stored = [delivered('due'), row('failing', { attempts: 1 }), delivered('young', { firstSeen: NOW - HOUR })];
    const p = plan({ listing: ['due', 'failing', 'young', 'new'].map((uidl, i) => ({ msgNo: i + 1, uidl })), known: new Set(stored.map((r) => r.uidl)), rows: rows(...stored), now: NOW, retentionMs: DAY });
    expect(p.need.sizes).toEqual([1, 2, 4]);
  });

  it('a row under a UIDL the listing gives to several messages counts as gone, without a warning', () => {
    const p = plan({ listing: listed('a'), unidentified: new Set(['shared']), known: new Set(['a', 'shared']), rows: rows(row('shared')), now: NOW, retentionMs: DAY });
    expect(p.gone).toEqual(['shared']);
    expect(p.vanished).toEqual([]);
  });

  it('messages that failed before are fetched after the new ones', () => {
    const stored = [row('old-failure', { attempts: 2 }), row('retry', { attempts: 1 })];
    const p = at(listed('old-failure', 'fresh', 'retry', 'newer'), stored);
    expect(p.fetch.map((f) => f.uidl)).toEqual(['fresh', 'newer', 'old-failure', 'retry']);
  });
});
