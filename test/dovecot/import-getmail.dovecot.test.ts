import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, beforeEach, expect, it } from 'vitest';
import { Workspace, runCli } from '../support/cli.js';
import { dovecotUnavailable, type Dovecot } from '../support/dovecot.js';
import { describeIf, privateDovecotAndWorkspace } from '../support/dovecot-suite.js';
import { expectOnlyNewDelivered, jobMessage, operatorHome } from '../support/switching.js';

const NOBODY = 65534;

/**
 * Switching from getmail6: the real getmail (Debian's getmail6) fetches without deleting
 * from the private Dovecot into a Maildir, new mail arrives, `pinchmail import getmail`
 * reads ~/.getmail/getmailrc and the oldmail file beside it (UIDLs with the times getmail
 * first delivered them), and pinchmail then delivers exactly the new messages, byte for
 * byte, and deletes only what its retention allows, counted from getmail's times.
 */
describeIf('switching from getmail6 with pinchmail import', 'Dovecot tests', dovecotUnavailable() ?? (existsSync('/usr/bin/getmail') ? null : 'getmail6 is not installed'), () => {
  const suite = privateDovecotAndWorkspace(['jobs']);
  let dovecot: Dovecot;
  let ws: Workspace;
  beforeAll(() => void (dovecot = suite.dovecot()));
  beforeEach(() => void (ws = suite.ws()));

  const home = (): NodeJS.ProcessEnv => operatorHome(ws);
  /**
   * getmail as its user runs it. getmail refuses to deliver as root: as root, it runs as
   * nobody (setpriv, as test/support/run-as.ts does), the workspace opened to it for the
   * while and what it writes given back after.
   */
  const runGetmail = (writes: string[]): void => {
    const env = { ...process.env, ...home() };
    if (process.getuid?.() !== 0) return void execFileSync('getmail', ['--quiet'], { env });
    const own = (uid: number): void => void writes.forEach((dir) => execFileSync('chown', ['-R', `${uid}:${uid}`, dir]));
    chmodSync(ws.dir, 0o711);
    own(NOBODY);
    try {
      execFileSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'getmail', '--quiet'], { env });
    } finally {
      own(0);
      chmodSync(ws.dir, 0o700);
    }
  };
  const message = jobMessage;

  it('delivers only what arrived after getmail, and deletes what retention allows, counted from when getmail saw it', async () => {
    const maildir = ws.path('Mail');
    for (const sub of ['new', 'cur', 'tmp']) mkdirSync(path.join(maildir, sub), { recursive: true });
    const getmaildir = ws.mkdir('.getmail');
    const rc = path.join(getmaildir, 'getmailrc');
    const password = dovecot.users.get('jobs')!.password;
    writeFileSync(
      rc,
      ['[retriever]', 'type = SimplePOP3Retriever', 'server = 127.0.0.1', `port = ${dovecot.port}`, 'username = jobs', `password = ${password}`, '', '[destination]', 'type = Maildir', `path = ${maildir}/`, '', '[options]', 'read_all = false', 'delete = false', ''].join('\n'),
    );
    chmodSync(rc, 0o600);

    const old = [1, 2, 3].map(message);
    for (const m of old) dovecot.deliver('jobs', m);
    runGetmail([maildir, getmaildir]);
    expect(ws.maildir('Mail')).toHaveLength(3);
    expect(dovecot.stored('jobs')).toHaveLength(3);
    const oldmail = readdirSync(getmaildir).filter((f) => f.startsWith('oldmail-'));
    expect(oldmail).toEqual([`oldmail-127.0.0.1-${dovecot.port}-jobs`]);

    const fresh = [4, 5].map(message);
    for (const m of fresh) dovecot.deliver('jobs', m);
    const imported = await runCli(['import', 'getmail'], home());
    expect(imported.code, imported.stderr).toBe(0);
    const config = ws.path('.config', 'pinchmail', 'config.json');
    expect(imported.stdout).toContain(`wrote ${config} (mode 0600): 1 account from ${rc} (getmail)`);
    // getmail records when it first delivered each message: nothing counts from the import.
    expect(imported.stdout).toContain(`account getmail: 3 UIDLs from ${path.join(getmaildir, oldmail[0]!)} count as delivered\n`);
    expect(imported.stdout).toContain('getmail adds');
    expect(readFileSync(config, 'utf8')).not.toContain(password);
    expect(JSON.parse(readFileSync(config, 'utf8')).accounts[0]).toMatchObject({ host: '127.0.0.1', port: dovecot.port, tls: 'none', user: 'jobs', retention: 'never', deliver: { maildir: `${maildir}/` } });

    await expectOnlyNewDelivered({ ws, dovecot, config, fresh, delivered: () => ws.maildir('Mail') });
  });
});
