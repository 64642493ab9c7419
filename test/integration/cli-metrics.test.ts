import { readFileSync, readdirSync, statSync } from 'node:fs';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { Workspace, logMessages, runCli } from '../support/cli.js';
import { fakeServer } from '../support/fake-pop3.js';
import { describeIf } from '../support/dovecot-suite.js';
import { parsePrometheus, prometheusParserMissing, sampleOf, type Family } from '../support/prometheus.js';
import { loopbackAccount } from '../support/server-workspace.js';

/**
 * --metrics FILE (issue 17): after a cron run, every account's metrics in the Prometheus
 * text format, read back with the official Python client's parser: counters that add up
 * across runs, the last run's outcome, time and duration, what waits on the server.
 */
const T1 = Date.parse('2026-12-03T08:00:00Z');
const T2 = T1 + 60_000;
const mail = (n: number): Buffer => Buffer.from(`Subject: job ${n}\r\n\r\nwork item ${n}\r\n`);

describeIf('metrics file', 'metrics tests', prometheusParserMissing(), () => {
  let server: DevPop3Server;
  let port: number;
  let ws: Workspace;

  beforeEach(async () => {
    server = fakeServer([mail(1), mail(2)]);
    server.store.addUser('bob', 'bob-pw');
    server.store.add('bob', mail(3));
    server.store.addUser('carol', 'carol-pw');
    ({ port } = await server.listen('plain'));
    ws = new Workspace();
  });
  afterEach(async () => {
    await server.close();
    ws.remove();
  });

  function config(): string {
    return ws.config({
      accounts: [
        // Every message refused for good (65), so each goes to the quarantine at once.
        loopbackAccount(port, ws, { name: 'jobs', retention: '0', deliver: { command: 'exit 65' }, onFailure: { after: 3, deliver: { maildir: ws.path('quarantine') } } }),
        loopbackAccount(port, ws, { name: 'flaky', user: 'bob', password: 'bob-pw', deliver: { command: 'exit 75' } }),
        loopbackAccount(port, ws, { name: 'locked-out', user: 'carol', password: 'wrong' }),
        loopbackAccount(port, ws, { name: 'never', user: 'dave', enabled: false }),
      ],
    });
  }

  const read = (file: string): Family[] => parsePrometheus(readFileSync(file, 'utf8'));

  it('counts what every run did, and says how the last one went, per account', async () => {
    const file = ws.path('pinchmail.prom');
    const first = await runCli(['-c', config(), '--metrics', file, '--json'], { PINCHMAIL_TEST_NOW: String(T1) });
    // The first failure in config order: flaky's temporary one.
    expect(first.code, first.stderr).toBe(75);
    expect(JSON.parse(first.stdout).accounts[0]).toMatchObject({ name: 'jobs', delivered: 2, quarantined: 2, deleted: 2 });
    const second = await runCli(['-c', config(), '--metrics', file, '-q'], { PINCHMAIL_TEST_NOW: String(T2) });
    expect(second.code).toBe(75);

    const m = read(file);
    const types = Object.fromEntries(m.map((f) => [f.name, f.type]));
    expect(types).toMatchObject({
      pinchmail_messages_delivered: 'counter',
      pinchmail_messages_failed: 'counter',
      pinchmail_messages_quarantined: 'counter',
      pinchmail_messages_deleted: 'counter',
      pinchmail_last_run_timestamp_seconds: 'gauge',
      pinchmail_last_success_timestamp_seconds: 'gauge',
      pinchmail_messages_on_server: 'gauge',
      pinchmail_oldest_undelivered_first_seen_timestamp_seconds: 'gauge',
    });
    const v = (name: string, account: string): number | undefined => sampleOf(m, name, account);
    expect(v('pinchmail_messages_delivered_total', 'jobs')).toBe(2);
    expect(v('pinchmail_messages_quarantined_total', 'jobs')).toBe(2);
    expect(v('pinchmail_messages_deleted_total', 'jobs')).toBe(2);
    expect(v('pinchmail_messages_on_server', 'jobs')).toBe(0);
    expect(v('pinchmail_last_run_success', 'jobs')).toBe(1);
    expect(v('pinchmail_last_success_timestamp_seconds', 'jobs')).toBe(T2 / 1000);
    expect(v('pinchmail_last_run_duration_seconds', 'jobs')).toBeGreaterThan(0);
    expect(v('pinchmail_oldest_undelivered_first_seen_timestamp_seconds', 'jobs')).toBeUndefined();

    // One failed delivery each run, still waiting since the first run saw it.
    expect(v('pinchmail_messages_failed_total', 'flaky')).toBe(2);
    expect(v('pinchmail_messages_failing', 'flaky')).toBe(1);
    expect(v('pinchmail_messages_on_server', 'flaky')).toBe(1);
    expect(v('pinchmail_oldest_undelivered_first_seen_timestamp_seconds', 'flaky')).toBe(T1 / 1000);
    expect(v('pinchmail_last_run_success', 'flaky')).toBe(0);
    expect(v('pinchmail_last_run_timestamp_seconds', 'flaky')).toBe(T2 / 1000);
    expect(v('pinchmail_last_success_timestamp_seconds', 'flaky')).toBeUndefined();

    expect(v('pinchmail_last_run_success', 'locked-out')).toBe(0);
    // An account that never ran: its counters are 0, and no time is made up.
    expect(v('pinchmail_messages_delivered_total', 'never')).toBe(0);
    expect(v('pinchmail_last_run_timestamp_seconds', 'never')).toBeUndefined();

    // Replaced by a rename: readable by node_exporter, and no temporary file left behind.
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(readdirSync(ws.dir).filter((f) => f.includes('.prom'))).toEqual(['pinchmail.prom']);
  });

  it('a metrics file that cannot be written: one line, exit 78, and the run itself done', async () => {
    const run = await runCli(['-c', config(), '-a', 'jobs', '-q', '--metrics', ws.path('no-such-dir', 'pinchmail.prom')]);
    expect(run.code).toBe(78);
    expect(logMessages(run.stderr).filter((l) => !l.includes('refused for good'))).toEqual([`configuration error: ${ws.path('no-such-dir', 'pinchmail.prom')}: cannot write the metrics file: no such file`]);
    expect(ws.maildir('quarantine')).toHaveLength(2);
  });

  it('--dry-run writes no metrics', async () => {
    const file = ws.path('pinchmail.prom');
    const run = await runCli(['-c', config(), '-a', 'jobs', '--dry-run', '--metrics', file]);
    expect(run.code).toBe(0);
    expect(readdirSync(ws.dir)).not.toContain('pinchmail.prom');
  });
});
