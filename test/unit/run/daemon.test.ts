import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { AccountConfig } from '../../../src/config/types.js';
import { Daemon } from '../../../src/run/daemon.js';
import { emptyReport, type AccountReport } from '../../../src/run/report.js';

/** The daemon's ordering alone, on fake timers: polls are promises the test settles. */
const account = (name: string, everyMs: number): AccountConfig => ({ name, stateKey: name, everyMs }) as AccountConfig;
const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, child() { return silent; } };

let started: { name: string; finish: () => void; stop: AbortSignal }[];
let daemon: Daemon | null;

function start(accounts: AccountConfig[], parallel = 4): Daemon {
  daemon = new Daemon(accounts, parallel, {
    poll: (a, stop) =>
      new Promise<AccountReport>((resolve) => started.push({ name: a.name, stop, finish: () => resolve(emptyReport(a.name)) })),
    polled: () => {},
    random: () => 0.5,
    log: silent,
  });
  return daemon;
}
const names = (): string[] => started.map((s) => s.name);

beforeEach(() => {
  vi.useFakeTimers();
  started = [];
  daemon = null;
});
afterEach(async () => {
  for (const s of started) s.finish();
  await daemon?.stop();
  vi.useRealTimers();
});

it('polls each account on its own interval, from the start of one poll to the next', async () => {
  start([account('fast', 1_000), account('slow', 10_000)]);
  await vi.advanceTimersByTimeAsync(1_000);
  expect(names()).toEqual(['fast', 'slow']);
  started[0]!.finish();
  started[1]!.finish();
  await vi.advanceTimersByTimeAsync(1_000);
  expect(names()).toEqual(['fast', 'slow', 'fast']);
});

it('never polls one account twice at once: a poll longer than the interval is followed, not overlapped', async () => {
  start([account('box', 1_000)]);
  await vi.advanceTimersByTimeAsync(5_000);
  expect(names()).toEqual(['box']);
  started[0]!.finish();
  await vi.advanceTimersByTimeAsync(0);
  expect(names()).toEqual(['box', 'box']);
});

it('polls at most `parallel` accounts at once', async () => {
  start([account('a', 1_000), account('b', 1_000), account('c', 1_000)], 2);
  await vi.advanceTimersByTimeAsync(1_000);
  expect(names()).toEqual(['a', 'b']);
  started[0]!.finish();
  await vi.advanceTimersByTimeAsync(0);
  expect(names()).toEqual(['a', 'b', 'c']);
});

it('a reload drops an account after its poll, adds a new one, and keeps the rest', async () => {
  const d = start([account('old', 1_000), account('kept', 1_000)]);
  await vi.advanceTimersByTimeAsync(1_000);
  d.reload([account('kept', 1_000), account('new', 1_000)], 4);
  for (const s of started) s.finish();
  // "new" first polls a tenth of its interval at most after the reload, "kept" on its interval.
  await vi.advanceTimersByTimeAsync(2_000);
  expect(names().slice(2).sort()).toEqual(['kept', 'new']);
});

it('stop() aborts the polls under way and resolves when they have ended; nothing starts after', async () => {
  const d = start([account('box', 1_000)]);
  await vi.advanceTimersByTimeAsync(1_000);
  let done = false;
  const stopping = d.stop().then(() => (done = true));
  expect(started[0]!.stop.aborted).toBe(true);
  await vi.advanceTimersByTimeAsync(0);
  expect(done).toBe(false);
  started[0]!.finish();
  await stopping;
  await vi.advanceTimersByTimeAsync(10_000);
  expect(names()).toEqual(['box']);
});

it('stop() waits too for the poll of an account a reload removed', async () => {
  const d = start([account('gone', 1_000)]);
  await vi.advanceTimersByTimeAsync(1_000);
  d.reload([], 4);
  let done = false;
  const stopping = d.stop().then(() => (done = true));
  await vi.advanceTimersByTimeAsync(0);
  expect(done).toBe(false);
  started[0]!.finish();
  await stopping;
});

it('a reload that changes "parallel" never lets more polls run at once than the new limit', async () => {
  const d = start([account('a', 1_000), account('b', 1_000)], 1);
  await vi.advanceTimersByTimeAsync(1_000);
  expect(names()).toEqual(['a']);
  d.reload([account('a', 1_000), account('b', 1_000)], 1);
  await vi.advanceTimersByTimeAsync(0);
  expect(names()).toEqual(['a']);
  d.reload([account('a', 1_000), account('b', 1_000)], 2);
  await vi.advanceTimersByTimeAsync(0);
  expect(names()).toEqual(['a', 'b']);
});
