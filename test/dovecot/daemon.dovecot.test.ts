import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { Workspace, logMessages, runCli, startCli, type CliResult } from '../support/cli.js';
import { crlfToLf } from '../support/corpus.js';
import { dovecotServes, type Dovecot } from '../support/dovecot.js';
import { describeWithDovecot, privateDovecotAndWorkspace } from '../support/dovecot-suite.js';
import { freePort } from '../support/free-port.js';
import { parsePrometheus, prometheusParserMissing, sampleOf } from '../support/prometheus.js';
import { until } from '../support/until.js';

/**
 * `pinchmail daemon` (issue 17) against Dovecot, run as a user runs it: accounts polled
 * on their intervals, several at once, one that hangs holding up no other; /metrics
 * scraped and read with the Prometheus client's parser; SIGHUP with a bad config and a
 * good one; SIGTERM finishing the message in hand; the lock shared with cron runs.
 */
describeWithDovecot('pinchmail daemon against Dovecot', () => {
  const suite = privateDovecotAndWorkspace(['north', 'south', 'west', 'gated']);
  let dovecot: Dovecot;
  let ws: Workspace;
  let hanging: net.Server;
  let hangingPort: number;
  const held: net.Socket[] = [];
  beforeAll(() => void (dovecot = suite.dovecot()));
  beforeEach(async () => {
    ws = suite.ws();
    hanging = net.createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    hangingPort = (hanging.address() as net.AddressInfo).port;
  });
  afterEach(async () => {
    for (const socket of held.splice(0)) socket.destroy();
    await new Promise((resolve) => hanging.close(resolve));
  });

  const account = (user: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    name: user,
    host: '127.0.0.1',
    port: dovecot.port,
    tls: 'none',
    user,
    password: dovecot.users.get(user)!.password,
    retention: '0',
    every: '1s',
    deliver: { maildir: ws.path(`${user}-Maildir`) },
    ...extra,
  });
  const mail = (user: string, n: number): Buffer => Buffer.from(`Subject: ${user} job ${n}\nFrom: producer@example.org\n\nwork item ${n}\n`);
  const served = (user: string, ns: number[]): Buffer[] => ns.map((n) => crlfToLf(dovecotServes(mail(user, n)))).sort(Buffer.compare);
  const delivered = (user: string): Buffer[] => (existsSync(ws.path(`${user}-Maildir`)) ? ws.maildir(`${user}-Maildir`) : []);

  it('polls each account on its interval, several at once past one that hangs; serves /metrics; keeps its config through a bad SIGHUP, takes a good one; SIGTERM exits 0', async () => {
    const stuck = { name: 'stuck', host: '127.0.0.1', port: hangingPort, tls: 'none', user: 'stuck', password: 'x', every: '1s', timeout: '1h', stateKey: 'stuck', deliver: { maildir: ws.path('stuck-Maildir') } };
    const config = ws.config({ parallel: 3, accounts: [stuck, account('north'), account('south')] });
    const port = await freePort();
    const daemon = startCli(['-c', config, 'daemon', '--listen', `127.0.0.1:${port}`]);
    let stderr = '';
    daemon.stderr!.on('data', (d: string) => (stderr += d));
    try {
      for (const user of ['north', 'south']) for (const n of [1, 2]) dovecot.deliver(user, mail(user, n));
      await until(() => delivered('north').length === 2 && delivered('south').length === 2, 30_000, 'north and south to be delivered');
      expect(delivered('north')).toEqual(served('north', [1, 2]));
      expect(delivered('south')).toEqual(served('south', [1, 2]));
      await until(() => dovecot.stored('north').length === 0 && dovecot.stored('south').length === 0, 30_000, 'the delivered copies to be deleted');
      // "stuck" still waits for its first greeting: one connection, never answered, no second poll.
      expect(held).toHaveLength(1);

      const scrape = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(scrape.status).toBe(200);
      expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const metrics = parsePrometheus(await scrape.text());
      expect(sampleOf(metrics, 'pinchmail_messages_delivered_total', 'north')).toBe(2);
      expect(sampleOf(metrics, 'pinchmail_messages_deleted_total', 'south')).toBe(2);
      expect(sampleOf(metrics, 'pinchmail_last_run_success', 'north')).toBe(1);
      expect(sampleOf(metrics, 'pinchmail_last_run_timestamp_seconds', 'stuck')).toBeUndefined();
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);

      // A bad edit: said once, and the daemon goes on with the config it has.
      writeFileSync(config, '{ "accounts": [ }');
      daemon.kill('SIGHUP');
      await until(() => stderr.includes('not reloaded'), 10_000, 'the bad reload to be reported');
      expect(logMessages(stderr)).toContainEqual(expect.stringMatching(/^SIGHUP: the configuration was not reloaded, the one before stays in use: configuration error: .*invalid JSON at line 1, column 17: unexpected "}"$/));
      dovecot.deliver('north', mail('north', 3));
      await until(() => delivered('north').length === 3, 30_000, 'north to go on with the old config');

      // A good one adds an account, which is polled from then on.
      ws.config({ parallel: 3, accounts: [stuck, account('north'), account('south'), account('west')] }, 'config.json');
      daemon.kill('SIGHUP');
      await until(() => logMessages(stderr).some((m) => m.startsWith('SIGHUP: configuration read again')), 10_000, 'the reload');
      dovecot.deliver('west', mail('west', 1));
      await until(() => delivered('west').length === 1, 30_000, 'the new account to be polled');
      expect(delivered('west')).toEqual(served('west', [1]));
    } finally {
      daemon.kill('SIGTERM');
    }
    const result: CliResult = await daemon.result;
    expect(result.code, stderr).toBe(0);
    expect(logMessages(stderr).filter((m) => /error|failed/i.test(m) && !m.includes('not reloaded'))).toEqual([]);
  });

  it('shares the lock with cron runs, and on SIGTERM finishes the message in hand, recorded, then exits 0', async () => {
    const gate = ws.path('gate');
    const started = ws.path('started');
    const out = ws.path('delivered.eml');
    // The delivery waits until the test opens the gate: meanwhile the daemon holds the account's lock.
    const command = `touch '${started}'; while [ ! -e '${gate}' ]; do sleep 0.05; done; cat > '${out}'`;
    const config = ws.config({ accounts: [account('gated', { deliver: { command } })] });
    dovecot.deliver('gated', mail('gated', 1));
    const daemon = startCli(['-c', config, 'daemon']);
    await until(() => existsSync(started), 30_000, 'the daemon to start delivering');

    const cron = await runCli(['-c', config]);
    expect(cron.code).toBe(75);
    expect(logMessages(cron.stderr)).toEqual(['skipped: another pinchmail run is working on this account (exit 75)']);

    daemon.kill('SIGTERM');
    writeFileSync(gate, '');
    const result = await daemon.result;
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(out)).toEqual(crlfToLf(dovecotServes(mail('gated', 1))));
    // Recorded as delivered: a cron run afterwards does not deliver it again (it deletes it: retention 0).
    const after = await runCli(['-c', config, '--json']);
    expect(after.code, after.stderr).toBe(0);
    expect(JSON.parse(after.stdout).accounts[0]).toMatchObject({ delivered: 0, deleted: 1 });
  });
});

// The metrics need the Prometheus parser too; CI installs it, and says so if it is missing.
if (process.env.PINCHMAIL_REQUIRE_DOVECOT === '1' && prometheusParserMissing()) throw new Error(prometheusParserMissing()!);
