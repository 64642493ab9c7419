import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { Workspace, logMessages, runCli, startCli } from '../support/cli.js';
import { seededServer, uidlsOn } from '../support/fake-pop3.js';
import { expectNoLoss } from '../support/no-loss.js';
import { recordOutcome } from '../support/reliability-log.js';
import { loopbackAccount } from '../support/server-workspace.js';
import { until } from '../support/until.js';

/**
 * SIGINT and SIGTERM mid-run (issue 4, SPEC): finish the message in hand, record what
 * was delivered, exit 75, and send no DELE. A second signal kills the command in hand.
 */

const COUNT = 5;
let server: DevPop3Server;
let port: number;
let ws: Workspace;
let sent: Map<string, Buffer>;

beforeEach(async () => {
  const bodies = Array.from({ length: COUNT }, (_, i) => Buffer.from(`Subject: job-${i}\r\n\r\nbody ${i}\r\n`));
  ({ server, port, sent } = await seededServer(bodies));
  ws = new Workspace();
  ws.mkdir('out');
});

afterEach(async () => {
  await server.close();
  ws.remove();
});

const onServer = (): string[] => uidlsOn(server);
const delivered = (): Buffer[] =>
  readdirSync(ws.path('out'))
    .filter((f) => f.endsWith('.eml'))
    .map((f) => readFileSync(ws.path('out', f)));
const started = (): number => readdirSync(ws.path('out')).filter((f) => f.endsWith('.started')).length;

function config(): string {
  // Each delivery announces itself, takes a while, then lands.
  const slow = 'touch "$OUT/$PINCHMAIL_UIDL.started"; sleep 0.5; cat > "$OUT/$PINCHMAIL_UIDL.$$.eml"';
  return ws.config({ accounts: [loopbackAccount(port, ws, { retention: '0', deliver: { command: slow } })] });
}

function untilDeliveryStarts(count: number): Promise<void> {
  return until(() => started() >= count, 20_000, `delivery ${count} to start`);
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  it(`${signal} mid-run: the message in hand is finished and recorded, exit 75, no DELE`, async () => {
    const file = config();
    const run = startCli(['-c', file, '--json'], { OUT: ws.path('out') });
    await untilDeliveryStarts(2);
    run.kill(signal);
    const result = await run.result;
    expect(result.code).toBe(75);
    const doc = JSON.parse(result.stdout).accounts[0];
    expect(doc).toMatchObject({ delivered: 2, deleted: 0, status: 'failed' });
    expect(doc.error).toContain('stopped by a signal');
    expect(logMessages(result.stderr)[0]).toContain(`${signal}: finishing the message in hand`);
    expect(delivered()).toHaveLength(2);
    expect(onServer()).toHaveLength(COUNT);
    expect(server.commits).toEqual([]);

    const rest = await runCli(['-c', file, '--json'], { OUT: ws.path('out') });
    expect(rest.code).toBe(0);
    expect(JSON.parse(rest.stdout).accounts[0]).toMatchObject({ delivered: COUNT - 2, deleted: COUNT });
    const { duplicates } = expectNoLoss({ sent, delivered: delivered(), onServer: onServer(), crashes: 0, complete: true });
    recordOutcome({ group: 'signals', fault: `${signal} mid-run`, how: `${signal} while the 2nd of 5 slow deliveries runs`, lost: 0, duplicates, exit: '75', test: 'test/reliability/signals.test.ts' });
  });
}

it('a second signal kills the command in hand; that message is not recorded and arrives next run', async () => {
  const file = config();
  const run = startCli(['-c', file, '--json'], { OUT: ws.path('out') });
  await untilDeliveryStarts(1);
  run.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 50));
  run.kill('SIGTERM');
  const result = await run.result;
  expect(result.code).toBe(75);
  expect(JSON.parse(result.stdout).accounts[0]).toMatchObject({ delivered: 0, failed: 1, deleted: 0 });
  expect(delivered()).toHaveLength(0);
  const rest = await runCli(['-c', file], { OUT: ws.path('out') });
  expect(rest.code).toBe(0);
  const { duplicates } = expectNoLoss({ sent, delivered: delivered(), onServer: onServer(), crashes: 0, complete: true });
  recordOutcome({ group: 'signals', fault: 'second SIGTERM', how: 'two SIGTERMs 50 ms apart during the first delivery', lost: 0, duplicates, exit: '75', test: 'test/reliability/signals.test.ts' });
});
