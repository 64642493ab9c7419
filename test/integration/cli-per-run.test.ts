import { afterEach, beforeEach, expect, it } from 'vitest';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { Workspace, logMessages, runCli } from '../support/cli.js';
import { crlfToLf } from '../support/corpus.js';
import { uidlsOn } from '../support/fake-pop3.js';
import { loopbackAccount, startServerAndWorkspace, stopServerAndWorkspace } from '../support/server-workspace.js';

/** maxMessagesPerRun and maxBytesPerRun (issue 16): a big mailbox taken in turns, oldest first, nothing lost or repeated. */
let server: DevPop3Server;
let port: number;
let ws: Workspace;
const messages = Array.from({ length: 5 }, (_, i) => Buffer.from(`Subject: job-${i}\r\n\r\n${'x'.repeat(100 * (i + 1))}\r\n`));

beforeEach(async () => void ({ server, port, ws } = await startServerAndWorkspace(messages)));
afterEach(() => stopServerAndWorkspace(server, ws));

it('maxMessagesPerRun: each run takes the oldest that fit, says how many are left, and the runs together deliver each message once', async () => {
  const config = ws.config({ accounts: [loopbackAccount(port, ws, { retention: '0', maxMessagesPerRun: 2 })] });
  const first = await runCli(['-c', config, '--json', '-v']);
  expect(first.code, first.stderr).toBe(0);
  expect(JSON.parse(first.stdout).accounts[0]).toMatchObject({ delivered: 2, deleted: 2, deferred: 3 });
  expect(logMessages(first.stderr)).toContainEqual(expect.stringMatching(/^3 messages \(1260 bytes\) left for the next run by the per-run limit \(maxMessagesPerRun, maxBytesPerRun\)$/));
  expect(ws.maildir('Maildir')).toEqual(messages.slice(0, 2).map(crlfToLf).sort(Buffer.compare));

  const second = await runCli(['-c', config]);
  expect(second.stdout).toBe('jobs: 2 delivered, 1 left for the next run by the per-run limit, 2 deleted, 1 left on server\n');
  const third = await runCli(['-c', config]);
  expect(third.stdout).toBe('jobs: 1 delivered, 1 deleted, 0 left on server\n');
  expect(ws.maildir('Maildir')).toEqual(messages.map(crlfToLf).sort(Buffer.compare));
  expect(uidlsOn(server)).toEqual([]);
});

it('maxBytesPerRun: stops before the limit, one message always', async () => {
  const config = ws.config({ accounts: [loopbackAccount(port, ws, { retention: '0', maxBytesPerRun: '1K' })] });
  const first = await runCli(['-c', config, '--json']);
  expect(first.code, first.stderr).toBe(0);
  // 115 + 215 + 315 = 645 bytes fit in 1024; the fourth (415) would not.
  expect(JSON.parse(first.stdout).accounts[0]).toMatchObject({ delivered: 3, deferred: 2 });
});
