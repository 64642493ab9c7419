import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthMethod } from '../../src/pop3/auth.js';
import { Pop3Session, messageBounds, type MessageInfo, type TlsMode } from '../../src/pop3/session.js';
import { corpus, crlfToLf, expectedBody } from '../support/corpus.js';
import { dovecotServes, startDovecot } from '../support/dovecot.js';
import { describeWithDovecot } from '../support/dovecot-suite.js';
import { PASSWORD, TLS, fakeServer } from '../support/fake-pop3.js';

/** A POP3 server the client suite runs against, seeded with `users`' mail. */
interface Server {
  host: string;
  /** Plain POP3, with STLS. */
  port: number;
  /** POP3 over TLS from the start. */
  popsPort: number;
  ca: Buffer;
  password(user: string): string;
  deliver(user: string, file: Buffer): void;
  /** What RETR hands over (CRLF line ends) of a message delivered as `file`. */
  serves(file: Buffer): Buffer;
  /** How many messages the server holds for `user`. */
  stored(user: string): number;
  stop(): Promise<void>;
}

async function devServer(users: string[]): Promise<Server> {
  const server = fakeServer([], { apop: true });
  for (const user of users) server.store.addUser(user, PASSWORD);
  const plain = await server.listen('plain');
  const pops = await server.listen('implicit');
  return {
    host: '127.0.0.1',
    port: plain.port,
    popsPort: pops.port,
    ca: TLS.cert,
    password: () => PASSWORD,
    deliver: (user, file) => void server.store.add(user, file),
    serves: (file) => expectedBody(file, 'crlf'),
    stored: (user) => server.store.messages(user).length,
    stop: () => server.close(),
  };
}

async function dovecot(users: string[]): Promise<Server> {
  const dovecot = await startDovecot(users);
  return {
    host: dovecot.host,
    port: dovecot.port,
    popsPort: dovecot.popsPort,
    ca: readFileSync(dovecot.caFile),
    password: (user) => dovecot.users.get(user)!.password,
    deliver: (user, file) => void dovecot.deliver(user, file),
    serves: dovecotServes,
    stored: (user) => dovecot.stored(user).length,
    stop: () => dovecot.stop(),
  };
}

/** A bulk message: its number in the Subject, so a body handed to the wrong RETR shows. */
function bulk(i: number): Buffer {
  return Buffer.from(`Subject: ${i}\n\n${'line\n'.repeat(i % 50)}`);
}

/** RETR as a fetch runs it (prepare-message): bounded by the LIST size, confirmed by UIDL n, into a sink. */
async function fetched(session: Pop3Session, message: MessageInfo): Promise<Buffer> {
  const parts: Buffer[] = [];
  const { bytes } = await session.retrTo(message.msgNo, { write: (chunk) => void parts.push(Buffer.from(chunk)) }, { bounds: messageBounds(message.size), uidl: message.uidl });
  const got = Buffer.concat(parts);
  expect(bytes).toBe(got.length);
  return got;
}

/**
 * One client suite, run against the dev server and against a real Dovecot, as go-imap
 * runs its client tests against its own server and Dovecot alike: what passes against
 * the dev server must hold against a server pinchmail meets in use.
 */
function clientSuite(name: string, describeFor: (name: string, body: () => void) => void, start: (users: string[]) => Promise<Server>): void {
  describeFor(name, () => {
    let server: Server;
    const files = Object.values(corpus);

    beforeAll(async () => {
      server = await start(['alice', 'bulk']);
      for (const file of files) server.deliver('alice', file);
      for (let i = 0; i < 300; i++) server.deliver('bulk', bulk(i));
    });
    afterAll(async () => {
      await server?.stop();
    });

    async function open(tls: TlsMode, user = 'alice', lineEnds: 'crlf' | 'lf' = 'crlf'): Promise<Pop3Session> {
      const session = await Pop3Session.connect({
        host: server.host,
        port: tls === 'implicit' ? server.popsPort : server.port,
        tls,
        tlsSettings: { ca: server.ca },
        timeoutMs: 10_000,
        lineEnds,
      });
      await session.login({ method: 'auto', user, secret: server.password(user), cleartextAllowed: true });
      return session;
    }

    for (const tls of ['none', 'implicit', 'starttls'] as const) {
      it(`the corpus arrives byte for byte over tls=${tls}`, async () => {
        for (const lineEnds of ['crlf', 'lf'] as const) {
          const session = await open(tls, 'alice', lineEnds);
          expect(session.secure).toBe(tls !== 'none');
          const messages = await session.listMessages();
          expect(messages).toHaveLength(files.length);
          const bodies = messages.map((m) => fetched(session, m));
          for (const [i, body] of bodies.entries()) {
            const served = server.serves(files[i]!);
            const want = lineEnds === 'lf' ? crlfToLf(served) : served;
            expect((await body).equals(want), `message ${i + 1} (${Object.keys(corpus)[i]})`).toBe(true);
          }
          await session.quit();
        }
      });
    }

    it('LIST sizes are the sizes of what RETR delivers', async () => {
      const session = await open('none');
      for (const m of await session.listMessages()) {
        const body = await fetched(session, m);
        // The CRLF a server adds to a message that does not end in one (Dovecot: only to an
        // empty message) is in what RETR sends, not in the size LIST gave.
        expect(body.length - m.size).toBeLessThanOrEqual(2);
      }
      await session.quit();
    });

    for (const method of ['user', 'plain', 'login', 'cram-md5', 'apop'] as AuthMethod[]) {
      it(`logs in with ${method}, and a wrong password is an AUTH error`, async () => {
        const connect = (): Promise<Pop3Session> => Pop3Session.connect({ host: server.host, port: server.port, tls: 'none' });
        const good = await connect();
        await good.login({ method, user: 'alice', secret: server.password('alice'), cleartextAllowed: true });
        await good.quit();
        const bad = await connect();
        await expect(bad.login({ method, user: 'alice', secret: 'nope', cleartextAllowed: true })).rejects.toMatchObject({ code: 'AUTH' });
        bad.destroy();
      });
    }

    it('pipelines 300 RETRs and then DELE + RSET', async () => {
      const session = await open('implicit', 'bulk');
      expect(session.caps?.has('PIPELINING')).toBe(true);
      const messages = await session.listMessages();
      expect(messages).toHaveLength(300);
      const bodies = messages.map((m) => fetched(session, m));
      const seen = new Set<number>();
      for (const body of bodies) {
        const text = (await body).toString();
        const i = Number(/^Subject: (\d+)/.exec(text)?.[1]);
        expect(text).toBe(server.serves(bulk(i)).toString());
        seen.add(i);
      }
      expect(seen.size).toBe(300);
      await Promise.all(messages.map((m) => session.dele(m.msgNo)));
      await session.rset();
      await session.quit();
      expect(server.stored('bulk')).toBe(300);
    });
  });
}

clientSuite('POP3 client against the dev server', describe, devServer);
clientSuite('POP3 client against a real Dovecot', describeWithDovecot, dovecot);
