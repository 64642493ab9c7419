import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { Workspace, logMessages, runCli } from '../support/cli.js';
import { describeAsRoot } from '../support/dovecot-suite.js';
import { seededServer, uidlsOn } from '../support/fake-pop3.js';
import { expectNoLoss } from '../support/no-loss.js';
import { recordOutcome } from '../support/reliability-log.js';
import { loopbackAccount } from '../support/server-workspace.js';

/**
 * The machine fails (issue 4): a full disk under the Maildir, a read-only state
 * directory, a damaged or locked state database, a config file that changes between
 * runs. Each: one clear line, the right exit status, nothing deleted from the server.
 */

const COUNT = 4;
let server: DevPop3Server;
let port: number;
let ws: Workspace;
let sent: Map<string, Buffer>;
const mounts: string[] = [];

beforeEach(async () => {
  const bodies = Array.from({ length: COUNT }, (_, i) => Buffer.from(`Subject: job-${i}\r\n\r\n${`${i} `.repeat(15_000)}\r\n`));
  ({ server, port, sent } = await seededServer(bodies));
  ws = new Workspace();
});

afterEach(async () => {
  for (const dir of mounts.splice(0)) execFileSync('umount', ['-l', dir]);
  await server.close();
  ws.remove();
});

function tmpfs(dir: string, options: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  mounts.push(dir);
}

const onServer = (): string[] => uidlsOn(server);
const account = (extra: Record<string, unknown> = {}): Record<string, unknown> => loopbackAccount(port, ws, { retention: '0', ...extra });

describeAsRoot('machine faults', () => {
  it('the Maildir is on a full disk: messages that do not fit stay on the server', async () => {
    // Room for about one 45 KB message.
    tmpfs(ws.path('Maildir'), 'size=80k');
    const config = ws.config({ accounts: [account()] });
    const met = await runCli(['-c', config, '--json']);
    expect(met.code).toBe(75);
    const doc = JSON.parse(met.stdout).accounts[0];
    expect(doc.failed).toBeGreaterThan(0);
    expect(doc.deleted).toBe(doc.delivered);
    expect(logMessages(met.stderr).some((l) => l.includes(`Maildir ${ws.path('Maildir')}: the disk is full`))).toBe(true);
    expect(onServer()).toHaveLength(COUNT - doc.delivered);
    // No partial file is left in tmp/ or new/.
    expect(execFileSync('ls', [ws.path('Maildir', 'tmp')], { encoding: 'utf8' })).toBe('');
    expectNoLoss({ sent, delivered: ws.maildir('Maildir'), onServer: onServer(), crashes: 0 });
    const firstDelivered = ws.maildir('Maildir');
    execFileSync('umount', [mounts.pop()!]);
    const fixed = await runCli(['-c', config]);
    expect(fixed.code, fixed.stderr).toBe(0);
    const all = [...firstDelivered, ...ws.maildir('Maildir')];
    const { duplicates } = expectNoLoss({ sent, delivered: all, onServer: onServer(), crashes: 0, complete: true });
    recordOutcome({ group: 'machine', fault: 'Maildir on a full disk', how: 'the Maildir is an 80 KB tmpfs; four 45 KB messages', lost: 0, duplicates, exit: String(met.code), test: 'test/reliability/machine-faults.test.ts' });
  });

  it('the state directory is read-only: exit 78, nothing fetched or deleted', async () => {
    tmpfs(ws.path('state'), 'ro,size=1m');
    const config = ws.config({ database: ws.path('state', 'db.sqlite'), accounts: [account()] });
    const met = await runCli(['-c', config]);
    expect(met.code).toBe(78);
    expect(logMessages(met.stderr)).toEqual([expect.stringMatching(/^configuration error: state database .*db.sqlite: cannot open: cannot write it/)]);
    expect(onServer()).toHaveLength(COUNT);
    expect(ws.maildir('Maildir')).toEqual([]);
    recordOutcome({ group: 'machine', fault: 'read-only state directory', how: 'the database directory is a read-only tmpfs', lost: 0, duplicates: 0, exit: '78', test: 'test/reliability/machine-faults.test.ts' });
  });
});

