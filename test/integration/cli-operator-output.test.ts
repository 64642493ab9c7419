import os from 'node:os';
import { spawn } from 'node:child_process';
import { until as waitUntil } from '../support/until.js';
import { closeSync, fstatSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { BIN, Workspace, runCli, startCli } from '../support/cli.js';
import { USER, uidlsOn } from '../support/fake-pop3.js';
import { loopbackAccount, startServerAndWorkspace, stopServerAndWorkspace } from '../support/server-workspace.js';

/** What an operator sees: cron mail, the journal, the summary, status and its monitoring mode (issue 13). */

let server: DevPop3Server;
let port: number;
let ws: Workspace;

const mail = (subject: string): Buffer => Buffer.from(`Subject: ${subject}\r\nFrom: a@example.org\r\n\r\nhello\r\n`);
const MESSAGES = [mail('one'), mail('two'), mail('three')];
/** The default format off a terminal: what cron mails. */
const PLAIN = { PINCHMAIL_LOG: '' };

beforeEach(async () => void ({ server, port, ws } = await startServerAndWorkspace(MESSAGES)));
afterEach(() => stopServerAndWorkspace(server, ws));

const account = (extra: Record<string, unknown> = {}): Record<string, unknown> => loopbackAccount(port, ws, { retention: '7d', ...extra });

const until = (cond: () => boolean): Promise<void> => waitUntil(cond, 20_000);
const loggedIn = (): boolean => [...server.sessions].some((s) => s.username);

describe('logs off a terminal', () => {
  it('are plain lines by default: one line for a failed account, its exit code once', async () => {
    const config = ws.config({ accounts: [account({ password: 'wrong' })] });
    const run = await runCli(['-c', config], PLAIN);
    expect(run.code).toBe(77);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^pinchmail: jobs: authentication failed: login as alice (\([\w-]+\) )?refused: .+ \(exit 77\)$/);
    expect(lines[0]!.match(/77/g)).toHaveLength(1);
    expect(run.stderr).not.toContain('{');
  });

  it('are JSON with PINCHMAIL_LOG=json', async () => {
    const config = ws.config({ accounts: [account({ password: 'wrong' })] });
    const run = await runCli(['-c', config], { PINCHMAIL_LOG: 'json' });
    expect(run.code).toBe(77);
    const events = run.stderr.trimEnd().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string; account: string; exitCode: number });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ level: 50, account: 'jobs', exitCode: 77 });
    expect(events[0]!.msg).toMatch(/^authentication failed: login as alice/);
  });

  it('are escaped in the plain format', async () => {
    server.faults.script = ({ verb }) => (verb === 'PASS' ? { reply: '-ERR [AUTH] no\x1b[2J way\r\n' } : undefined);
    const run = await runCli(['-c', ws.config({ accounts: [account({ auth: 'user' })] })], PLAIN);
    expect(run.code).toBe(77);
    expect(run.stderr).toContain('no\\x1b[2J way');
    expect(run.stderr).not.toContain('\x1b');
  });

  it('under the journal (JOURNAL_STREAM names stderr) carry syslog priority prefixes', async () => {
    const file = ws.path('journal.txt');
    const fd = openSync(file, 'w');
    const st = fstatSync(fd, { bigint: true });
    const config = ws.config({ accounts: [account({ password: 'wrong' })] });
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [BIN, '-c', config], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, JOURNAL_STREAM: `${st.dev}:${st.ino}` },
        stdio: ['ignore', 'ignore', fd],
      });
      child.on('close', resolve);
    });
    closeSync(fd);
    expect(code).toBe(77);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^<3>jobs: authentication failed: login as alice .* \(exit 77\)$/);
  });

  it('JOURNAL_STREAM that names another stream (inherited) does not change the format', async () => {
    const config = ws.config({ accounts: [account({ password: 'wrong' })] });
    const run = await runCli(['-c', config], { ...PLAIN, JOURNAL_STREAM: '8:12345' });
    expect(run.stderr).toMatch(/^pinchmail: jobs: authentication failed: /);
  });
});

