import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { Workspace, runCli } from '../support/cli.js';
import { PASSWORD, USER, fakeServer, uidlsOn } from '../support/fake-pop3.js';
import { crlfToLf } from '../support/corpus.js';

/**
 * Issue 13: a failure that will not fix itself (a deliver command that is not there,
 * a Maildir under a directory that does not exist, an MDA saying "no such user") is
 * not "try again later": it exits 78 (the target cannot work as configured) or 73 (the
 * MDA refused the message for good), `check` flags it, and N identical failures are
 * one line and a count. The messages stay on the server either way.
 */

const COUNT = 5;
let server: DevPop3Server;
let port: number;
let ws: Workspace;

/** Log lines as JSON, whatever the default off a terminal is. */
const ENV = { PINCHMAIL_LOG: 'json' };

const mail = (i: number): Buffer => Buffer.from(`Subject: job-${i}\r\nFrom: a@example.org\r\n\r\nbody ${'x'.repeat(i * 10)}\r\n`);

beforeEach(async () => {
  server = fakeServer(Array.from({ length: COUNT }, (_, i) => mail(i)));
  ({ port } = await server.listen('plain'));
  ws = new Workspace();
});

afterEach(async () => {
  await server.close();
  ws.remove();
});

function config(deliver: Record<string, unknown>): string {
  return ws.config({ accounts: [{ name: 'jobs', host: '127.0.0.1', port, tls: 'none', user: USER, password: PASSWORD, retention: '0', deliver }] });
}

interface LogLine {
  level: number;
  msg: string;
}

function logLines(stderr: string): LogLine[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

/** Lines about messages (not the account's one summary line at the end). */
function messageErrors(stderr: string): string[] {
  return logLines(stderr)
    .filter((l) => l.level >= 50 && !l.msg.startsWith('jobs') && !/FAILED \(left on the server/.test(l.msg))
    .map((l) => l.msg);
}

const onServer = (): string[] => uidlsOn(server);

describe('a deliver command that does not exist', () => {
  it('check exits 78 and names the path (argv command)', async () => {
    const file = config({ command: ['/usr/bin/procmal', '-d', 'jobs'] });
    const run = await runCli(['-c', file, 'check'], ENV);
    expect(run.code, run.stdout + run.stderr).toBe(78);
    expect(run.stdout).toContain('/usr/bin/procmal');
    expect(run.stdout).toMatch(/PROBLEM .*\/usr\/bin\/procmal.*not found/);
  });

  it('check exits 78 and names the path (shell command)', async () => {
    const file = config({ command: '/usr/bin/procmal -d jobs' });
    const run = await runCli(['-c', file, 'check', '--json'], ENV);
    expect(run.code, run.stdout + run.stderr).toBe(78);
    const doc = JSON.parse(run.stdout) as { valid: boolean; accounts: { exitCode: number; error: string; targets: { ok: boolean; problem: string | null }[] }[] };
    expect(doc.valid).toBe(false);
    expect(doc.accounts[0]!.exitCode).toBe(78);
    expect(doc.accounts[0]!.error).toContain('/usr/bin/procmal');
    expect(doc.accounts[0]!.targets[0]).toMatchObject({ ok: false });
  });

  it('check says a shell command it cannot check cannot be checked, and passes', async () => {
    const file = config({ command: 'FOO=1 cat > /dev/null' });
    const run = await runCli(['-c', file, 'check'], ENV);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/cannot be checked/);
  });

  it('check passes a command found on PATH', async () => {
    const file = config({ command: ['cat'] });
    const run = await runCli(['-c', file, 'check'], ENV);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/found at \/.*cat/);
  });

  it.each([
    ['argv', ['/usr/bin/procmal', '-d', 'jobs']],
    ['shell', '/usr/bin/procmal -d jobs'],
  ])('fetch (%s command) exits 78, keeps every message, logs one ERROR line and one summary', async (_kind, command) => {
    const run = await runCli(['-c', config({ command }), '--json'], ENV);
    expect(run.code, run.stderr).toBe(78);
    expect(onServer()).toHaveLength(COUNT);
    const doc = JSON.parse(run.stdout) as { accounts: { failed: number; fetch: { outcome: string; error: string }[] }[] };
    expect(doc.accounts[0]!.failed).toBe(COUNT);
    // Per message in the report, still.
    expect(doc.accounts[0]!.fetch.filter((f) => f.outcome === 'failed')).toHaveLength(COUNT);
    const errors = messageErrors(run.stderr);
    expect(errors, run.stderr).toHaveLength(2);
    expect(errors[0]).toMatch(/\/usr\/bin\/procmal/);
    expect(errors[0]).toMatch(/not found/);
    expect(errors[1]).toMatch(new RegExp(`and ${COUNT - 1} more messages failed the same way`));
    // No separate "delivery command said" line for a failed delivery: it is in the failure line.
    expect(logLines(run.stderr).filter((l) => l.msg.startsWith('delivery command said'))).toEqual([]);
  });
});

