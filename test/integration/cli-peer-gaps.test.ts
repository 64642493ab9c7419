import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { Workspace, logMessages, runCli, type CliResult } from '../support/cli.js';
import { USER, uidlsOn } from '../support/fake-pop3.js';
import { loopbackAccount, startServerAndWorkspace, stopServerAndWorkspace } from '../support/server-workspace.js';

/**
 * Issue 14: a host that may have missed mail says so. Two peer hosts (each its own
 * database) poll one mailbox at chosen simulated times (PINCHMAIL_TEST_NOW, the run's
 * one clock reading): host A often, host B too rarely for A's retention.
 */

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.parse('2026-11-02T08:00:00Z');

let server: DevPop3Server;
let port: number;
let ws: Workspace;

const mail = (n: number): Buffer => Buffer.from(`Subject: m${n}\r\nFrom: a@example.org\r\n\r\nbody ${n}\r\n`);

beforeEach(async () => void ({ server, port, ws } = await startServerAndWorkspace([mail(1)])));
afterEach(() => stopServerAndWorkspace(server, ws));

function host(name: string, extra: Record<string, unknown> = {}): string {
  return ws.config(
    { database: ws.path(`${name}.sqlite`), accounts: [loopbackAccount(port, ws, { retention: '1h', deliver: { maildir: ws.path(`${name}-Maildir`) }, ...extra })] },
    `${name}.json`,
  );
}

const at = (ms: number): NodeJS.ProcessEnv => ({ PINCHMAIL_TEST_NOW: String(T0 + ms) });
const poll = (config: string, ms: number, args: string[] = []): Promise<CliResult> => runCli(['-c', config, ...args], at(ms));
const accountJson = (run: CliResult): Record<string, unknown> => (JSON.parse(run.stdout) as { accounts: Record<string, unknown>[] }).accounts[0]!;

const gapLine = (ago: string): RegExp => new RegExp(`this host last saw jobs ${ago} ago; peers that delete after 1h may have removed mail it never saw`);

