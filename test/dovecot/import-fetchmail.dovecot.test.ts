import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, beforeEach, expect, it } from 'vitest';
import { Workspace, runCli } from '../support/cli.js';
import { dovecotUnavailable, type Dovecot } from '../support/dovecot.js';
import { describeIf, privateDovecotAndWorkspace } from '../support/dovecot-suite.js';
import { expectOnlyNewDelivered, jobMessage, operatorHome } from '../support/switching.js';

/**
 * Switching from fetchmail: the real fetchmail (Debian's) fetches with "keep" from the
 * private Dovecot into an mda, new mail arrives, `pinchmail import fetchmail` reads
 * ~/.fetchmailrc and ~/.fetchids, and pinchmail then hands exactly the new messages,
 * byte for byte, to the same mda, and deletes only what its retention allows.
 */
describeIf('switching from fetchmail with pinchmail import', 'Dovecot tests', dovecotUnavailable() ?? (existsSync('/usr/bin/fetchmail') ? null : 'fetchmail is not installed'), () => {
  const suite = privateDovecotAndWorkspace(['jobs']);
  let dovecot: Dovecot;
  let ws: Workspace;
  beforeAll(() => void (dovecot = suite.dovecot()));
  beforeEach(() => void (ws = suite.ws()));

  const home = (): NodeJS.ProcessEnv => operatorHome(ws);
  const message = jobMessage;
  const delivered = (dir: string): Buffer[] => readdirSync(dir).map((f) => readFileSync(path.join(dir, f)));

  it('delivers only what arrived after fetchmail, to the same mda, and deletes what retention allows', async () => {
    const out = ws.path('out');
    mkdirSync(out);
    const rc = ws.path('.fetchmailrc');
    const password = dovecot.users.get('jobs')!.password;
    // "sslproto ''": no STARTTLS, which fetchmail would try on its own and refuse for Dovecot's self-signed certificate.
    const mda = `/bin/sh -c 'cat > ${out}/msg.$$'`;
    writeFileSync(rc, `poll 127.0.0.1 proto pop3 port ${dovecot.port}\n  user jobs password "${password}" keep sslproto '' mda "${mda}"\n`);
    chmodSync(rc, 0o600);

    const old = [1, 2, 3].map(message);
    for (const m of old) dovecot.deliver('jobs', m);
    const { FETCHMAILHOME: _, ...env } = process.env;
    execFileSync('fetchmail', ['-s', '-f', rc], { env: { ...env, ...home() } });
    expect(delivered(out)).toHaveLength(3);
    expect(dovecot.stored('jobs')).toHaveLength(3);
    expect(readFileSync(ws.path('.fetchids'), 'utf8').trim().split('\n')).toHaveLength(3);

    const fresh = [4, 5].map(message);
    for (const m of fresh) dovecot.deliver('jobs', m);
    const imported = await runCli(['import', 'fetchmail'], home());
    expect(imported.code, imported.stderr).toBe(0);
    const config = ws.path('.config', 'pinchmail', 'config.json');
    expect(imported.stdout).toContain(`wrote ${config} (mode 0600): 1 account from ${rc} (127.0.0.1)`);
    expect(imported.stdout).toContain(`account 127.0.0.1: 3 UIDLs from ${ws.path('.fetchids')} count as delivered; 3 without a first-seen time count from now`);
    expect(readFileSync(config, 'utf8')).not.toContain(password);
    expect(JSON.parse(readFileSync(config, 'utf8')).accounts[0]).toMatchObject({ host: '127.0.0.1', port: dovecot.port, tls: 'none', user: 'jobs', retention: 'never', deliver: { command: mda } });

    await expectOnlyNewDelivered({ ws, dovecot, config, fresh, delivered: () => delivered(out) });
  });
});