describe('what an MDA says with its exit status', () => {
  it('67 (EX_NOUSER) is permanent: exit 73, messages kept', async () => {
    const run = await runCli(['-c', config({ command: 'cat > /dev/null; echo "no such user: jobs" >&2; exit 67' })], ENV);
    expect(run.code, run.stderr).toBe(73);
    expect(onServer()).toHaveLength(COUNT);
    const errors = messageErrors(run.stderr);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/exited with status 67 \(EX_NOUSER, a permanent failure\)/);
    expect(errors[0]).toMatch(/no such user: jobs/);
    expect(errors[0]).toMatch(/will not fix itself|permanent/);
    expect(logLines(run.stderr).filter((l) => l.msg.startsWith('delivery command said'))).toEqual([]);
  });

  it('75 (EX_TEMPFAIL) is temporary: exit 75, messages kept', async () => {
    const run = await runCli(['-c', config({ command: 'cat > /dev/null; exit 75' })], ENV);
    expect(run.code, run.stderr).toBe(75);
    expect(onServer()).toHaveLength(COUNT);
    expect(messageErrors(run.stderr)).toHaveLength(2);
  });

  it('failures that differ are each logged', async () => {
    const run = await runCli(['-c', config({ command: 'cat > /dev/null; echo "quota of $PINCHMAIL_SIZE" >&2; exit 75' })], ENV);
    expect(run.code).toBe(75);
    // Every message has a size of its own, so each failure says something else.
    expect(messageErrors(run.stderr)).toHaveLength(COUNT);
  });

  it('a permanent status goes to onFailure at once, in the same run, without waiting for its "after" runs', async () => {
    const file = ws.config({
      accounts: [
        {
          name: 'jobs', host: '127.0.0.1', port, tls: 'none', user: USER, password: PASSWORD, retention: '0',
          deliver: { command: 's=$(sed -n 1p); cat > /dev/null; test "$s" != "Subject: job-2" || exit 65' },
          onFailure: { after: 5, deliver: { maildir: ws.path('quarantine') } },
        },
      ],
    });
    const uidls = onServer();
    const run = await runCli(['-c', file, '--json'], ENV);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).accounts[0]).toMatchObject({ delivered: COUNT, failed: 0, deleted: COUNT });
    expect(ws.maildir('quarantine')).toEqual([crlfToLf(mail(2))]);
    const job2 = uidls[2]!;
    expect(logLines(run.stderr).map((l) => l.msg)).toContainEqual(expect.stringMatching(new RegExp(`^message ${job2} refused for good`)));
    expect(logLines(run.stderr).map((l) => l.msg)).toContainEqual(expect.stringMatching(/refused for good \(.*exited with status 65 \(EX_DATAERR, a permanent failure\)\); it goes to accounts\[0\]\.onFailure now$/));
  });

  it('"exitCodes": a status listed as "drop" counts the message as dropped (it ages out); one listed as "permanent" is permanent', async () => {
    const filter = 's=$(sed -n 1p); cat > /dev/null; case "$s" in *job-1) exit 99;; *job-3) exit 3;; esac';
    const uidls = onServer();
    const run = await runCli(['-c', config({ command: filter, exitCodes: { drop: [99], permanent: [3] } }), '--json', '-v'], ENV);
    expect(run.code, run.stderr).toBe(73);
    expect(JSON.parse(run.stdout).accounts[0]).toMatchObject({ delivered: COUNT - 1, dropped: 1, failed: 1, deleted: COUNT - 1 });
    expect(onServer()).toEqual([uidls[3]]);
    expect(messageErrors(run.stderr)).toEqual([expect.stringMatching(new RegExp(`^message ${uidls[3]} not delivered: command ".*" exited with status 3 \\(a permanent failure\\);`))]);
    expect(logLines(run.stderr).map((l) => l.msg)).toContainEqual(expect.stringMatching(new RegExp(`^dropped ${uidls[1]}: command`)));
    expect(logLines(run.stderr).map((l) => l.msg)).toContainEqual(expect.stringMatching(/^dropped \S+: command ".*", discarded: command ".*" exited with status 99, which its exitCodes.drop lists$/));
  });

  it('a status listed as "drop" never drops mail when /bin/sh says the program is not there (127): that is unusable, exit 78', async () => {
    const run = await runCli(['-c', config({ command: 'no-such-program-pinchmail', exitCodes: { drop: [127] } }), '--json'], ENV);
    expect(run.code, run.stderr).toBe(78);
    expect(JSON.parse(run.stdout).accounts[0]).toMatchObject({ delivered: 0, dropped: 0 });
    expect(onServer()).toHaveLength(COUNT);
  });

  it('a route target that took the message is not given it again when the quarantine is the same target', async () => {
    const inbox = { maildir: ws.path('inbox') };
    const file = ws.config({
      accounts: [
        {
          name: 'jobs', host: '127.0.0.1', port, tls: 'none', user: USER, password: PASSWORD, retention: '0',
          route: [{ match: 'all', deliver: inbox, continue: true }],
          deliver: { command: 'cat > /dev/null; exit 65' },
          onFailure: { after: 5, deliver: inbox },
        },
      ],
    });
    const run = await runCli(['-c', file], ENV);
    expect(run.code, run.stderr).toBe(0);
    expect(ws.maildir('inbox')).toEqual(Array.from({ length: COUNT }, (_, i) => crlfToLf(mail(i))).sort(Buffer.compare));
  });

  it('"exitCodes" that list 0 or 75, or one status twice, are config errors naming the key', async () => {
    const bad = [
      [{ permanent: [75] }, 'accounts[0].deliver.exitCodes.permanent: status 75 (EX_TEMPFAIL) always means "try again later"'],
      [{ drop: [0] }, 'accounts[0].deliver.exitCodes.drop[0]: expected an integer from 1 to 255, got 0'],
      [{ drop: [9], permanent: [9] }, 'accounts[0].deliver.exitCodes: status 9 is both "permanent" and "drop"'],
    ] as const;
    for (const [exitCodes, line] of bad) {
      const run = await runCli(['-c', config({ command: 'cat', exitCodes })], ENV);
      expect(run.code).toBe(78);
      expect(run.stderr).toContain(line);
    }
    expect(onServer()).toHaveLength(COUNT);
  });

  it('a failure naming the UIDL counts as the same failure', async () => {
    const run = await runCli(['-c', config({ command: 'cat > /dev/null; echo "cannot take $PINCHMAIL_UIDL" >&2; exit 75' })], ENV);
    expect(run.code).toBe(75);
    expect(messageErrors(run.stderr)).toHaveLength(2);
  });
});