it('a damaged state database: exit 70, one line, nothing fetched or deleted', async () => {
  const config = ws.config({ accounts: [account()] });
  writeFileSync(ws.path('state.sqlite'), Buffer.alloc(64 * 1024, 0x5a));
  const met = await runCli(['-c', config]);
  expect(met.code).toBe(70);
  expect(logMessages(met.stderr)).toEqual([expect.stringContaining('damaged or not a pinchmail database')]);
  expect(onServer()).toHaveLength(COUNT);
  recordOutcome({ group: 'machine', fault: 'damaged state database', how: '64 KB of 0x5a bytes where the database should be', lost: 0, duplicates: 0, exit: '70', test: 'test/reliability/machine-faults.test.ts' });
});

it('a state database locked by another process: exit 75 after the busy timeout, nothing delivered or deleted', async () => {
  const config = ws.config({ accounts: [account()] });
  expect((await runCli(['-c', config, '-n'])).code).toBe(0);
  // Create the database with one real run on an empty mailbox, then hold a write lock on it.
  server.store.addUser('empty', 'empty-pw');
  const empty = ws.config({ accounts: [account({ user: 'empty', password: 'empty-pw' })] }, 'empty.json');
  expect((await runCli(['-c', empty])).code).toBe(0);
  const holder = new Database(ws.path('state.sqlite'));
  holder.exec('BEGIN IMMEDIATE');
  try {
    const met = await runCli(['-c', config]);
    expect(met.code).toBe(75);
    expect(logMessages(met.stderr)).toEqual([expect.stringMatching(/temporary failure: state database .* locked by another process for too long/)]);
    expect(onServer()).toHaveLength(COUNT);
    expect(ws.maildir('Maildir')).toEqual([]);
  } finally {
    holder.exec('ROLLBACK');
    holder.close();
  }
  const after = await runCli(['-c', config]);
  expect(after.code).toBe(0);
  const { duplicates } = expectNoLoss({ sent, delivered: ws.maildir('Maildir'), onServer: onServer(), crashes: 0, complete: true });
  recordOutcome({ group: 'machine', fault: 'state database locked by another process', how: 'another connection holds BEGIN IMMEDIATE on it during the run', lost: 0, duplicates, exit: '75', test: 'test/reliability/machine-faults.test.ts', note: 'after the 5 s busy timeout' });
});

it('the config file changes between runs: an invalid edit is exit 78 and touches nothing; a valid one applies', async () => {
  const file = ws.config({ accounts: [account({ retention: 'never' })] });
  expect((await runCli(['-c', file])).code).toBe(0);
  expect(onServer()).toHaveLength(COUNT);
  writeFileSync(file, '{ "accounts": [ { "name": "jobs", } ] }');
  const broken = await runCli(['-c', file]);
  expect(broken.code).toBe(78);
  expect(broken.stderr).toBe(`pinchmail: configuration error: ${file}: invalid JSON at line 1, column 35: trailing comma before "}"\n`);
  expect(onServer()).toHaveLength(COUNT);
  ws.config({ accounts: [account({ retention: '0' })] });
  const changed = await runCli(['-c', file, '--json']);
  expect(changed.code).toBe(0);
  expect(JSON.parse(changed.stdout).accounts[0]).toMatchObject({ delivered: 0, deleted: COUNT });
  const { duplicates } = expectNoLoss({ sent, delivered: ws.maildir('Maildir'), onServer: onServer(), crashes: 0, complete: true });
  recordOutcome({ group: 'machine', fault: 'config file changed between runs', how: 'edited to invalid JSON, then to a shorter retention', lost: 0, duplicates, exit: '78, then 0', test: 'test/reliability/machine-faults.test.ts' });
});