describe('the lock held by another run', () => {
  it('is a one-line warning (exit 75), and status keeps the last real run', async () => {
    const slow = ws.slowCommand();
    const config = ws.config({ accounts: [account({ deliver: slow.deliver })] });
    slow.release();
    expect((await runCli(['-c', config])).code).toBe(0);
    server.store.add(USER, mail('four'));
    // A fresh gate: the next run waits in its delivery until the test lets it go.
    rmSync(ws.path('go'));
    const first = startCli(['-c', config]);
    await until(loggedIn);
    await until(() => readdirSync(slow.out).length >= 4);

    const second = await runCli(['-c', config], PLAIN);
    expect(second.code).toBe(75);
    expect(second.stderr).toBe('pinchmail: jobs: warning: skipped: another pinchmail run is working on this account (exit 75)\n');
    const json = await runCli(['-c', config], { PINCHMAIL_LOG: 'json' });
    expect(JSON.parse(json.stderr.trim())).toMatchObject({ level: 40 });

    const status = await runCli(['-c', config, 'status']);
    expect(status.stdout).toMatch(new RegExp(`last run +.*: ok, by ${os.hostname()}\n`));
    expect(status.stdout).not.toContain('skipped');
    expect(status.stdout).not.toContain('failed');
    slow.release();
    expect((await first.result).code).toBe(0);
  });
});

