import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { Workspace, runCli, type CliResult } from '../support/cli.js';
import { describeIf } from '../support/dovecot-suite.js';
import { binRunnableAs } from '../support/run-as.js';
import { PASSWORD, uidlsOn } from '../support/fake-pop3.js';
import { loopbackAccount, startServerAndWorkspace, stopServerAndWorkspace } from '../support/server-workspace.js';

/**
 * Issue 12, findings 3 and 4, end to end: the built CLI refuses a config or password file
 * that others can read (with a secret) or write, `check` says so before a run does, and no
 * secret, wherever it comes from, reaches the environment of a delivery command.
 */

let server: DevPop3Server;
let port: number;
let ws: Workspace;

const mail = (n: number): Buffer => Buffer.from(`Subject: m${n}\r\nFrom: a@example.org\r\n\r\nbody ${n}\r\n`);

beforeEach(async () => void ({ server, port, ws } = await startServerAndWorkspace([mail(1), mail(2)])));
afterEach(() => stopServerAndWorkspace(server, ws));

const account = (extra: Record<string, unknown> = {}): Record<string, unknown> => loopbackAccount(port, ws, { retention: '0', ...extra });

/** A config written as a careless user would: then chmod'ed to `mode`. */
function configWithMode(mode: number, config: Record<string, unknown>, name = 'config.json'): string {
  const file = ws.config(config, name);
  chmodSync(file, mode);
  return file;
}

const refusal = (line: string): string => `pinchmail: configuration error: ${line}\n`;

describe('a config file others can read or write', () => {
  it('holding a password and readable by others: fetch and check exit 78 with one line, and nothing is fetched', async () => {
    const config = configWithMode(0o644, { accounts: [account()] });
    const line = `${config}: holds a password (accounts[0].password) and is readable by its group and others (mode 0644); chmod 600 it`;
    for (const args of [[], ['check'], ['check', '--connect'], ['status']]) {
      const run = await runCli(['-c', config, ...args]);
      expect(run.code, args.join(' ')).toBe(78);
      expect(run.stderr).toBe(refusal(line));
      expect(run.stdout).toBe('');
    }
    expect(existsSync(ws.path('Maildir'))).toBe(false);
    expect(uidlsOn(server)).toHaveLength(2);

    chmodSync(config, 0o600);
    const fixed = await runCli(['-c', config]);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(ws.maildir('Maildir')).toHaveLength(2);
  });

  it('readable by its group only: refused too (as mpop does)', async () => {
    const config = configWithMode(0o640, { accounts: [account()] });
    const run = await runCli(['-c', config, 'check']);
    expect(run.code).toBe(78);
    expect(run.stderr).toBe(refusal(`${config}: holds a password (accounts[0].password) and is readable by its group (mode 0640); chmod 600 it`));
  });

  it('without a password it may be read by anyone, but not written: it names the commands pinchmail runs', async () => {
    const env = { POP_PW: PASSWORD };
    const config = configWithMode(0o644, { accounts: [account({ password: { env: 'POP_PW' } })] });
    expect((await runCli(['-c', config, 'check'], env)).code).toBe(0);
    chmodSync(config, 0o666);
    for (const args of [[], ['check']]) {
      const run = await runCli(['-c', config, ...args], env);
      expect(run.code).toBe(78);
      expect(run.stderr).toBe(
        refusal(`${config}: is writable by its group and others (mode 0666): whoever can write it chooses the commands pinchmail runs; chmod go-w it`),
      );
    }
    expect(uidlsOn(server)).toHaveLength(2);
  });

  it('in a directory others can write: refused, since anyone could put another config in its place', async () => {
    const shared = ws.mkdir('shared');
    chmodSync(shared, 0o777);
    const config = path.join(shared, 'config.json');
    writeFileSync(config, JSON.stringify({ database: ws.path('state.sqlite'), accounts: [account({ password: { env: 'POP_PW' } })] }));
    const run = await runCli(['-c', config, 'check'], { POP_PW: PASSWORD });
    expect(run.code).toBe(78);
    expect(run.stderr).toBe(
      refusal(`${config}: its directory ${shared} is writable by its group and others (mode 0777): anyone who can write there can put another file in its place; chmod go-w ${shared}`),
    );
    chmodSync(shared, 0o1777);
    expect((await runCli(['-c', config, 'check'], { POP_PW: PASSWORD })).code).toBe(0);
  });
});

