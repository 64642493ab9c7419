import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Pop3Client, type ClientOptions } from '../../src/pop3/client.js';
import { Pop3Session } from '../../src/pop3/session.js';
import { DevPop3Server, type DevServerOptions } from '../../src/devserver/pop3-server.js';
import { crlfToLf } from './corpus.js';
import { duplexPair } from './duplex-pair.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));

export const TLS_FILES = { cert: fixture('cert.pem'), key: fixture('key.pem'), otherCert: fixture('other-cert.pem') };
export const TLS = { cert: readFileSync(TLS_FILES.cert), key: readFileSync(TLS_FILES.key) };
export const OTHER_CERT = readFileSync(TLS_FILES.otherCert);

export const USER = 'alice';
export const PASSWORD = 'secret-pw';

/** A dev server with one user, optionally seeded. */
export function fakeServer(messages: Buffer[] = [], options: DevServerOptions = {}): DevPop3Server {
  const server = new DevPop3Server({ tls: TLS, ...options });
  server.store.addUser(USER, PASSWORD);
  for (const m of messages) server.store.add(USER, m);
  return server;
}

/**
 * A dev server seeded with `bodies`, listening on loopback, and what a delivery of each
 * message must hold (LF line ends), by UIDL: what the no-loss check compares against.
 */
export async function seededServer(bodies: Buffer[]): Promise<{ server: DevPop3Server; port: number; sent: Map<string, Buffer> }> {
  const server = fakeServer(bodies);
  const { port } = await server.listen('plain');
  const sent = new Map(server.store.messages(USER).map((m, i) => [m.uidl, crlfToLf(bodies[i]!)]));
  return { server, port, sent };
}

/** The UIDLs still on the server for USER. */
export function uidlsOn(server: DevPop3Server): string[] {
  return server.store.messages(USER).map((m) => m.uidl);
}

/** A client joined to the server by an in-memory pipe: every reply piece arrives as its own chunk. */
export function memoryClient(server: DevPop3Server, options: ClientOptions = {}): Pop3Client {
  const [clientSide, serverSide] = duplexPair();
  server.attach(serverSide);
  return new Pop3Client(clientSide, { timeoutMs: 5_000, ...options });
}

/** Greeted, logged in with USER/PASS, pipelining on when offered. */
export async function memorySession(server: DevPop3Server, options: ClientOptions = {}): Promise<Pop3Session> {
  const session = await Pop3Session.over(memoryClient(server, options));
  await session.login({ method: 'user', user: USER, secret: PASSWORD, cleartextAllowed: true });
  return session;
}

/** Records every command the server receives, as "VERB ARGS", in the array returned (what a test checks was never asked). */
export function recordCommands(server: DevPop3Server): string[] {
  const commands: string[] = [];
  server.faults.script = ({ verb, args }) => {
    commands.push([verb, ...args].join(' '));
    return undefined;
  };
  return commands;
}
