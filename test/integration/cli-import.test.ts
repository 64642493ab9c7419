import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Workspace, runCli } from '../support/cli.js';
import { PASSWORD, USER, fakeServer } from '../support/fake-pop3.js';

let ws: Workspace;
beforeEach(() => void (ws = new Workspace()));
afterEach(() => ws.remove());

/** An operator whose home is the workspace. */
const home = (): NodeJS.ProcessEnv => ({ HOME: ws.dir, XDG_CONFIG_HOME: '', XDG_STATE_HOME: '', PINCHMAIL_CONFIG: '' });
const configPath = (): string => ws.path('.config', 'pinchmail', 'config.json');
const writeRc = (file: string, lines: string[]): void => {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${lines.join('\n')}\n`);
  chmodSync(file, 0o600);
};
const sha256 = Array.from({ length: 32 }, (_, i) => (i * 5).toString(16).padStart(2, '0').toUpperCase()).join(':');

describe('pinchmail import mpop on the mpoprc files operators have', () => {
  it('imports every account it can and leaves out only the ones it cannot, each with the reason', async () => {
    writeRc(ws.path('.mpoprc'), [
      'defaults',
      'tls on',
      'delivery maildir ~/Mail',
      // mpop's own example: a second name for one mailbox.
      'account freemail',
      'host pop.freemail.example',
      'user joe',
      'passwordeval "echo from-eval"',
      'keep on',
      'account default : freemail',
      // No password: mpop asks a key ring or the terminal.
      'account asks',
      'host pop.example.net',
      'user asks',
      'account pinned',
      'host pop.example.net',
      'user pinned',
      'password pw-pinned',
      `tls_fingerprint ${sha256}`,
      'account plain',
      'host pop.example.net',
      'user plain',
      'password pw-plain',
      'tls off',
      'auth user',
      // It keeps mail, but mpop's UIDLs file for it is not where the mpoprc says.
      'account keeper',
      'host pop.example.net',
      'user keeper',
      'password pw-keeper',
      'keep on',
      'uidls_file ~/elsewhere/keeper',
    ]);
    mkdirSync(ws.path('.mpop_uidls'));
    writeFileSync(ws.path('.mpop_uidls', 'joe_at_pop.freemail.example'), ' 2 pop.freemail.example joe\nuidl-1 1764000000\nuidl-2 1764003600\n');

    const r = await runCli(['import', 'mpop'], home());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const config = JSON.parse(readFileSync(configPath(), 'utf8')) as { accounts: Record<string, unknown>[] };
    expect(config.accounts.map((a) => a.name)).toEqual(['freemail', 'asks', 'pinned', 'plain']);
    expect(config.accounts[1]!.password).toEqual({ env: 'PINCHMAIL_PASSWORD_ASKS' });
    expect(config.accounts[2]!.tlsOptions).toEqual({ fingerprint: `sha256:${sha256}` });
    expect(config.accounts[3]).toMatchObject({ tls: 'none', allowPlaintext: true, auth: 'user' });
    // Both names of the one mailbox count its UIDLs once.
    expect(r.stdout).toContain(`account freemail and default: 2 UIDLs from ${ws.path('.mpop_uidls', 'joe_at_pop.freemail.example')} count as delivered\n`);
    expect(r.stdout).toContain('account default: left out of the config, as it polls the same mailbox as account freemail, which pinchmail polls once (its UIDLs are merged into it)');
    expect(r.stdout).toContain(`account keeper: left out of the config, as it keeps mail on the server but ${ws.path('elsewhere', 'keeper')} is not there`);
    expect(r.stdout).toContain('account asks: mpop asks a key ring, ~/.netrc or the terminal for its password; pinchmail asks nobody: set PINCHMAIL_PASSWORD_ASKS');
    expect(r.stdout).not.toContain('pw-');
    expect(existsSync(ws.path('.config', 'pinchmail', 'keeper.password'))).toBe(false);

    const check = await runCli(['check'], { ...home(), PINCHMAIL_PASSWORD_ASKS: 'x' });
    expect(check.stderr).toBe('');
    expect(check.code, check.stdout).toBe(0);
  });

  it('with --all-new, takes an account with no UIDLs file as having delivered nothing', async () => {
    writeRc(ws.path('.mpoprc'), ['account keeper', 'host pop.example.net', 'user keeper', 'password pw', 'keep on', 'delivery maildir ~/Mail']);
    const refused = await runCli(['import', 'mpop'], home());
    expect(refused.code).toBe(78);
    expect(refused.stderr).toMatch(/^pinchmail: .*\.mpoprc: no account pinchmail can import \(keeper: it keeps mail on the server but .* is not there/);
    expect(existsSync(configPath())).toBe(false);

    const r = await runCli(['import', 'mpop', '--all-new'], home());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`account keeper: no UIDLs recorded, as ${ws.path('.mpop_uidls', 'keeper_at_pop.example.net')} is not there: every message on the server is new to pinchmail`);
  });

  it('reads $XDG_CONFIG_HOME/mpop/config when there is no ~/.mpoprc, as mpop does', async () => {
    const rc = ws.path('xdg', 'mpop', 'config');
    writeRc(rc, ['account a', 'host pop.example.net', 'user a', 'password pw', 'delivery maildir ~/Mail']);
    const r = await runCli(['import', 'mpop', '-c', ws.path('pinchmail.json')], { ...home(), XDG_CONFIG_HOME: ws.path('xdg') });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`from ${rc} (a)`);
  });

  it('writes nothing, not even the state, when one of the files it would write is there already', async () => {
    writeRc(ws.path('.mpoprc'), ['account a', 'host pop.example.net', 'user a', 'password pw', 'keep on', 'delivery maildir ~/Mail']);
    mkdirSync(ws.path('.mpop_uidls'));
    writeFileSync(ws.path('.mpop_uidls', 'a_at_pop.example.net'), ' 1 pop.example.net a\nu1\n');
    const passwordFile = ws.path('.config', 'pinchmail', 'a.password');
    mkdirSync(path.dirname(passwordFile), { recursive: true });
    writeFileSync(passwordFile, 'older\n');

    const r = await runCli(['import', 'mpop'], home());
    expect(r.stderr).toBe(`pinchmail: ${passwordFile} exists; pass --force to overwrite it\n`);
    expect(r.code).toBe(73);
    expect(existsSync(configPath())).toBe(false);
    expect(existsSync(ws.path('.local', 'state', 'pinchmail', 'state.sqlite'))).toBe(false);
    expect(readFileSync(passwordFile, 'utf8')).toBe('older\n');
  });
});

describe('pinchmail import fetchmail', () => {
  it("matches .fetchids to each user case-blind, and leaves out one that keeps mail but has no line there", async () => {
    const rc = ws.path('.fetchmailrc');
    writeRc(rc, ['poll pop.example.net proto pop3', '  user Jobs password pw-jobs keep mda "procmail -d %T" is op here', 'poll other.example.net proto pop3', '  user nobody-seen password pw-other keep mda "procmail -d %T" is op here']);
    writeFileSync(ws.path('.fetchids'), 'jobs@POP.example.net u1\njobs@pop.example.net u2\n');
    const r = await runCli(['import', 'fetchmail'], home());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`account pop.example.net: 2 UIDLs from ${ws.path('.fetchids')} count as delivered`);
    expect(r.stdout).toContain(`account other.example.net: left out of the config, as it keeps mail on the server but ${ws.path('.fetchids')} has no line for nobody-seen@other.example.net`);
    expect(JSON.parse(readFileSync(configPath(), 'utf8')).accounts).toMatchObject([{ name: 'pop.example.net', deliver: { command: "procmail -d 'op'" } }]);
    expect(r.stdout).not.toContain('pw-');
  });

  it('reads $FETCHMAILHOME/fetchmailrc and its .fetchids when FETCHMAILHOME is set, as fetchmail does', async () => {
    const dir = ws.mkdir('fmhome');
    writeRc(path.join(dir, 'fetchmailrc'), ['poll pop.example.net proto pop3 user u password pw keep mda cat']);
    writeFileSync(path.join(dir, '.fetchids'), 'u@pop.example.net a\n');
    const r = await runCli(['import', 'fetchmail'], { ...home(), FETCHMAILHOME: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`account pop.example.net: 1 UIDL from ${path.join(dir, '.fetchids')} count as delivered`);
  });
});

describe('pinchmail import writes nothing it cannot stand behind', () => {
  const rc = ['account a', 'host pop.example.net', 'user a', 'password pw-a', 'keep on', 'delivery maildir ~/Mail'];
  const stateFile = (): string => ws.path('.local', 'state', 'pinchmail', 'state.sqlite');
  const uidls = (): void => {
    mkdirSync(ws.path('.mpop_uidls'), { recursive: true });
    writeFileSync(ws.path('.mpop_uidls', 'a_at_pop.example.net'), ' 1 pop.example.net a\nu1\n');
  };

  it('refuses a symlink where the config goes, dangling or not, with --force too, before the state is touched', async () => {
    writeRc(ws.path('.mpoprc'), rc);
    uidls();
    mkdirSync(path.dirname(configPath()), { recursive: true });
    symlinkSync(ws.path('nowhere'), configPath());
    for (const args of [[], ['--force']]) {
      const r = await runCli(['import', 'mpop', ...args], home());
      expect(r.code).toBe(78);
      expect(r.stderr).toBe(`pinchmail: configuration error: ${configPath()} is a symbolic link; pinchmail does not write through one: remove it, or import to another file with -c\n`);
    }
    expect(existsSync(stateFile())).toBe(false);
    expect(existsSync(ws.path('nowhere'))).toBe(false);
  });

  it('refuses a config directory others can write to before anything is written, as a run would refuse the config there', async () => {
    writeRc(ws.path('.mpoprc'), rc);
    uidls();
    const open = ws.mkdir('open');
    chmodSync(open, 0o777);
    const r = await runCli(['import', 'mpop', '-c', path.join(open, 'config.json')], home());
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/: its directory .*open is writable by its group and others \(mode 0777\)/);
    expect(existsSync(stateFile())).toBe(false);
    expect(existsSync(path.join(open, 'config.json'))).toBe(false);
  });

  it('refuses a fetchmailrc fetchmail itself refuses, naming the line, and writes nothing', async () => {
    writeRc(ws.path('.fetchmailrc'), ['defaults keep', 'poll pop.example.net proto pop3 user u password pw-u keep proto pop3 mda cat']);
    const r = await runCli(['import', 'fetchmail'], home());
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/^pinchmail: configuration error: fetchmail refuses this file, and so does the import: .*\.fetchmailrc:2: proto: a server option after user options: a syntax error, at which fetchmail refuses the whole file; fix it/);
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(existsSync(configPath())).toBe(false);
  });

  it('writes the state database it filled into the config, so a run reads that one', async () => {
    writeRc(ws.path('.mpoprc'), rc);
    uidls();
    const r = await runCli(['import', 'mpop'], home());
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(configPath(), 'utf8')).database).toBe(stateFile());
  });
});

describe('pinchmail import getmail', () => {
  it('finds the messages whose UIDL getmail wrote with "-" for "/", so none is delivered again', async () => {
    // UIDLs as a server with base64-like ones lists them; getmail writes each "/" as "-" in its oldmail file.
    const server = fakeServer();
    for (const [uidl, n] of [['UID-1', 1], ['UID/2', 2], ['uid+4/x=', 3]] as const) server.store.add(USER, Buffer.from(`Subject: ${n}\r\n\r\nbody\r\n`), uidl);
    const { port } = await server.listen('plain');
    try {
      const dir = ws.mkdir('.getmail');
      writeRc(path.join(dir, 'getmailrc'), ['[retriever]', 'type = SimplePOP3Retriever', 'server = 127.0.0.1', `port = ${port}`, `username = ${USER}`, `password = ${PASSWORD}`, '[destination]', 'type = Maildir', `path = ${ws.path('Mail')}/`, '[options]', 'read_all = false']);
      writeFileSync(path.join(dir, `oldmail-127.0.0.1-${port}-${USER}`), ['UID-1', 'UID-2', 'uid+4-x='].map((u) => `${u}\0${1764000000}\n`).join(''));
      const r = await runCli(['import', 'getmail'], home());
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('account getmail: 3 UIDLs from');
      expect(r.stdout).toContain('; 3 with "-" also as the server may spell them, with "/" (which getmail writes as "-")');
      const dry = await runCli(['--dry-run', '--json'], home());
      expect(dry.code, dry.stderr).toBe(0);
      expect(JSON.parse(dry.stdout).accounts[0].fetch).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
