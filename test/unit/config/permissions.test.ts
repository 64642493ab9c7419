import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { loadConfig } from '../../../src/config/load.js';
import { resolveSecret } from '../../../src/config/secrets.js';
import { describeIf } from '../../support/dovecot-suite.js';

/**
 * Issue 12, findings 3 and 4: a config or password file others can read (when it holds a
 * secret) or write (always) is refused, as mpop and fetchmail refuse theirs.
 */

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pinchmail-perm-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const account = { name: 'jobs', host: 'pop.example.org', user: 'jobs', deliver: { maildir: '~/Mail' } };

function write(name: string, content: unknown, mode: number, at = dir): string {
  const file = path.join(at, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  chmodSync(file, mode);
  return file;
}

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error('no error');
}

async function secretProblem(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return (err as ConfigError).message;
}

describe('a config file that holds a password', () => {
  const inline = { accounts: [{ ...account, password: 'hunter2' }] };

  it('is used when only its owner can read it', () => {
    expect(loadConfig(write('c.json', inline, 0o600)).accounts).toHaveLength(1);
    expect(loadConfig(write('r.json', inline, 0o400)).accounts).toHaveLength(1);
  });

  it('is refused when its group or others can read it, naming the file, the setting, the mode and the fix', () => {
    const file = write('c.json', inline, 0o644);
    expect(problem(() => loadConfig(file))).toBe(`${file}: holds a password (accounts[0].password) and is readable by its group and others (mode 0644); chmod 600 it`);
    chmodSync(file, 0o640);
    expect(problem(() => loadConfig(file))).toBe(`${file}: holds a password (accounts[0].password) and is readable by its group (mode 0640); chmod 600 it`);
    chmodSync(file, 0o604);
    expect(problem(() => loadConfig(file))).toBe(`${file}: holds a password (accounts[0].password) and is readable by others (mode 0604); chmod 600 it`);
  });

  it('counts a password in "defaults", even one every account overrides', () => {
    const file = write('c.json', { defaults: { password: 'hunter2' }, accounts: [{ ...account, password: { env: 'PW' } }] }, 0o644);
    expect(problem(() => loadConfig(file))).toBe(`${file}: holds a password (defaults.password) and is readable by its group and others (mode 0644); chmod 600 it`);
  });

  it('counts an SMTP relay password, in a route rule or in "defaults" too', () => {
    const relay = (password: unknown) => ({ smtp: 'relay.example.com:587', to: 'jobs@example.com', auth: { user: 'relay', password } });
    const inRoute = { accounts: [{ ...account, password: { env: 'PW' }, deliver: undefined, route: [{ match: 'all', deliver: relay('hunter2') }] }] };
    const file = write('c.json', inRoute, 0o644);
    expect(problem(() => loadConfig(file))).toBe(`${file}: holds a password (accounts[0].route[0].deliver.auth.password) and is readable by its group and others (mode 0644); chmod 600 it`);
    const inDefaults = write('d.json', { defaults: { deliver: relay('hunter2') }, accounts: [{ ...account, password: { env: 'PW' }, deliver: { maildir: '/m' } }] }, 0o644);
    expect(problem(() => loadConfig(inDefaults))).toBe(`${inDefaults}: holds a password (defaults.deliver.auth.password) and is readable by its group and others (mode 0644); chmod 600 it`);
    const fromEnv = loadConfig(write('e.json', { accounts: [{ ...account, password: { env: 'PW' }, deliver: relay({ env: 'RELAY_PW' }) }] }, 0o644));
    expect(fromEnv.secretEnv).toEqual(['PW', 'RELAY_PW']);
  });

  it('never shows the password in the error', () => {
    expect(problem(() => loadConfig(write('c.json', inline, 0o644)))).not.toContain('hunter2');
  });
});

describe('a config file without a password', () => {
  const fromEnv = { accounts: [{ ...account, password: { env: 'PW' } }] };

  it('may be readable by anyone', () => {
    expect(loadConfig(write('c.json', fromEnv, 0o644)).accounts).toHaveLength(1);
  });

  it('is refused when its group or others can write it: it names the commands pinchmail runs', () => {
    const file = write('c.json', fromEnv, 0o664);
    expect(problem(() => loadConfig(file))).toBe(`${file}: is writable by its group (mode 0664): whoever can write it chooses the commands pinchmail runs; chmod go-w it`);
    chmodSync(file, 0o646);
    expect(problem(() => loadConfig(file))).toBe(`${file}: is writable by others (mode 0646): whoever can write it chooses the commands pinchmail runs; chmod go-w it`);
    chmodSync(file, 0o666);
    expect(problem(() => loadConfig(file))).toBe(`${file}: is writable by its group and others (mode 0666): whoever can write it chooses the commands pinchmail runs; chmod go-w it`);
  });

  it('is refused in a directory others can write (they could put another file in its place), unless the directory is sticky', () => {
    const shared = path.join(dir, 'shared');
    mkdirSync(shared);
    const file = write('c.json', fromEnv, 0o644, shared);
    chmodSync(shared, 0o777);
    expect(problem(() => loadConfig(file))).toBe(
      `${file}: its directory ${shared} is writable by its group and others (mode 0777): anyone who can write there can put another file in its place; chmod go-w ${shared}`,
    );
    chmodSync(shared, 0o775);
    expect(problem(() => loadConfig(file))).toContain(`its directory ${shared} is writable by its group (mode 0775)`);
    // Like /tmp: others may add files, but not rename or remove this one.
    chmodSync(shared, 0o1777);
    expect(loadConfig(file).accounts).toHaveLength(1);
  });

  it('reached through a symlink: the file read and both directories are checked', () => {
    const shared = path.join(dir, 'shared');
    mkdirSync(shared);
    const real = write('c.json', fromEnv, 0o644, shared);
    chmodSync(shared, 0o777);
    const link = path.join(dir, 'link.json');
    symlinkSync(real, link);
    expect(problem(() => loadConfig(link))).toContain(`${link}: its directory ${shared} is writable`);
    chmodSync(shared, 0o755);
    chmodSync(real, 0o666);
    expect(problem(() => loadConfig(link))).toContain(`${link}: is writable by its group and others (mode 0666)`);
    chmodSync(real, 0o644);
    expect(loadConfig(link).accounts).toHaveLength(1);
  });
});