describe('a password file others can read', () => {
  it('check reports it on the account (exit 78), and fetch refuses the account without logging in', async () => {
    const pw = ws.path('pop.pw');
    writeFileSync(pw, `${PASSWORD}\n`, { mode: 0o644 });
    chmodSync(pw, 0o644);
    const config = ws.config({ accounts: [account({ password: { file: pw } })] });
    const problem = `accounts[0].password.file: ${pw}: is readable by its group and others (mode 0644); chmod 600 it`;

    const check = await runCli(['-c', config, 'check']);
    expect(check.code).toBe(78);
    expect(check.stdout).toContain(`  PROBLEM    configuration error: ${problem} (exit 78)`);
    expect(check.stdout).not.toContain(PASSWORD);

    const run = await runCli(['-c', config]);
    expect(run.code).toBe(78);
    expect(run.stderr).toContain(problem);
    expect(run.stderr).not.toContain(PASSWORD);
    expect(uidlsOn(server)).toHaveLength(2);

    chmodSync(pw, 0o600);
    expect((await runCli(['-c', config, 'check'])).code).toBe(0);
  });
});

describe('the environment of a delivery command', () => {
  const dump = (): string => readFileSync(ws.path('env.txt'), 'utf8');
  /** Writes its whole environment, NUL-separated as the kernel holds it, then takes the message. */
  const envDumper = (): Record<string, unknown> => ({ command: `cat /proc/self/environ > '${ws.path('env.txt')}'; env >> '${ws.path('env.txt')}'; cat > /dev/null` });

  const pwFile = (): string => {
    const file = ws.path('pop.pw');
    writeFileSync(file, `${PASSWORD}\n`, { mode: 0o600 });
    return file;
  };

  const sources: [string, () => { config: Record<string, unknown>; env?: NodeJS.ProcessEnv }][] = [
    ['inline', () => ({ config: { accounts: [account({ deliver: envDumper() })] } })],
    ['env', () => ({ config: { accounts: [account({ password: { env: 'POP_PW' }, deliver: envDumper() })] }, env: { POP_PW: PASSWORD } })],
    ['file', () => ({ config: { accounts: [account({ password: { file: pwFile() }, deliver: envDumper() })] } })],
    ['command', () => ({ config: { accounts: [account({ password: { command: ['cat', pwFile()] }, deliver: envDumper() })] } })],
    [
      'an OAuth token from a command (xoauth2)',
      () => ({ config: { accounts: [account({ auth: 'xoauth2', password: { command: ['cat', pwFile()] }, deliver: envDumper() })] } }),
    ],
    [
      'a variable named in "defaults" that every account overrides',
      () => ({ config: { defaults: { password: { env: 'POP_PW' } }, accounts: [account({ deliver: envDumper() })] }, env: { POP_PW: PASSWORD } }),
    ],
    [
      "another account's variable",
      () => ({
        config: {
          accounts: [account({ deliver: envDumper() }), account({ name: 'other', user: 'bob', enabled: false, password: { env: 'OTHER_PW' } })],
        },
        env: { OTHER_PW: PASSWORD },
      }),
    ],
  ];

  it.each(sources)('holds no password from %s, and everything else pinchmail was given', async (_name, make) => {
    const { config, env } = make();
    const run = await runCli(['-c', ws.config(config)], { ...env, KEEP_ME: 'kept' });
    expect(run.code, run.stderr).toBe(0);
    const seen = dump();
    expect(seen).toContain('PINCHMAIL_ACCOUNT=jobs');
    expect(seen).toContain('PINCHMAIL_UIDL=');
    expect(seen).toContain('PINCHMAIL_SIZE=');
    expect(seen).toContain('KEEP_ME=kept');
    expect(seen).not.toContain(PASSWORD);
    expect(seen).not.toContain(Buffer.from(PASSWORD).toString('base64'));
  });
});

const OTHER = 54321;
const STRANGER = 54322;

/** The CLI, where OTHER can run it even from a clone in a private directory. */
const OTHER_BIN = binRunnableAs(OTHER);

