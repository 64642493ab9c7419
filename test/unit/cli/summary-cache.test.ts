import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { SummaryCache } from '../../../src/cli/metrics.js';
import { SqliteStore } from '../../../src/state/sqlite-store.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-summary-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NOW = Date.UTC(2026, 11, 3);

describe('the daemon\'s summary cache', () => {
  it('reads a polled account again only after its next poll, and any other account at every render', async () => {
    const store = SqliteStore.open(path.join(dir, 'state.db'));
    const reads = vi.spyOn(store, 'summary');
    const cache = new SummaryCache(store);

    await store.recordRun('polled', NOW, { status: 'ok', error: null, counts: { delivered: 2 } });
    cache.polled('polled');
    expect((await cache.summaryOf('polled')).totals.delivered).toBe(2);
    expect((await cache.summaryOf('polled')).totals.delivered).toBe(2);
    expect(reads.mock.calls.filter(([key]) => key === 'polled')).toHaveLength(1);

    // Its next poll: the new numbers, read once more.
    await store.recordRun('polled', NOW + 1000, { status: 'ok', error: null, counts: { delivered: 3 } });
    cache.polled('polled');
    expect((await cache.summaryOf('polled')).totals.delivered).toBe(5);
    expect(reads.mock.calls.filter(([key]) => key === 'polled')).toHaveLength(2);

    // An account the daemon does not poll (a cron run's): what the database says now.
    await store.recordRun('cron', NOW, { status: 'ok', error: null, counts: { delivered: 1 } });
    expect((await cache.summaryOf('cron')).totals.delivered).toBe(1);
    await store.recordRun('cron', NOW + 1000, { status: 'ok', error: null, counts: { delivered: 1 } });
    expect((await cache.summaryOf('cron')).totals.delivered).toBe(2);

    // A reload that stops polling it: read at each render from then on.
    cache.pollingOnly(new Set());
    await store.recordRun('polled', NOW + 2000, { status: 'ok', error: null, counts: { delivered: 1 } });
    expect((await cache.summaryOf('polled')).totals.delivered).toBe(6);
    await store.close();
  });
});