describe('a password file', () => {
  const at = 'accounts[0].password';

  it('is read when only its owner can read it', async () => {
    const pw = write('pw', 'hunter2\n', 0o600);
    await expect(resolveSecret({ file: pw }, at)).resolves.toBe('hunter2');
  });

  it('is refused when its group or others can read or write it', async () => {
    const pw = write('pw', 'hunter2\n', 0o644);
    expect(await secretProblem(resolveSecret({ file: pw }, at))).toBe(`${at}.file: ${pw}: is readable by its group and others (mode 0644); chmod 600 it`);
    chmodSync(pw, 0o640);
    expect(await secretProblem(resolveSecret({ file: pw }, at))).toBe(`${at}.file: ${pw}: is readable by its group (mode 0640); chmod 600 it`);
    chmodSync(pw, 0o602);
    expect(await secretProblem(resolveSecret({ file: pw }, at))).toBe(`${at}.file: ${pw}: is writable by others (mode 0602); chmod 600 it`);
    expect(await secretProblem(resolveSecret({ file: pw }, at))).not.toContain('hunter2');
  });

  it('is refused in a directory others can write', async () => {
    const shared = path.join(dir, 'shared');
    mkdirSync(shared);
    const pw = write('pw', 'hunter2\n', 0o600, shared);
    chmodSync(shared, 0o757);
    expect(await secretProblem(resolveSecret({ file: pw }, at))).toBe(
      `${at}.file: ${pw}: its directory ${shared} is writable by others (mode 0757): anyone who can write there can put another file in its place; chmod go-w ${shared}`,
    );
  });
});

const root = process.getuid?.() === 0;
describeIf('files owned by someone else (root: chown)', 'tests', root ? null : 'chown to another uid needs root', () => {
  const OTHER = 54321;

  it('a config file another user owns is refused, with or without a password: they could rewrite it', () => {
    const file = write('c.json', { accounts: [{ ...account, password: { env: 'PW' } }] }, 0o644);
    chownSync(file, OTHER, OTHER);
    expect(problem(() => loadConfig(file))).toBe(
      `${file}: is owned by uid ${OTHER}, not by you (uid 0): its owner chooses the commands pinchmail runs; use a file of your own`,
    );
  });

  it('a config file in a directory another user owns is refused', () => {
    const theirs = path.join(dir, 'theirs');
    mkdirSync(theirs, { mode: 0o755 });
    const file = write('c.json', { accounts: [{ ...account, password: { env: 'PW' } }] }, 0o644, theirs);
    chownSync(theirs, OTHER, OTHER);
    expect(problem(() => loadConfig(file))).toBe(
      `${file}: its directory ${theirs} is owned by uid ${OTHER}, not by you (uid 0): its owner can put another file in its place; use a directory of your own`,
    );
  });

  it('a password file another user owns is refused', async () => {
    const pw = write('pw', 'hunter2\n', 0o600);
    chownSync(pw, OTHER, OTHER);
    expect(await secretProblem(resolveSecret({ file: pw }, 'accounts[0].password'))).toBe(
      `accounts[0].password.file: ${pw}: is owned by uid ${OTHER}, not by you (uid 0): its owner can read and change it; use a file of your own`,
    );
  });
});

describe('a FIFO in the place of a config or password file', () => {
  it('is refused at once, not waited on', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const { loadConfig } = await import('../../../src/config/load.js');
    const { resolveSecret } = await import('../../../src/config/secrets.js');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-fifo-'));
    try {
      const fifo = path.join(dir, 'pw');
      execFileSync('mkfifo', ['-m', '600', fifo]);
      expect(() => loadConfig(fifo)).toThrow('it is not a regular file');
      await expect(resolveSecret({ file: fifo }, 'accounts[0].password')).rejects.toThrow('is not a regular file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