/** The CLI run as an unprivileged uid (root runs the tests): what another user of the host sees. */
function runAs(uid: number, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const child = spawn('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, OTHER_BIN, ...args], {
    env: { PATH: process.env.PATH, HOME: ws.dir, LANG: 'C.UTF-8', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

const root = process.getuid?.() === 0;
describeIf('files owned by another user (root: setpriv)', 'tests', root ? null : 'running as another uid needs root', () => {
  it("a config another user owns is refused; one of root's or one's own is used", async () => {
    const home = ws.mkdir('home');
    chmodSync(ws.dir, 0o755);
    const write = (name: string, owner: number): string => {
      const file = path.join(home, name);
      // The Maildir in a directory the user can write: check verifies a run could create it.
      const deliver = { maildir: path.join(home, 'Maildir') };
      writeFileSync(file, JSON.stringify({ database: path.join(home, 'state.sqlite'), accounts: [account({ password: { env: 'POP_PW' }, deliver })] }), { mode: 0o644 });
      chownSync(file, owner, owner);
      return file;
    };
    const env = { POP_PW: PASSWORD };

    chownSync(home, OTHER, OTHER);
    const theirs = write('theirs.json', STRANGER);
    const run = await runAs(OTHER, ['-c', theirs, 'check'], env);
    expect(run.code).toBe(78);
    expect(run.stderr).toBe(
      refusal(`${theirs}: is owned by uid ${STRANGER}, not by you (uid ${OTHER}) or root: its owner chooses the commands pinchmail runs; use a file of your own`),
    );
    const own = await runAs(OTHER, ['-c', write('own.json', OTHER), 'check'], env);
    expect(own.code, own.stdout + own.stderr).toBe(0);
    // Root can change any file anyway: a system-wide config root keeps is trusted.
    const roots = await runAs(OTHER, ['-c', write('root.json', 0), 'check'], env);
    expect(roots.code, roots.stdout + roots.stderr).toBe(0);

    // The directory counts as well: its owner could put another file in the config's place.
    mkdirSync(path.join(home, 'strange'));
    chownSync(path.join(home, 'strange'), STRANGER, STRANGER);
    const inStrange = path.join(home, 'strange', 'config.json');
    writeFileSync(inStrange, readFileSync(path.join(home, 'own.json')));
    chownSync(inStrange, OTHER, OTHER);
    const strange = await runAs(OTHER, ['-c', inStrange, 'check'], env);
    expect(strange.code).toBe(78);
    expect(strange.stderr).toContain(`its directory ${path.join(home, 'strange')} is owned by uid ${STRANGER}, not by you (uid ${OTHER}) or root`);
  });

  it('a password file another user owns is refused, even one only its owner can read', async () => {
    const home = ws.mkdir('home');
    chmodSync(ws.dir, 0o755);
    chownSync(home, OTHER, OTHER);
    const pw = path.join(home, 'pop.pw');
    writeFileSync(pw, `${PASSWORD}\n`, { mode: 0o600 });
    chownSync(pw, STRANGER, STRANGER);
    chmodSync(pw, 0o604);
    const config = path.join(home, 'config.json');
    writeFileSync(config, JSON.stringify({ database: path.join(home, 'state.sqlite'), accounts: [account({ password: { file: pw } })] }), { mode: 0o600 });
    chownSync(config, OTHER, OTHER);
    const run = await runAs(OTHER, ['-c', config, 'check']);
    expect(run.code).toBe(78);
    expect(run.stdout).toContain(`accounts[0].password.file: ${pw}: is owned by uid ${STRANGER}, not by you (uid ${OTHER}) or root`);
  });
});

/** Can this machine set POSIX ACLs where the workspace lives? null when it can. */
function aclsUnavailable(): string | null {
  if (spawnSync('setfacl', ['--version']).status !== 0) return 'setfacl (Debian package acl) is not installed';
  const probe = path.join(os.tmpdir(), `pm-acl-probe-${process.pid}`);
  writeFileSync(probe, '');
  try {
    const set = spawnSync('setfacl', ['-m', 'u:61002:r', probe], { encoding: 'utf8' });
    return set.status === 0 ? null : `the file system of ${os.tmpdir()} takes no ACLs: ${set.stderr.trim()}`;
  } finally {
    rmSync(probe, { force: true });
  }
}

const setfacl = (...args: string[]): void => {
  const set = spawnSync('setfacl', args, { encoding: 'utf8' });
  expect(set.status, set.stderr).toBe(0);
};

describeIf('access another user is given by a POSIX ACL', 'tests', aclsUnavailable(), () => {
  // The group bits of a file with an ACL are its mask, the most any named user or group
  // gets: access granted by an ACL shows there, and is refused as the group's would be.
  it('a config (0600) holding a password, readable by another uid through an ACL: refused, and chmod 600 is the cure', async () => {
    const config = configWithMode(0o600, { accounts: [account()] });
    setfacl('-m', 'u:61002:r', config);
    const run = await runCli(['-c', config, 'check']);
    expect(run.code).toBe(78);
    expect(run.stderr).toBe(refusal(`${config}: holds a password (accounts[0].password) and is readable by its group (mode 0640); chmod 600 it`));
    chmodSync(config, 0o600);
    expect((await runCli(['-c', config, 'check'])).code).toBe(0);
  });

  it('a state directory (0700) another uid may write through an ACL: exit 78 naming it, nothing fetched', async () => {
    const state = ws.mkdir('state');
    chmodSync(state, 0o700);
    setfacl('-m', 'u:61002:rwx', state);
    const config = configWithMode(0o600, { database: path.join(state, 'state.sqlite'), accounts: [account()] });
    const run = await runCli(['-c', config]);
    expect(run.code, run.stderr).toBe(78);
    expect(run.stderr).toContain(`${state}: writable by its group (mode 0770)`);
    expect(uidlsOn(server)).toHaveLength(2);
    expect(existsSync(path.join(state, 'state.sqlite'))).toBe(false);
  });
});
