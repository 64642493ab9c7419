import os from 'node:os';
import { expect, it } from 'vitest';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { Workspace, runCli } from '../support/cli.js';
import { crlfToLf } from '../support/corpus.js';
import { PASSWORD, USER, fakeServer, uidlsOn } from '../support/fake-pop3.js';
import { PgStore } from '../../src/state/pg-store.js';
import { describePostgres } from '../support/postgres.js';

/**
 * A group: hosts that share one PostgreSQL state database poll one account as one
 * consumer, each message delivered once by the group; a host on its own SQLite beside
 * them is a peer, and gets every message. Each host is the built CLI with a config of its
 * own (its own Maildir), as on separate machines.
 */
describePostgres('a group of hosts on PostgreSQL', (postgres) => {
  const message = (n: number): Buffer => Buffer.from(`From: a@example.org\r\nSubject: job ${n}\r\nMessage-ID: <${n}@example.org>\r\n\r\nbody ${n}\r\n`);

  it('delivers each message once across its members, polling at once, while the SQLite peer gets every one', async () => {
    const ws = new Workspace();
    const server: DevPop3Server = fakeServer();
    const { port } = await server.listen('plain');
    try {
      const url = await postgres().createDatabase();
      const account = (maildir: string): Record<string, unknown> => ({ name: 'jobs', host: '127.0.0.1', port, tls: 'none', user: USER, password: PASSWORD, retention: 'never', deliver: { maildir: ws.path(maildir) } });
      const members = ['a', 'b', 'c'].map((m) => ws.config({ database: url, accounts: [account(`member-${m}`)] }, `member-${m}.json`));
      const peer = ws.config({ database: ws.path('peer.sqlite'), accounts: [account('peer')] }, 'peer.json');
      const sent: Buffer[] = [];
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < 5; i++) {
          const m = message(round * 5 + i);
          sent.push(m);
          server.store.add(USER, m);
        }
        // The three members at the same moment: one polls, the others find it taken and skip, exit 0.
        const runs = await Promise.all(members.map((c) => runCli(['-c', c, '--json'])));
        for (const r of runs) expect(r.code, r.stderr).toBe(0);
        const reports = runs.map((r) => JSON.parse(r.stdout).accounts[0] as { status: string; delivered: number });
        expect(reports.filter((r) => r.status !== 'skipped').length).toBeGreaterThanOrEqual(1);
        const peerRun = await runCli(['-c', peer, '--json']);
        expect(peerRun.code, peerRun.stderr).toBe(0);
      }
      const byGroup = [...ws.maildir('member-a'), ...ws.maildir('member-b'), ...ws.maildir('member-c')].sort(Buffer.compare);
      const expected = sent.map(crlfToLf).sort(Buffer.compare);
      // Every message once by the group (none twice, none missing), every message once by the peer.
      expect(byGroup).toEqual(expected);
      expect(ws.maildir('peer')).toEqual(expected);
      expect(uidlsOn(server)).toHaveLength(20);

      // status from any member shows the group's record of the account.
      const status = await runCli(['status', '-c', members[2]!, '--json']);
      expect(status.code, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout).accounts[0]).toMatchObject({ delivered: 20, onServer: 20, lastRun: { status: 'ok', host: os.hostname() } });
      expect(status.stdout).not.toContain(new URL(url).password);
    } finally {
      await server.close();
      ws.remove();
    }
  });

  it('skips an account another member holds without a word (exit 0), and says so at -v', async () => {
    const ws = new Workspace();
    const server: DevPop3Server = fakeServer([message(1)]);
    const { port } = await server.listen('plain');
    try {
      const url = await postgres().createDatabase();
      const config = ws.config({ database: url, accounts: [{ name: 'jobs', host: '127.0.0.1', port, tls: 'none', user: USER, password: PASSWORD, deliver: { maildir: ws.path('Maildir') } }] });
      // Another member, as the store sees it: it holds the account's lock.
      const other = await PgStore.open(url);
      const lock = await other.tryLock(`127.0.0.1/${USER}`);
      expect(lock).not.toBeNull();
      const quiet = await runCli(['-c', config]);
      expect({ code: quiet.code, stdout: quiet.stdout, stderr: quiet.stderr }).toEqual({ code: 0, stdout: '', stderr: '' });
      const verbose = await runCli(['-c', config, '-v'], { PINCHMAIL_LOG: 'plain' });
      expect(verbose.code).toBe(0);
      expect(verbose.stdout).toBe('jobs: skipped: another host of the group is polling it\n');
      expect(ws.maildir('Maildir')).toEqual([]);
      await lock!.release();
      await other.close();
      // Released (or its host dead): the next member polls it.
      const after = await runCli(['-c', config]);
      expect(after.code, after.stderr).toBe(0);
      expect(ws.maildir('Maildir')).toHaveLength(1);
    } finally {
      await server.close();
      ws.remove();
    }
  });

  it('takes the password from databasePassword as it takes an account\'s (here from the environment), and never prints it', async () => {
    const ws = new Workspace();
    const server: DevPop3Server = fakeServer([message(1)]);
    const { port } = await server.listen('plain');
    try {
      const url = new URL(await postgres().createDatabase());
      const secret = decodeURIComponent(url.password);
      url.password = '';
      const config = ws.config({
        database: url.toString(),
        databasePassword: { env: 'PINCHMAIL_DB_PASSWORD' },
        accounts: [{ name: 'jobs', host: '127.0.0.1', port, tls: 'none', user: USER, password: PASSWORD, deliver: { maildir: ws.path('Maildir') } }],
      });
      const without = await runCli(['-c', config]);
      expect(without.code).toBe(78);
      expect(without.stderr).toContain('PINCHMAIL_DB_PASSWORD');
      // No password anywhere (no databasePassword, none in the URL, no PGPASSWORD or ~/.pgpass): said so, exit 78.
      const bare = ws.config({ database: url.toString(), accounts: [{ name: 'jobs', host: '127.0.0.1', port, tls: 'none', user: USER, password: PASSWORD, deliver: { maildir: ws.path('Maildir') } }] }, 'bare.json');
      const none = await runCli(['-c', bare], { HOME: ws.dir });
      expect(none.code).toBe(78);
      expect(none.stderr).toContain('the server asks for a password, and none is given');
      const r = await runCli(['-c', config], { PINCHMAIL_DB_PASSWORD: secret });
      expect(r.code, r.stderr).toBe(0);
      expect(ws.maildir('Maildir')).toHaveLength(1);
      const status = await runCli(['status', '-c', config], { PINCHMAIL_DB_PASSWORD: secret });
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout + status.stderr).not.toContain(secret);
    } finally {
      await server.close();
      ws.remove();
    }
  });
});
