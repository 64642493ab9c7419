import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { Workspace } from './cli.js';
import { PASSWORD, USER, fakeServer } from './fake-pop3.js';

/**
 * What most CLI suites start each test from: the dev POP3 server on loopback, seeded,
 * and a fresh workspace; and the account that reads it into the workspace's Maildir.
 */
export async function startServerAndWorkspace(messages: Buffer[] = []): Promise<{ server: DevPop3Server; port: number; ws: Workspace }> {
  const server = fakeServer(messages);
  const { port } = await server.listen('plain');
  return { server, port, ws: new Workspace() };
}

export async function stopServerAndWorkspace(server: DevPop3Server, ws: Workspace): Promise<void> {
  await server.close();
  ws.remove();
}

/**
 * The account of USER on the loopback server at `port`, into `ws`'s Maildir, clear text
 * (loopback). `deliver: undefined` in `extra` leaves deliver out (a route that takes everything).
 */
export function loopbackAccount(port: number, ws: Workspace, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'jobs', host: '127.0.0.1', port, tls: 'none', user: USER, password: PASSWORD, deliver: { maildir: ws.path('Maildir') }, ...extra };
}