describe('a Maildir under a directory that does not exist', () => {
  it('check flags it (exit 78) and a fetch fails it permanently, creating nothing', async () => {
    const dir = ws.path('Mial', 'jobs');
    const file = config({ maildir: dir });
    const check = await runCli(['-c', file, 'check'], ENV);
    expect(check.code, check.stdout).toBe(78);
    expect(check.stdout).toMatch(new RegExp(`PROBLEM .*${ws.path('Mial')}.*does not exist`));

    const run = await runCli(['-c', file], ENV);
    expect(run.code, run.stderr).toBe(78);
    expect(onServer()).toHaveLength(COUNT);
    expect(existsSync(ws.path('Mial'))).toBe(false);
    const errors = messageErrors(run.stderr);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toContain(ws.path('Mial'));
  });

  it('a Maildir whose parent exists: check says it will be created, and a fetch creates it', async () => {
    const file = config({ maildir: ws.path('Maildir') });
    const check = await runCli(['-c', file, 'check'], ENV);
    expect(check.code, check.stdout).toBe(0);
    expect(check.stdout).toMatch(/does not exist yet/);
    const run = await runCli(['-c', file], ENV);
    expect(run.code, run.stderr).toBe(0);
    expect(ws.maildir('Maildir')).toHaveLength(COUNT);
  });
});