describe('a host that polls less often than its peers keep mail', () => {
  it('says so in one warning (also under -q), counts it in --json, and status shows it until a later run is within the window', async () => {
    const a = host('a');
    const b = host('b');
    const c = host('c');
    expect((await poll(b, 0)).code).toBe(0);
    expect((await poll(c, 0)).code).toBe(0);
    server.store.add(USER, mail(2));
    expect((await poll(a, 10 * MIN)).code).toBe(0);
    expect((await poll(a, 40 * MIN)).code).toBe(0);
    // A deletes both, an hour after it first saw them; B and C never saw mail 2.
    const deleting = await poll(a, 75 * MIN, ['--json']);
    expect(accountJson(deleting)).toMatchObject({ deleted: 2, listingGap: null });
    expect(uidlsOn(server)).toEqual([]);

    const late = await poll(b, 3 * HOUR, ['-q', '--json']);
    expect(late.code, late.stderr).toBe(0);
    expect(logMessages(late.stderr)).toEqual([expect.stringMatching(gapLine('3h'))]);
    expect(accountJson(late)).toMatchObject({
      delivered: 0,
      listingGap: { previousListing: new Date(T0).toISOString(), gapSeconds: 3 * 3600, peerRetentionSeconds: 3600 },
    });
    // As cron mails it: a plain line on stderr, and the summary on stdout says it too.
    const plain = await runCli(['-c', c, '-q'], { ...at(2 * HOUR), PINCHMAIL_LOG: '' });
    expect(plain.code).toBe(0);
    expect(plain.stderr).toBe(`pinchmail: jobs: warning: ${gapLine('2h').source} previousListing=${new Date(T0).toISOString()}\n`);
    const summary = await runCli(['-c', c], at(5 * HOUR));
    expect(summary.stdout).toBe('jobs: 0 delivered, 0 deleted, 0 left on server, may have missed mail: 3h since the last listing, peers delete after 1h\n');

    const status = await runCli(['-c', b, 'status'], at(3 * HOUR + 2 * MIN));
    expect(status.stdout).toContain('  MAY HAVE MISSED MAIL: the last listing came 3h after the one before, longer than peers keep mail (1h)');
    const warned = await runCli(['-c', b, 'status', '--check'], at(3 * HOUR + 2 * MIN));
    expect(warned.code, warned.stdout).toBe(1);
    expect(warned.stdout).toMatch(/^PINCHMAIL WARNING - jobs: may have missed mail: the last listing came 3h after the one before \(peers delete after 1h\)/);

    // A later run within the window clears it; the polling seen so far (3h at worst) still is not comfortable for 1h.
    const again = await poll(b, 3 * HOUR + 10 * MIN, ['--json']);
    expect(accountJson(again)).toMatchObject({ listingGap: null });
    expect(logMessages(again.stderr)).toEqual([]);
    const cleared = await runCli(['-c', b, 'status'], at(3 * HOUR + 11 * MIN));
    expect(cleared.stdout).not.toContain('MAY HAVE MISSED');
    expect(cleared.stdout).toContain('  polls every         1h35m typically, 3h at worst (2 intervals since');
    expect(cleared.stdout).toContain('  peers delete        after 1h; margin -2h: TOO SMALL, keep it at least 2 times the worst interval');
    const json = JSON.parse((await runCli(['-c', b, 'status', '--json'], at(3 * HOUR + 11 * MIN))).stdout).accounts[0];
    expect(json).toMatchObject({
      peerRetention: '1h',
      lastListing: new Date(T0 + 3 * HOUR + 10 * MIN).toISOString(),
      polling: { intervals: 2, typicalSeconds: 95 * 60, worstSeconds: 3 * 3600 },
      marginSeconds: -2 * 3600,
      comfortable: false,
      listingGap: null,
      overdueSeconds: null,
    });
    const margin = await runCli(['-c', b, 'status', '--check'], at(3 * HOUR + 11 * MIN));
    expect(margin.code).toBe(1);
    expect(margin.stdout).toMatch(/^PINCHMAIL WARNING - jobs: peers delete after 1h, not comfortably longer than this host's worst polling interval 3h \(keep it at least 2 times as long\)/);
    // ... and so does `check`, without failing.
    const checked = await runCli(['-c', b, 'check'], at(3 * HOUR + 11 * MIN));
    expect(checked.code, checked.stdout).toBe(0);
    expect(checked.stdout).toContain("  WARNING    peers delete after 1h, not comfortably longer than this host's worst polling interval 3h (keep it at least 2 times as long)");
    // Overdue by the clock: status says so before the next run does.
    const overdue = await runCli(['-c', b, 'status', '--check'], at(5 * HOUR));
    expect(overdue.stdout).toContain('no listing for 1h50m (peers delete after 1h)');
    expect(overdue.stdout).toContain('jobs_worst_poll=10800s;;;0;');
  });

  it('with peerRetention, the other hosts’ shorter retention is the window; "never" and "0" on a host of its own warn of nothing', async () => {
    const b = host('b', { retention: 'never', peerRetention: '30m' });
    expect((await poll(b, 0)).code).toBe(0);
    const late = await poll(b, 45 * MIN, ['--json']);
    expect(logMessages(late.stderr)).toEqual(['this host last saw jobs 45m ago; peers that delete after 30m may have removed mail it never saw']);
    for (const [name, retention] of [['keep', 'never'], ['alone', '0']] as const) {
      const config = host(name, { retention });
      expect((await poll(config, 0)).code).toBe(0);
      const run = await poll(config, 30 * 24 * HOUR, ['--json']);
      expect(accountJson(run)).toMatchObject({ listingGap: null });
      expect(logMessages(run.stderr).filter((m) => m.includes('may have removed'))).toEqual([]);
    }
  });
});

describe('what left the server before this host had it', () => {
  it('counts in the summary, in --json and in status (how many, when last), and status --check warns for a day, with a counter in its perfdata', async () => {
    const a = host('a');
    // B sees the message but its delivery fails (try again later); A delivers and deletes it.
    const failing = ws.config(
      { database: ws.path('b.sqlite'), accounts: [loopbackAccount(port, ws, { retention: '1h', deliver: { command: 'exit 75' } })] },
      'b.json',
    );
    expect((await poll(failing, 0)).code).toBe(75);
    expect((await poll(a, MIN)).code).toBe(0);
    expect((await poll(a, 62 * MIN)).code).toBe(0);
    expect(uidlsOn(server)).toEqual([]);

    const run = await poll(failing, 30 * MIN);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('jobs: 0 delivered, 0 deleted, 0 left on server, 1 left the server before this host delivered them\n');
    const status = JSON.parse((await runCli(['-c', failing, 'status', '--json'], at(31 * MIN))).stdout).accounts[0];
    expect(status.vanished).toEqual({ total: 1, last: new Date(T0 + 30 * MIN).toISOString(), atLatestListing: 1 });
    expect((await runCli(['-c', failing, 'status'], at(31 * MIN))).stdout).toMatch(/ {2}left before delivery 1 message, last 2026-11-02 /);
    const warned = await runCli(['-c', failing, 'status', '--check'], at(31 * MIN));
    expect(warned.code).toBe(1);
    expect(warned.stdout).toMatch(/^PINCHMAIL WARNING - jobs: 1 message left the server before this host delivered it \(last 1m ago; 1 in all\)/);
    expect(warned.stdout).toContain('jobs_vanished=1c;;;0;');

    // The next listing finds nothing gone; a check every few minutes still sees it, for a day.
    expect((await poll(failing, 40 * MIN)).code).toBe(0);
    const later = await runCli(['-c', failing, 'status', '--check'], at(41 * MIN));
    expect(later.code, later.stdout).toBe(1);
    expect(later.stdout).toMatch(/^PINCHMAIL WARNING - jobs: messages left the server before this host delivered them \(last 11m ago; 1 in all\)/);
    const after = JSON.parse((await runCli(['-c', failing, 'status', '--json'], at(41 * MIN))).stdout).accounts[0];
    expect(after.vanished).toEqual({ total: 1, last: new Date(T0 + 30 * MIN).toISOString(), atLatestListing: 0 });
  });
});

describe('check', () => {
  it('warns of a retention of a few seconds or minutes (not "0"), and says what it risks; exit 0', async () => {
    for (const retention of ['30s', '4m']) {
      const run = await runCli(['-c', host(`short-${retention}`, { retention }), 'check', '--json'], at(0));
      expect(run.code, run.stdout).toBe(0);
      expect(accountJson(run).warnings).toEqual([expect.stringMatching(new RegExp(`^retention ${retention} is very short: a peer host that does not list the mailbox at least that often`))]);
    }
    for (const retention of ['0', '5m', '7d', 'never']) {
      const run = await runCli(['-c', host(`ok-${retention}`, { retention }), 'check', '--json'], at(0));
      expect(accountJson(run).warnings, retention).toEqual([]);
    }
    // This host's own short retention is a warning also when peers are declared with a long one.
    const own = await runCli(['-c', host('own', { retention: '1m', peerRetention: '7d' }), 'check', '--json'], at(0));
    expect(accountJson(own).warnings).toEqual([expect.stringMatching(/^retention 1m is very short: .* may never see mail this host deleted/)]);
    const zero = await runCli(['-c', host('zero', { retention: '7d', peerRetention: '0' }), 'check', '--json'], at(0));
    expect(accountJson(zero).warnings).toEqual([expect.stringMatching(/^peerRetention "0": the other hosts delete what they deliver at once/)]);
  });

  it('a clock set back before the previous listing is said, not taken for a gap; the next gap is judged from the new time', async () => {
    const b = host('b', { retention: '7d' });
    expect((await poll(b, 365 * 24 * HOUR)).code).toBe(0);
    const back = await poll(b, 0, ['--json']);
    expect(back.code).toBe(0);
    expect(logMessages(back.stderr)).toEqual([expect.stringMatching(/^the clock reads 2026-11-02T08:00:00.000Z, earlier than this host's previous listing of jobs: whether it missed mail cannot be judged this run$/)]);
    expect(accountJson(back)).toMatchObject({ listingGap: null });
    const late = await poll(b, 8 * 24 * HOUR, ['--json']);
    expect(accountJson(late)).toMatchObject({ listingGap: { gapSeconds: 8 * 24 * 3600 } });
  });
});
