import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { expect, it } from 'vitest';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { Workspace, runCli, startCli } from '../support/cli.js';
import { PASSWORD, USER, fakeServer, uidlsOn } from '../support/fake-pop3.js';
import { describePostgres } from '../support/postgres.js';

/** The state database of a group going away: before a run, and in the middle of one. */
describePostgres('a group whose PostgreSQL goes away', (postgres) => {
  const message = (n: number): Buffer => Buffer.from(`Subject: job ${n}\r\n\r\nbody ${n}\r\n`);

  /** A port nothing listens on: bound, then closed. */
  async function closedPort(): Promise<number> {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return port;
  }

  /** Polls `check` until it holds or `ms` pass: no fixed sleep. */
  async function until(check: () => boolean, ms = 20_000): Promise<void> {
    const end = Date.now() + ms;
    while (!check()) {
      if (Date.now() > end) throw new Error('timed out waiting');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('unreachable at the start: exit 75, one line naming it without its password, nothing fetched or written', async () => {
    const ws = new Workspace();
    const server: DevPop3Server = fakeServer([message(1)]);
    const { port } = await server.listen('plain');
    try {
      const url = `postgresql://pinchmail:hunter2secret@127.0.0.1:${await closedPort()}/pinchmail`;
      const config = ws.config({ database: url, accounts: [{ name: 'jobs', host: '127.0.0.1', port, tls: 'none', user: USER, password: PASSWORD, retention: '0', deliver: { maildir: ws.path('Maildir') } }] });
      const r = await runCli(['-c', config]);
      expect(r.code).toBe(75);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(r.stderr).toContain('cannot reach the server');
      expect(r.stderr).not.toContain('hunter2secret');
      expect(existsSync(ws.path('Maildir'))).toBe(false);
      expect(uidlsOn(server)).toHaveLength(1);
    } finally {
      await server.close();
      ws.remove();
    }
  });

  it('lost in the middle of a run: the run stops with exit 75 before any DELE, and the next run delivers what was not recorded', async () => {
    const ws = new Workspace();
    const server: DevPop3Server = fakeServer([message(1), message(2), message(3)]);
    const { port } = await server.listen('plain');
    try {
      const url = await postgres().createDatabase();
      const slow = ws.slowCommand();
      const config = ws.config({ database: url, accounts: [{ name: 'jobs', host: '127.0.0.1', port, tls: 'none', user: USER, password: PASSWORD, retention: '0', deliver: slow.deliver }] });
      const run = startCli(['-c', config]);
      // The first delivery is under way (its copy written, the command waiting): the database goes.
      await until(() => readdirSync(slow.out).length > 0);
      await postgres().kill();
      slow.release();
      const r = await run.result;
      expect(r.code, r.stderr).toBe(75);
      // Nothing was deleted: no delivery could be recorded.
      expect(uidlsOn(server)).toHaveLength(3);

      await postgres().restart();
      const again = await runCli(['-c', config, '--json']);
      expect(again.code, again.stderr).toBe(0);
      // The message whose delivery was not recorded is delivered once more (the documented duplicate), then all go.
      expect(JSON.parse(again.stdout).accounts[0]).toMatchObject({ deleted: 3 });
      expect(uidlsOn(server)).toEqual([]);
    } finally {
      await server.close();
      ws.remove();
    }
  });
});
