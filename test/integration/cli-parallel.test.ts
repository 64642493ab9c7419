import net from 'node:net';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { Workspace, logMessages, runCli, startCli } from '../support/cli.js';
import { crlfToLf } from '../support/corpus.js';
import { USER, fakeServer, uidlsOn } from '../support/fake-pop3.js';
import { loopbackAccount } from '../support/server-workspace.js';
import { until } from '../support/until.js';

/**
 * Accounts in parallel (issue 17): --parallel N and "parallel" poll up to N accounts at
 * once; a server that never answers holds up only its own account; the summary and the
 * exit status keep the config order.
 */
let servers: DevPop3Server[];
let ports: number[];
let ws: Workspace;
/** Accepts connections and never greets, until released: a server that hangs. */
let hanging: net.Server;
let hangingPort: number;
let held: net.Socket[];

const mail = (box: string, n: number): Buffer => Buffer.from(`Subject: ${box}-${n}\r\n\r\nwork item ${n} of ${box}\r\n`);

beforeEach(async () => {
  servers = ['north', 'south'].map((box) => fakeServer([mail(box, 1), mail(box, 2)]));
  ports = [];
  for (const server of servers) ports.push((await server.listen('plain')).port);
  held = [];
  hanging = net.createServer((socket) => held.push(socket));
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  hangingPort = (hanging.address() as net.AddressInfo).port;
  ws = new Workspace();
});

afterEach(async () => {
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => hanging.close(resolve));
  for (const server of servers) await server.close();
  ws.remove();
});

function accounts(): Record<string, unknown>[] {
  return [
    loopbackAccount(hangingPort, ws, { name: 'stuck', stateKey: 'stuck', timeout: '1h', deliver: { maildir: ws.path('stuck') } }),
    loopbackAccount(ports[0]!, ws, { name: 'north', stateKey: 'north', retention: '0', deliver: { maildir: ws.path('north') } }),
    loopbackAccount(ports[1]!, ws, { name: 'south', stateKey: 'south', retention: '0', deliver: { maildir: ws.path('south') } }),
  ];
}

it('--parallel 3: the others deliver while the first account waits on a server that never answers; output and exit status keep the config order', async () => {
  const config = ws.config({ accounts: accounts() });
  const run = startCli(['-c', config, '--parallel', '3']);
  // Both other mailboxes are emptied while "stuck" still waits for a greeting.
  await until(() => uidlsOn(servers[0]!).length === 0 && uidlsOn(servers[1]!).length === 0, 20_000, 'north and south to be fetched and emptied');
  expect(held.length).toBe(1);
  held[0]!.destroy();
  const result = await run.result;
  expect(ws.maildir('north')).toEqual([mail('north', 1), mail('north', 2)].map(crlfToLf));
  expect(ws.maildir('south')).toEqual([mail('south', 1), mail('south', 2)].map(crlfToLf));
  expect(result.stdout).toBe('north: 2 delivered, 2 deleted, 0 left on server\nsouth: 2 delivered, 2 deleted, 0 left on server\n');
  // The exit status is the first failure in config order: the account that hung (its connection closed).
  expect(result.code).toBe(75);
  expect(logMessages(result.stderr)).toEqual(['temporary failure: server closed the connection while greeting was pending (exit 75)']);
  expect(JSON.parse(result.stderr)).toMatchObject({ account: 'stuck', exitCode: 75 });
});

it('"parallel" in the config does the same; --parallel 1 goes back to one account after another', async () => {
  const config = ws.config({ parallel: 3, accounts: accounts() });
  const run = startCli(['-c', config]);
  await until(() => uidlsOn(servers[0]!).length === 0 && uidlsOn(servers[1]!).length === 0, 20_000, 'north and south to be emptied');
  held[0]!.destroy();
  expect((await run.result).code).toBe(75);

  for (const server of servers) server.store.add(USER, mail('again', 3));
  const serial = startCli(['-c', config, '--parallel', '1']);
  await until(() => held.length === 2, 20_000, 'the second run to connect to the stuck server');
  // One after another: nothing of the others is fetched while the first account hangs.
  expect(uidlsOn(servers[0]!)).toHaveLength(1);
  held[1]!.destroy();
  const result = await serial.result;
  expect(result.code).toBe(75);
  expect(uidlsOn(servers[0]!)).toEqual([]);
  expect(uidlsOn(servers[1]!)).toEqual([]);
});

it('--parallel must be an integer from 1 to 256 (exit 64, one line)', async () => {
  const config = ws.config({ accounts: accounts() });
  for (const bad of ['0', '257', 'two']) {
    const run = await runCli(['-c', config, '--parallel', bad]);
    expect(run.code).toBe(64);
    expect(run.stderr).toBe(`pinchmail: option '--parallel <n>' argument '${bad}' is invalid. expected an integer from 1 to 256 (see 'pinchmail --help')\n`);
  }
  const file = ws.config({ parallel: 0, accounts: accounts() });
  const check = await runCli(['-c', file, 'check']);
  expect(check.code).toBe(78);
  expect(check.stderr).toBe('pinchmail: configuration error: parallel: expected an integer from 1 to 256, got 0\n');
});

it('-q with --parallel 12: a run with nothing wrong prints nothing (no listener warning from a dozen accounts sharing one stop signal)', async () => {
  const many = fakeServer();
  const users = Array.from({ length: 12 }, (_, i) => `user${i}`);
  for (const user of users) {
    many.store.addUser(user, 'pw');
    many.store.add(user, mail(user, 1));
  }
  const { port } = await many.listen('plain');
  try {
    const config = ws.config({
      accounts: users.map((user) => loopbackAccount(port, ws, { name: user, user, password: 'pw', retention: '0', deliver: { maildir: ws.path(user) } })),
    });
    const run = await runCli(['-c', config, '-q', '--parallel', '12']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('');
    for (const user of users) expect(ws.maildir(user)).toEqual([crlfToLf(mail(user, 1))]);
  } finally {
    await many.close();
  }
});
