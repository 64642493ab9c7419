import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lchownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, expect, it } from 'vitest';
import { dotStuff } from '../../src/devserver/dot-stuff.js';
import { contentSize } from '../../src/devserver/mailstore.js';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { fileKey } from '../../src/state/file-key.js';
import { migrate } from '../../src/state/migrations.js';
import { logMessages, type CliResult } from '../support/cli.js';
import { describeIf } from '../support/dovecot-suite.js';
import { binRunnableAs, runsAs } from '../support/run-as.js';
import { PASSWORD, USER, fakeServer, uidlsOn } from '../support/fake-pop3.js';
import { recordOutcome } from '../support/reliability-log.js';
import { until } from '../support/until.js';

/**
 * Local trust (issue 12, findings 1 and 2): on a shared host, another user plants a
 * symlink where pinchmail will create its spool, lock directory or Maildir tmp/, or a
 * state database saying an undelivered message was delivered long ago. Two unprivileged
 * uids (no accounts needed: setpriv switches to bare uids), the victim running the built
 * CLI, the attacker's files planted by root and given to the attacker's uid. Each attack:
 * the run refuses with one line naming the path (exit 78), nothing of the victim's
 * outside pinchmail's own files changes, and nothing undelivered leaves the server.
 */

const VICTIM = 61001;
const ATTACKER = 61002;
const DAY = 86_400_000;
const T0 = Date.parse('2026-11-02T08:00:00Z');
const STATE_KEY = `127.0.0.1/${USER}`;
const KEY = fileKey(STATE_KEY);
/** Maildir names as pinchmail makes them carry the host, escaped (src/deliver/maildir.ts). */
const HOST = os.hostname().replace(/\//g, '\\057').replace(/:/g, '\\072');

const VICTIM_BIN = binRunnableAs(VICTIM);

function whyNot(): string | null {
  if (process.getuid?.() !== 0) return 'the attacks need root, to run pinchmail as two other uids';
  if (spawnSync('setpriv', ['--version']).status !== 0) return 'setpriv (util-linux) is not installed';
  const probe = runsAs(VICTIM, VICTIM_BIN);
  if (probe.status !== 0) return `uid ${VICTIM} cannot run ${VICTIM_BIN} (are dist/ and node_modules readable by others?): ${probe.stderr}`;
  return null;
}

let server: DevPop3Server;
let port: number;
let root: string;
/** World-writable and sticky, as /tmp: where the attacker can create things. */
let shared: string;
/** The victim's home; only the victim can write it. */
let home: string;
/** Files of the victim's that no pinchmail run may touch. */
let precious: string;

beforeEach(async () => {
  server = fakeServer([mail('one'), mail('two')]);
  ({ port } = await server.listen('plain'));
  root = mkdtempSync(path.join(os.tmpdir(), 'pm-trust-'));
  chmodSync(root, 0o755);
  shared = path.join(root, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o1777);
  home = victimDir(path.join(root, 'victim'), 0o755);
  precious = victimDir(path.join(home, 'precious'), 0o755);
  writeFileSync(path.join(precious, 'thesis.tex'), 'years of work');
  writeFileSync(path.join(precious, 'notes.txt'), 'more work');
  for (const name of readdirSync(precious)) chownSync(path.join(precious, name), VICTIM, VICTIM);
  victimDir(path.join(home, 'out'), 0o700);
});

afterEach(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

function mail(subject: string): Buffer {
  return Buffer.from(`Subject: ${subject}\r\nFrom: a@example.org\r\n\r\nbody of ${subject}\r\n`);
}

function victimDir(dir: string, mode: number): string {
  mkdirSync(dir, { recursive: true });
  chownSync(dir, VICTIM, VICTIM);
  chmodSync(dir, mode);
  return dir;
}

/** What the attacker leaves: made here by root, then given to the attacker's uid. */
const attacker = {
  dir(dir: string, mode = 0o755): string {
    mkdirSync(dir);
    chownSync(dir, ATTACKER, ATTACKER);
    chmodSync(dir, mode);
    return dir;
  },
  symlink(target: string, at: string): void {
    symlinkSync(target, at);
    lchownSync(at, ATTACKER, ATTACKER);
  },
};

/** Everything under `dir`, with contents, so a test can say nothing changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) out[name] = readFileSync(path.join(dir, name), 'latin1');
  return out;
}

/** The victim's config, theirs and private (0600): database and delivery as the test says. */
function victimConfig(database: string, deliver: Record<string, unknown> = { command: `cat > "${home}/out/$PINCHMAIL_UIDL.eml"` }): string {
  const file = path.join(home, 'config.json');
  const account = { name: 'jobs', host: '127.0.0.1', port, tls: 'none', user: USER, password: PASSWORD, retention: '1h', deliver };
  writeFileSync(file, JSON.stringify({ database, accounts: [account] }, null, 2));
  chownSync(file, VICTIM, VICTIM);
  chmodSync(file, 0o600);
  return file;
}

/** The built CLI, run as the victim's uid (no supplementary groups), with the victim's home. */
function asVictim(args: string[], at = 0): Promise<CliResult> {
  return runCli(['setpriv', `--reuid=${VICTIM}`, `--regid=${VICTIM}`, '--clear-groups', process.execPath, VICTIM_BIN, ...args], at);
}

/** As asVictim, in a mount namespace whose /proc is an empty tmpfs: no /proc/self/fd to hold directories by. */
function asVictimWithoutProc(args: string[]): Promise<CliResult> {
  const victim = ['setpriv', `--reuid=${VICTIM}`, `--regid=${VICTIM}`, '--clear-groups', process.execPath, VICTIM_BIN, ...args];
  return runCli(['unshare', '--mount', '/bin/sh', '-c', 'mount -t tmpfs none /proc && exec "$@"', 'sh', ...victim], 0);
}

/** The built CLI, run as root (as this test is), from the victim's home. */
function asRoot(args: string[], at = 0): Promise<CliResult> {
  return runCli([process.execPath, VICTIM_BIN, ...args], at);
}

function runCli([program, ...argv]: string[], at: number): Promise<CliResult> {
  const child = spawn(program!, argv, {
    cwd: home,
    env: { PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8', PINCHMAIL_LOG: 'json', PINCHMAIL_TEST_NOW: String(T0 + at) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/**
 * A state database as the attacker would write it: pinchmail's schema, and a row saying
 * the first message on the server was delivered 30 days ago (so it is long past its
 * retention), with the size LIST gives it. Made where root can, then moved to `file`.
 */
function plantDatabase(file: string, mode: number): string {
  const draft = path.join(root, 'draft.sqlite');
  const db = new Database(draft);
  migrate(db);
  const [first] = server.store.messages(USER);
  db.prepare('INSERT INTO messages (mailbox, uidl, first_seen, size, delivered_at) VALUES (?, ?, ?, ?, ?)').run(
    STATE_KEY,
    first!.uidl,
    T0 - 30 * DAY,
    contentSize(first!.content),
    T0 - 30 * DAY,
  );
  db.close();
  renameSync(draft, file);
  chownSync(file, ATTACKER, ATTACKER);
  chmodSync(file, mode);
  return first!.uidl;
}

function expectOneLine(run: CliResult, pattern: RegExp): void {
  expect(run.code, run.stderr).toBe(78);
  expect(logMessages(run.stderr), run.stderr).toEqual([expect.stringMatching(pattern)]);
}

const delivered = (): string[] => readdirSync(path.join(home, 'out'));

/** The victim's Maildir, shared with the attacker's group: allowed (a group that shares a Maildir can change its mail anyway). */
function groupSharedMaildir(): string {
  const maildir = victimDir(path.join(home, 'Maildir'), 0o770);
  chownSync(maildir, VICTIM, ATTACKER);
  for (const sub of ['tmp', 'new', 'cur']) victimDir(path.join(maildir, sub), 0o700);
  return maildir;
}

/** Holds back the server's answer to RETR `msgNo` until release() is called. */
function holdRetr(msgNo: number): { release: () => void } {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const message = server.store.messages(USER)[msgNo - 1]!;
  server.faults.script = ({ verb, args }) => {
    if (verb !== 'RETR' || args[0] !== String(msgNo)) return undefined;
    return {
      reply: async function* () {
        await released;
        yield Buffer.concat([Buffer.from(`+OK ${contentSize(message.content)} octets\r\n`), dotStuff(message.content as Buffer)]);
      },
    };
  };
  return { release };
}
const record = (attack: string, how: string, exit: string, note?: string): void =>
  recordOutcome({ group: 'local trust', fault: attack, how, lost: 0, duplicates: 0, exit, test: 'test/reliability/local-trust.test.ts', ...(note ? { note } : {}) });

describeIf('local trust: another user on the same host', 'root-only tests', whyNot(), () => {
  it('a spool planted as a symlink to the victim’s files, beside a database in a shared directory: exit 78, the files untouched', async () => {
    const database = path.join(shared, 'state.sqlite');
    attacker.dir(`${database}-spool`);
    attacker.symlink(precious, path.join(`${database}-spool`, KEY));
    const before = snapshot(precious);
    const onServer = uidlsOn(server);

    const run = await asVictim(['-c', victimConfig(database)]);
    expectOneLine(run, new RegExp(`state database directory ${shared}: writable by its group and others \\(mode 1777\\); refusing it`));
    expect(snapshot(precious)).toEqual(before);
    expect(uidlsOn(server)).toEqual(onServer);
    expect(existsSync(database)).toBe(false);
    record('spool symlink planted in a shared directory', 'another uid plants <database>-spool/<key> -> a directory of the victim’s', '78');
  });

  it('a spool tree another user owns, beside a private database: exit 78 naming it, the files it points at untouched', async () => {
    const state = victimDir(path.join(home, 'state'), 0o700);
    const database = path.join(state, 'state.sqlite');
    attacker.dir(`${database}-spool`);
    attacker.symlink(precious, path.join(`${database}-spool`, KEY));
    const before = snapshot(precious);

    const run = await asVictim(['-c', victimConfig(database)]);
    expectOneLine(run, new RegExp(`spool directory ${database}-spool: owned by uid ${ATTACKER}, not by you \\(uid ${VICTIM}\\); refusing it`));
    expect(snapshot(precious)).toEqual(before);
    expect(delivered()).toEqual([]);
    record('spool tree owned by another uid', '<database>-spool is the attacker’s, <key> in it a symlink to the victim’s files', '78');
  });

  it('a spool that is a symlink of the victim’s own: refused all the same, the directory it points at left alone', async () => {
    const state = victimDir(path.join(home, 'state'), 0o700);
    const database = path.join(state, 'state.sqlite');
    victimDir(`${database}-spool`, 0o700);
    symlinkSync(precious, path.join(`${database}-spool`, KEY));
    lchownSync(path.join(`${database}-spool`, KEY), VICTIM, VICTIM);
    const before = snapshot(precious);

    const run = await asVictim(['-c', victimConfig(database)]);
    expectOneLine(run, new RegExp(`spool directory ${database}-spool/${KEY}: is a symbolic link; refusing it`));
    expect(snapshot(precious)).toEqual(before);
  });

  it('a lock directory planted as a symlink: exit 78 naming it, nothing created where it points', async () => {
    const state = victimDir(path.join(home, 'state'), 0o700);
    const database = path.join(state, 'state.sqlite');
    attacker.symlink(precious, `${database}-locks`);
    const before = snapshot(precious);

    const run = await asVictim(['-c', victimConfig(database)]);
    expectOneLine(run, new RegExp(`lock directory ${database}-locks: is a symbolic link; refusing it`));
    expect(snapshot(precious)).toEqual(before);
    expect(delivered()).toEqual([]);
    record('lock directory symlink', '<database>-locks is a symlink to a directory of the victim’s', '78');
  });

  it('a Maildir others can write, its tmp/ replaced by a symlink: the Maildir is refused, the mail stays on the server, the files it points at untouched', async () => {
    const state = victimDir(path.join(home, 'state'), 0o700);
    const maildir = victimDir(path.join(home, 'Maildir'), 0o777);
    victimDir(path.join(maildir, 'new'), 0o700);
    victimDir(path.join(maildir, 'cur'), 0o700);
    attacker.symlink(precious, path.join(maildir, 'tmp'));
    // A file named as pinchmail names its own, old enough for any run's sweep of tmp/ to take.
    const bait = path.join(precious, `1700000000.M1P1Q1Y0badbad0.${HOST}`);
    writeFileSync(bait, 'looks like a leftover');
    chownSync(bait, VICTIM, VICTIM);
    utimesSync(bait, (T0 - 3 * DAY) / 1000, (T0 - 3 * DAY) / 1000);
    const before = snapshot(precious);
    const onServer = uidlsOn(server);

    const run = await asVictim(['-c', victimConfig(path.join(state, 'state.sqlite'), { maildir }), '--json']);
    // A target no run can deliver to is exit 78 since issue 13 (a failure that will not fix itself).
    expect(run.code, run.stderr).toBe(78);
    expect(logMessages(run.stderr).join('\n')).toContain(`Maildir ${maildir}: writable by others (mode 0777); refusing it`);
    expect(JSON.parse(run.stdout).accounts[0]).toMatchObject({ delivered: 0, deleted: 0 });
    expect(snapshot(precious)).toEqual(before);
    expect(uidlsOn(server)).toEqual(onServer);
    record('Maildir tmp/ symlink', 'a world-writable Maildir whose tmp/ another uid replaced by a symlink to the victim’s files', '78', 'every message left on the server');
  });

  it('a Maildir shared with another user’s group, its tmp/ and new/ swapped for symlinks mid-run: every message lands in the directories checked, nothing is written through the links', async () => {
    const state = victimDir(path.join(home, 'state'), 0o700);
    const maildir = groupSharedMaildir();
    const before = snapshot(precious);
    const gate = holdRetr(2);

    const running = asVictim(['-c', victimConfig(path.join(state, 'state.sqlite'), { maildir }), '--json']);
    // The first message is being written: the run has checked the Maildir and is using it.
    await until(() => readdirSync(path.join(maildir, 'tmp')).length + readdirSync(path.join(maildir, 'new')).length > 0, 20_000, 'the first message in the Maildir');
    for (const sub of ['tmp', 'new']) {
      renameSync(path.join(maildir, sub), path.join(maildir, `${sub}.checked`));
      attacker.symlink(precious, path.join(maildir, sub));
    }
    gate.release();
    const run = await running;

    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).accounts[0]).toMatchObject({ delivered: 2, deleted: 0 });
    expect(snapshot(precious)).toEqual(before);
    expect(readdirSync(path.join(maildir, 'new.checked'))).toHaveLength(2);
    expect(readdirSync(path.join(maildir, 'tmp.checked'))).toEqual([]);
    record('Maildir swapped mid-run', 'a group member renames tmp/ and new/ away and puts symlinks to the victim’s files there while a run writes', '0', 'every message in the directories checked, none through the links');
  });

  it('without /proc, where directories cannot be held open, a Maildir its group can write is refused (78, nothing delivered); a private one works', async () => {
    const state = victimDir(path.join(home, 'state'), 0o700);
    const maildir = groupSharedMaildir();
    const config = victimConfig(path.join(state, 'state.sqlite'), { maildir });

    const refused = await asVictimWithoutProc(['-c', config, '--json']);
    expect(refused.code, refused.stderr).toBe(78);
    expect(logMessages(refused.stderr).join('\n')).toContain(
      `Maildir ${maildir}: writable by others than you, and without /proc (/proc/self/fd) pinchmail cannot hold it open against a swap mid-run; refusing it`,
    );
    expect(uidlsOn(server)).toHaveLength(2);
    chmodSync(maildir, 0o700);
    const works = await asVictimWithoutProc(['-c', config, '--json']);
    expect(works.code, works.stderr).toBe(0);
    expect(readdirSync(path.join(maildir, 'new'))).toHaveLength(2);
  });

  it('root delivering into a user’s Maildir: the Maildir it creates, its directories and every message are the user’s, 0700 and 0600', async () => {
    const state = path.join(root, 'root-state');
    mkdirSync(state, { mode: 0o700 });
    const maildir = path.join(home, 'Maildir');
    const config = path.join(state, 'config.json');
    const account = { name: 'jobs', host: '127.0.0.1', port, tls: 'none', user: USER, password: PASSWORD, retention: '1h', deliver: { maildir } };
    writeFileSync(config, JSON.stringify({ database: path.join(state, 'state.sqlite'), accounts: [account] }), { mode: 0o600 });

    const run = await asRoot(['-c', config, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).accounts[0]).toMatchObject({ delivered: 2 });
    const owned = (p: string): [number, number, string] => {
      const stat = statSync(p);
      return [stat.uid, stat.gid, (stat.mode & 0o777).toString(8)];
    };
    for (const dir of [maildir, ...['tmp', 'new', 'cur'].map((sub) => path.join(maildir, sub))]) expect(owned(dir), dir).toEqual([VICTIM, VICTIM, '700']);
    const files = readdirSync(path.join(maildir, 'new'));
    expect(files).toHaveLength(2);
    for (const file of files) expect(owned(path.join(maildir, 'new', file)), file).toEqual([VICTIM, VICTIM, '600']);
  });

  it('a database another user planted (0666) in a shared directory, saying an undelivered message was delivered: exit 78, nothing deleted', async () => {
    const database = path.join(shared, 'state.sqlite');
    plantDatabase(database, 0o666);
    const onServer = uidlsOn(server);

    const run = await asVictim(['-c', victimConfig(database)], DAY);
    expectOneLine(run, new RegExp(`state database directory ${shared}: writable by its group and others \\(mode 1777\\); refusing it`));
    expect(uidlsOn(server)).toEqual(onServer);
    expect(delivered()).toEqual([]);
    record('state database planted in a shared directory', 'another uid creates the database 0666 with a row saying an undelivered message was delivered 30 days ago', '78');
  });

  it('a database file of another user’s in the victim’s directory: exit 78 naming the file, for runs, --dry-run and status alike; nothing deleted', async () => {
    const state = victimDir(path.join(home, 'state'), 0o711);
    const database = path.join(state, 'state.sqlite');
    plantDatabase(database, 0o644);
    const config = victimConfig(database);
    const onServer = uidlsOn(server);
    const line = new RegExp(
      `state database ${database}: owned by uid ${ATTACKER}, not by you \\(uid ${VICTIM}\\); refusing it, since whoever can write it decides what is deleted from the server \\(exit 78\\)$`,
    );

    expectOneLine(await asVictim(['-c', config], DAY), line);
    expectOneLine(await asVictim(['-c', config, '--dry-run'], DAY), line);
    const status = await asVictim(['-c', config, 'status']);
    expect(status.code).toBe(78);
    expect(status.stderr).toMatch(new RegExp(`state database ${database}: owned by uid ${ATTACKER}`));
    expect(uidlsOn(server)).toEqual(onServer);
    record('state database owned by another uid', 'the database file in the victim’s own directory belongs to the attacker', '78');
  });

  it('the victim’s own database, writable by others: exit 78, nothing deleted; `check` says so first, and creates nothing', async () => {
    const state = victimDir(path.join(home, 'state'), 0o711);
    const database = path.join(state, 'state.sqlite');
    plantDatabase(database, 0o666);
    chownSync(database, VICTIM, VICTIM);
    const config = victimConfig(database);
    const onServer = uidlsOn(server);
    const line = `state database ${database}: writable by its group and others (mode 0666); refusing it, since whoever can write it decides what is deleted from the server`;

    const check = await asVictim(['-c', config, 'check']);
    expect(check.code).toBe(78);
    expect(check.stdout).toContain(line);
    const json = JSON.parse((await asVictim(['-c', config, 'check', '--json'])).stdout);
    expect(json).toMatchObject({ valid: false, stateFiles: { ok: false, problems: [`configuration error: ${line}`] } });
    expect(json.accounts[0]).toMatchObject({ exitCode: 78 });
    expect(readdirSync(state)).toEqual(['state.sqlite']);

    expectOneLine(await asVictim(['-c', config], DAY), new RegExp(`${line.replace(/[()]/g, '\\$&')} \\(exit 78\\)$`));
    expect(uidlsOn(server)).toEqual(onServer);
  });

  it('`check` reports a planted spool or lock tree before any run, without creating the database', async () => {
    const state = victimDir(path.join(home, 'state'), 0o700);
    const database = path.join(state, 'state.sqlite');
    attacker.dir(`${database}-spool`, 0o777);
    attacker.symlink(precious, `${database}-locks`);
    const config = victimConfig(database);

    const check = await asVictim(['-c', config, 'check', '--json']);
    expect(check.code, check.stderr).toBe(78);
    const doc = JSON.parse(check.stdout);
    expect(doc.stateFiles.problems).toEqual([
      expect.stringMatching(new RegExp(`spool directory ${database}-spool: owned by uid ${ATTACKER}`)),
      expect.stringMatching(new RegExp(`lock directory ${database}-locks: is a symbolic link`)),
    ]);
    expect(existsSync(database)).toBe(false);
  });

  it('the database’s directory the victim’s own (0700, as mkdir -p made it), in a directory another user owns: exit 78 naming that directory, for run and `check`; nothing created', async () => {
    const theirs = attacker.dir(path.join(shared, 'pm'), 0o777);
    const database = path.join(theirs, 'alice', 'state.sqlite');
    const config = victimConfig(database);
    const line = new RegExp(`directory above the state database ${theirs}: owned by uid ${ATTACKER}, not by you \\(uid ${VICTIM}\\) or root; refusing it`);
    const check = await asVictim(['-c', config, 'check']);
    expect(check.code, check.stdout).toBe(78);
    expect(check.stdout).toMatch(line);
    expectOneLine(await asVictim(['-c', config]), line);
    expect(readdirSync(theirs)).toEqual([]);
    victimDir(path.join(theirs, 'alice'), 0o700);
    const onServer = uidlsOn(server);
    expectOneLine(await asVictim(['-c', config]), line);
    expect(readdirSync(path.join(theirs, 'alice'))).toEqual([]);
    expect(uidlsOn(server)).toEqual(onServer);
    expect(delivered()).toEqual([]);
    record('database directory below another uid’s directory', 'the victim’s 0700 directory sits in one the attacker owns, who could swap it mid-run', '78');
  });

  it('`check` refuses a Maildir others can write whose tmp/ another user replaced by a symlink (exit 78 naming it), and creates nothing', async () => {
    const state = victimDir(path.join(home, 'state'), 0o700);
    const maildir = victimDir(path.join(home, 'Maildir'), 0o777);
    victimDir(path.join(maildir, 'new'), 0o700);
    victimDir(path.join(maildir, 'cur'), 0o700);
    attacker.symlink(state, path.join(maildir, 'tmp'));
    const config = victimConfig(path.join(state, 'state.sqlite'), { maildir });
    const check = await asVictim(['-c', config, 'check']);
    expect(check.code, check.stdout).toBe(78);
    expect(check.stdout).toContain(`Maildir ${maildir}: writable by others (mode 0777); refusing it`);
    chmodSync(maildir, 0o700);
    const again = await asVictim(['-c', config, 'check', '--json']);
    expect(again.code, again.stdout).toBe(78);
    expect(JSON.parse(again.stdout).accounts[0].targets[0].problem).toContain(`${maildir}/tmp: is a symbolic link; refusing it`);
    expect(readdirSync(state)).toEqual([]);
  });

  for (const sub of ['tmp', 'new']) {
    it(`a private Maildir of the victim’s whose ${sub}/ is a symlink: the run refuses it, nothing is written through the link, the mail stays on the server`, async () => {
      const state = victimDir(path.join(home, 'state'), 0o700);
      const maildir = victimDir(path.join(home, 'Maildir'), 0o700);
      for (const other of ['tmp', 'new', 'cur']) if (other !== sub) victimDir(path.join(maildir, other), 0o700);
      symlinkSync(precious, path.join(maildir, sub));
      lchownSync(path.join(maildir, sub), VICTIM, VICTIM);
      const before = snapshot(precious);
      const onServer = uidlsOn(server);

      const run = await asVictim(['-c', victimConfig(path.join(state, 'state.sqlite'), { maildir }), '--json']);
      expect(run.code, run.stderr).not.toBe(0);
      expect(logMessages(run.stderr).join('\n')).toContain(`Maildir ${maildir}/${sub}: is a symbolic link; refusing it`);
      expect(JSON.parse(run.stdout).accounts[0]).toMatchObject({ delivered: 0, deleted: 0 });
      expect(snapshot(precious)).toEqual(before);
      expect(uidlsOn(server)).toEqual(onServer);
    });
  }

  it('`status` and `--dry-run` leave the database’s directory as they found it', async () => {
    const state = victimDir(path.join(home, 'state'), 0o700);
    const config = victimConfig(path.join(state, 'state.sqlite'), { command: 'cat >/dev/null' });
    expect((await asVictim(['-c', config])).code).toBe(0);
    server.store.add(USER, mail('three'));
    const before = readdirSync(state).sort();
    expect(before).not.toContain('state.sqlite-wal');
    const status = await asVictim(['-c', config, 'status']);
    expect(status.code, status.stderr).toBe(0);
    expect(readdirSync(state).sort()).toEqual(before);
    const dry = await asVictim(['-c', config, '--dry-run'], DAY);
    expect(dry.code, dry.stderr).toBe(0);
    expect(readdirSync(state).sort()).toEqual(before);
  });

  it('in a directory of the victim’s own, a run works: the database, spool and locks are private, and `check` finds nothing wrong', async () => {
    const state = victimDir(path.join(home, 'state'), 0o755);
    const database = path.join(state, 'state.sqlite');
    const config = victimConfig(database);
    const check = await asVictim(['-c', config, 'check', '--json']);
    expect(check.code, check.stdout).toBe(0);
    expect(JSON.parse(check.stdout).stateFiles).toEqual({ ok: true, problems: [] });
    expect(existsSync(database)).toBe(false);

    const run = await asVictim(['-c', config]);
    expect(run.code, run.stderr).toBe(0);
    expect(delivered()).toHaveLength(2);
    const mode = (p: string): number => statSync(p).mode & 0o7777;
    expect(statSync(database).uid).toBe(VICTIM);
    expect(mode(database)).toBe(0o600);
    expect(mode(`${database}-spool`)).toBe(0o700);
    expect(mode(`${database}-spool/${KEY}`)).toBe(0o700);
    expect(mode(`${database}-locks`)).toBe(0o700);
    expect(mode(`${database}-locks/${KEY}.lock`)).toBe(0o600);
    // The directory the operator chose keeps its mode: it may be a home directory.
    expect(mode(state)).toBe(0o755);

    // A database of the victim's that others may read is made private again, not refused.
    chmodSync(database, 0o644);
    chmodSync(`${database}-spool`, 0o755);
    const again = await asVictim(['-c', config], DAY);
    expect(again.code, again.stderr).toBe(0);
    expect(mode(database)).toBe(0o600);
    expect(mode(`${database}-spool`)).toBe(0o700);
    expect(uidlsOn(server)).toEqual([]);
  });
});
