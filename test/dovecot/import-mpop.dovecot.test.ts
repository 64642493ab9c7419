import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, beforeEach, expect, it } from 'vitest';
import { Workspace, runCli } from '../support/cli.js';
import { crlfToLf } from '../support/corpus.js';
import { dovecotServes, dovecotUnavailable, type Dovecot } from '../support/dovecot.js';
import { describeIf, privateDovecotAndWorkspace } from '../support/dovecot-suite.js';

const DAY = 86_400_000;

/**
 * Switching from mpop: the real mpop (Debian's) fetches with "keep on" from the private
 * Dovecot, new mail arrives, `pinchmail import mpop` reads ~/.mpoprc and mpop's UIDLs
 * file, and pinchmail then delivers exactly the new messages, byte for byte, into the
 * Maildir mpop used, and deletes only what its retention allows.
 */
describeIf('switching from mpop with pinchmail import', 'Dovecot tests', dovecotUnavailable() ?? (existsSync('/usr/bin/mpop') ? null : 'mpop is not installed'), () => {
  const suite = privateDovecotAndWorkspace(['jobs']);
  let dovecot: Dovecot;
  let ws: Workspace;
  beforeAll(() => void (dovecot = suite.dovecot()));
  beforeEach(() => void (ws = suite.ws()));

  /** The environment of an operator whose home is the workspace. */
  const home = (): NodeJS.ProcessEnv => ({ HOME: ws.dir, XDG_CONFIG_HOME: '', XDG_STATE_HOME: '', PINCHMAIL_CONFIG: '' });
  const message = (n: number): Buffer => Buffer.from(`From: sender@example.org\nSubject: job ${n}\nMessage-ID: <${n}@example.org>\n\nline one\n.dot line\n\xe9 8-bit ${n}\n`, 'latin1');

  it('delivers only what arrived after mpop, and deletes what retention allows, counted from when mpop saw it', async () => {
    const maildir = ws.path('Mail');
    for (const sub of ['new', 'cur', 'tmp']) mkdirSync(path.join(maildir, sub), { recursive: true });
    mkdirSync(ws.path('.mpop_uidls'));
    const rc = ws.path('.mpoprc');
    const password = dovecot.users.get('jobs')!.password;
    writeFileSync(rc, ['defaults', 'tls off', 'auth user', 'keep on', '', 'account jobs', 'host 127.0.0.1', `port ${dovecot.port}`, 'user jobs', `password ${password}`, `delivery maildir ${maildir}`, ''].join('\n'));
    chmodSync(rc, 0o600);

    const old = [1, 2, 3].map(message);
    for (const m of old) dovecot.deliver('jobs', m);
    execFileSync('mpop', ['-q', 'jobs'], { env: { ...process.env, ...home() } });
    expect(ws.maildir('Mail')).toHaveLength(3);
    expect(dovecot.stored('jobs')).toHaveLength(3);

    const fresh = [4, 5].map(message);
    for (const m of fresh) dovecot.deliver('jobs', m);
    const imported = await runCli(['import', 'mpop'], home());
    expect(imported.code, imported.stderr).toBe(0);
    const config = ws.path('.config', 'pinchmail', 'config.json');
    expect(imported.stdout).toContain(`wrote ${config} (mode 0600): 1 account from ${rc} (jobs)`);
    expect(imported.stdout).toMatch(/account jobs: 3 UIDLs from .*\.mpop_uidls\/jobs_at_127\.0\.0\.1 count as delivered; 3 without a first-seen time count from now/);
    // The password left ~/.mpoprc for a 0600 file of its own; the config only names it.
    const passwordFile = ws.path('.config', 'pinchmail', 'jobs.password');
    expect(imported.stdout).toContain(`account jobs: its password is now in ${passwordFile} (mode 0600)`);
    expect(readFileSync(config, 'utf8')).not.toContain(password);
    expect(readFileSync(passwordFile, 'utf8')).toBe(`${password}\n`);
    expect(imported.stdout).toContain("mpop adds a Received header (its default); pinchmail delivers a message as the server holds it");

    // The dry run right after shows exactly the two new messages, and nothing to delete ("keep on").
    const dry = await runCli(['--dry-run', '--json'], home());
    expect(dry.code, dry.stderr).toBe(0);
    const wouldBe = JSON.parse(dry.stdout).accounts[0];
    expect(wouldBe.fetch).toHaveLength(2);
    expect(wouldBe.delete).toEqual([]);

    const run = await runCli(['--json'], home());
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).accounts[0]).toMatchObject({ delivered: 2, deleted: 0 });
    const all = ws.maildir('Mail');
    expect(all).toHaveLength(5);
    for (const m of fresh) expect(all.filter((f) => f.equals(crlfToLf(dovecotServes(m))))).toHaveLength(1);
    expect(dovecot.stored('jobs')).toHaveLength(5);

    // With a retention of a day, two days on: every delivered message goes, the imported ones
    // counted from the import; one that arrives now is delivered and stays.
    writeFileSync(config, readFileSync(config, 'utf8').replace('"retention": "never"', '"retention": "1d"'));
    dovecot.deliver('jobs', message(6));
    const later = await runCli(['--json'], { ...home(), PINCHMAIL_TEST_NOW: String(Date.now() + 2 * DAY) });
    expect(later.code, later.stderr).toBe(0);
    expect(JSON.parse(later.stdout).accounts[0]).toMatchObject({ delivered: 1, deleted: 5 });
    expect(dovecot.contents('jobs').map(crlfToLf)).toEqual([crlfToLf(dovecotServes(message(6)))]);
    expect(ws.maildir('Mail')).toHaveLength(6);
  });
});