describe('the summary', () => {
  it('says what is left on the server after deletions; --json adds leftOnServer', async () => {
    const config = ws.config({ accounts: [account({ retention: '0' })] });
    const run = await runCli(['-c', config]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('jobs: 3 delivered, 3 deleted, 0 left on server\n');
    server.store.add(USER, mail('four'));
    const json = JSON.parse((await runCli(['-c', config, '--json', '-a', 'jobs'])).stdout);
    expect(json.accounts[0]).toMatchObject({ delivered: 1, deleted: 1, onServer: 1, leftOnServer: 0 });
  });
});

describe('status', () => {
  it('separates what is on the server from what is remembered after it left', async () => {
    const config = ws.config({ accounts: [account({ retention: '0' })] });
    await runCli(['-c', config]);
    server.store.add(USER, mail('four'));
    await runCli(['-c', config, '-a', 'jobs']);
    // The fourth is delivered and deleted; a fifth arrives and is delivered, kept (retention 1d now).
    server.store.add(USER, mail('five'));
    const keep = ws.config({ accounts: [account({ retention: '1d' })] });
    await runCli(['-c', keep]);
    const status = await runCli(['-c', keep, 'status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('  on server     1: 1 delivered, 0 failing, 0 waiting\n');
    expect(status.stdout).toContain('  remembered    4 that left the server (kept for the grace period)\n');
    const doc = JSON.parse((await runCli(['-c', keep, 'status', '--json'])).stdout);
    expect(doc.accounts[0]).toMatchObject({ onServer: 1, deliveredOnServer: 1, remembered: 4 });
  });

  describe('--check', () => {
    it('exits 0 with one line when all is well', async () => {
      const config = ws.config({ accounts: [account()] });
      await runCli(['-c', config]);
      const run = await runCli(['-c', config, 'status', '--check']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^PINCHMAIL OK - jobs: 3 on server, 0 failing, last run ok [^\n]*\|[^\n]*\n$/);
    });

    const failing = async (): Promise<string> => {
      const config = ws.config({ accounts: [account({ deliver: { command: 'cat > /dev/null; exit 75' } })] });
      expect((await runCli(['-c', config])).code).toBe(75);
      return config;
    };

    it('exits 1 (WARNING) at --warn-failing, 2 (CRITICAL) at --crit-failing', async () => {
      const config = await failing();
      const warn = await runCli(['-c', config, 'status', '--check', '--warn-failing', '2', '--crit-failing', '5']);
      expect(warn.code).toBe(1);
      expect(warn.stdout).toMatch(/^PINCHMAIL WARNING - jobs: 3 failing messages/);
      expect(warn.stdout.split('\n')).toHaveLength(2);
      const crit = await runCli(['-c', config, 'status', '--check', '--warn-failing', '1', '--crit-failing', '3']);
      expect(crit.code).toBe(2);
      expect(crit.stdout).toMatch(/^PINCHMAIL CRITICAL - jobs: 3 failing messages/);
      const ok = await runCli(['-c', config, 'status', '--check', '--warn-failing', '4']);
      // The last run failed: a warning even under the failing threshold.
      expect(ok.code).toBe(1);
      expect(ok.stdout).toMatch(/^PINCHMAIL WARNING - jobs: last run failed/);
    });

    it('exits 2 when the last successful run is older than --max-age, or there is none', async () => {
      const config = ws.config({ accounts: [account()] });
      const never = await runCli(['-c', config, 'status', '--check', '--max-age', '1h']);
      expect(never.code).toBe(2);
      expect(never.stdout).toMatch(/^PINCHMAIL CRITICAL - jobs: never run/);
      await runCli(['-c', config]);
      const later = { PINCHMAIL_TEST_NOW: String(Date.now() + 2 * 3600_000) };
      const stale = await runCli(['-c', config, 'status', '--check', '--max-age', '1h'], later);
      expect(stale.code).toBe(2);
      expect(stale.stdout).toMatch(/^PINCHMAIL CRITICAL - jobs: last successful run 2h\d*m?\d*s? ago \(max age 1h\)/);
      expect((await runCli(['-c', config, 'status', '--check', '--max-age', '3h'], later)).code).toBe(0);
    });

    it('--max-age counts from the last successful run while later runs fail', async () => {
      const config = ws.config({ accounts: [account()] });
      const T = Date.now();
      expect((await runCli(['-c', config], { PINCHMAIL_TEST_NOW: String(T) })).code).toBe(0);
      ws.config({ accounts: [account({ password: 'wrong' })] });
      expect((await runCli(['-c', config], { PINCHMAIL_TEST_NOW: String(T + 90 * 60_000) })).code).toBe(77);
      const check = await runCli(['-c', config, 'status', '--check', '--max-age', '1h'], { PINCHMAIL_TEST_NOW: String(T + 2 * 3600_000) });
      expect(check.code, check.stdout).toBe(2);
      expect(check.stdout).toMatch(/^PINCHMAIL CRITICAL - jobs: last run failed 30m ago: .*, last successful run 2h ago \(max age 1h\)/);
    });

    it('exits 3 (UNKNOWN) on a config error', async () => {
      const run = await runCli(['-c', ws.path('missing.json'), 'status', '--check']);
      expect(run.code).toBe(3);
      expect(run.stdout).toMatch(/^PINCHMAIL UNKNOWN - configuration error: /);
    });
  });
});

describe('times', () => {
  const TZ = { TZ: 'Asia/Kolkata' };
  const LOCAL = /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+05:30/;

  it('a dry run invents no first-seen time for a message never seen, and shows local time with its offset', async () => {
    const config = ws.config({ accounts: [account()] });
    const fresh = await runCli(['-c', config, '-n'], TZ);
    expect(fresh.code, fresh.stderr).toBe(0);
    for (const uidl of uidlsOn(server)) expect(fresh.stdout).toMatch(new RegExp(`  fetch +${uidl} +\\S+ +- +new\\n`));
    const json = JSON.parse((await runCli(['-c', config, '-n', '--json'], TZ)).stdout);
    expect(json.accounts[0].fetch[0]).toMatchObject({ firstSeen: null, new: true });

    await runCli(['-c', ws.config({ accounts: [account({ retention: 'never', deliver: { command: 'exit 75' } })] })]);
    const known = await runCli(['-c', config, '-n'], TZ);
    expect(known.stdout).toMatch(new RegExp(`  fetch +\\S+ +\\S+ +${LOCAL.source} +`));
  });

  it('status uses the same convention', async () => {
    const config = ws.config({ accounts: [account({ retention: '1d' })] });
    await runCli(['-c', config]);
    const status = await runCli(['-c', config, 'status'], TZ);
    expect(status.stdout).toMatch(new RegExp(`next deletion due +${LOCAL.source} \\(in (23h59m\\d+s|1d)\\)`));
    expect(status.stdout).toMatch(new RegExp(`last run +${LOCAL.source} \\(now\\): ok`));
    expect(status.stdout).not.toMatch(/\d\dZ/);
  });
});
