import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, beforeEach, expect, it } from 'vitest';
import { Workspace, runCli } from '../support/cli.js';
import { dovecotUnavailable, type Dovecot } from '../support/dovecot.js';
import { describeIf, privateDovecotAndWorkspace } from '../support/dovecot-suite.js';
import { expectOnlyNewDelivered, jobMessage, operatorHome } from '../support/switching.js';

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
  const home = (): NodeJS.ProcessEnv => operatorHome(ws);
  const message = jobMessage;

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
    await expectOnlyNewDelivered({ ws, dovecot, config, fresh, delivered: () => ws.maildir('Mail') });
  });
});
