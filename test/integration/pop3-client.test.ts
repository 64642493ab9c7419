import { afterEach, describe, expect, it } from 'vitest';
import type { BodyBounds, BodySink } from '../../src/pop3/client.js';
import { Pop3Error } from '../../src/pop3/errors.js';
import { Pop3Session, messageBounds, type MessageInfo } from '../../src/pop3/session.js';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { corpus, expectedBody, prng } from '../support/corpus.js';
import { PASSWORD, USER, fakeServer, memoryClient, memorySession, uidlsOn } from '../support/fake-pop3.js';
import { until } from '../support/until.js';

let server: DevPop3Server | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function expectPop3Error(promise: Promise<unknown>, code: string, message?: RegExp): Promise<Pop3Error> {
  const err = await promise.then(
    () => {
      throw new Error(`expected a ${code} error, but it succeeded`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Pop3Error);
  expect((err as Pop3Error).code).toBe(code);
  if (message) expect((err as Pop3Error).message).toMatch(message);
  return err as Pop3Error;
}

/** What a fetch hands retrTo (see prepare-message): bounds from the LIST size, and the UIDL that `UIDL n` must confirm. */
function asFetched(message: MessageInfo): { bounds: BodyBounds; uidl: string } {
  return { bounds: messageBounds(message.size), uidl: message.uidl };
}

/** RETR as a fetch runs it, into a sink that keeps the bytes; the count it resolves with must be theirs. */
async function fetched(session: Pop3Session, message: MessageInfo): Promise<Buffer> {
  const parts: Buffer[] = [];
  const sink: BodySink = { write: (chunk) => void parts.push(Buffer.from(chunk)) };
  const { bytes } = await session.retrTo(message.msgNo, sink, asFetched(message));
  const got = Buffer.concat(parts);
  expect(bytes).toBe(got.length);
  return got;
}

describe('framing through the client', () => {
  for (const [name, content] of Object.entries(corpus)) {
    it(`${name}: RETR cut at every byte boundary arrives byte for byte`, async () => {
      server = fakeServer([content]);
      let cutAt = -1;
      server.faults.cut = (reply) => (cutAt >= 0 && reply.length > 20 ? [cutAt] : []);
      for (const lineEnds of ['crlf', 'lf'] as const) {
        const session = await memorySession(server, { lineEnds });
        const [message] = await session.listMessages();
        const want = expectedBody(content, lineEnds);
        const wireLength = (await fetched(session, message!)).length + 64;
        // The confirming UIDL reply is cut too: it is longer than 20 bytes.
        for (cutAt = 1; cutAt < wireLength + 16; cutAt++) {
          const got = await fetched(session, message!);
          if (!got.equals(want)) expect({ cutAt, got: got.toString('latin1') }).toEqual({ cutAt, got: want.toString('latin1') });
        }
        cutAt = -1;
        await session.quit();
      }
    });
  }

  it('random chunkings of a pipelined run of the whole corpus', async () => {
    const contents = Object.values(corpus);
    server = fakeServer(contents);
    const random = prng(42);
    server.faults.cut = (reply) => {
      const cuts: number[] = [];
      for (let at = 0; at < reply.length; at += 1 + Math.floor(random() * 50)) cuts.push(at);
      return cuts;
    };
    const session = await memorySession(server, { lineEnds: 'lf' });
    const messages = await session.listMessages();
    expect(messages.map((m) => m.msgNo)).toEqual(contents.map((_, i) => i + 1));
    for (let round = 0; round < 20; round++) {
      const bodies = messages.map((m) => fetched(session, m));
      for (const [i, body] of bodies.entries()) {
        expect((await body).equals(expectedBody(contents[i]!, 'lf'))).toBe(true);
      }
    }
    await session.quit();
  });
});

describe('commands', () => {
  it('lists messages with UIDL and size, and deletes only at QUIT', async () => {
    server = fakeServer([Buffer.from('a\r\n'), Buffer.from('bb\r\n'), Buffer.from('ccc\r\n')]);
    const session = await memorySession(server);
    const list = await session.listMessages();
    expect(list.map((m) => m.size)).toEqual([3, 4, 5]);
    expect(new Set(list.map((m) => m.uidl)).size).toBe(3);
    await session.dele(2);
    expect(server.store.messages(USER)).toHaveLength(3);
    await session.quit();
    expect(uidlsOn(server)).toEqual([list[0]!.uidl, list[2]!.uidl]);
  });

  it('a dropped connection after DELE deletes nothing', async () => {
    server = fakeServer([Buffer.from('a\r\n')]);
    const session = await memorySession(server);
    await session.dele(1);
    session.destroy();
    await until(() => server!.sessions.size === 0, 2_000, 'the server to see the connection drop');
    expect(server.store.messages(USER)).toHaveLength(1);
  });

  it('TOP returns the header block', async () => {
    server = fakeServer([Buffer.from('Subject: x\r\nFrom: y\r\n\r\nbody line 1\r\nbody line 2\r\n')]);
    const sent: string[] = [];
    server.faults.script = ({ verb, args }) => void sent.push([verb, ...args].join(' '));
    const session = await memorySession(server);
    const [m] = await session.listMessages();
    // As a route reads headers (read-headers, prepare-message): TOP n 0, confirmed by UIDL n.
    const head: Buffer[] = [];
    await session.headTo(m!.msgNo, m!.uidl, m!.size, { write: (chunk) => void head.push(Buffer.from(chunk)) });
    expect(Buffer.concat(head).toString()).toBe('Subject: x\r\nFrom: y\r\n\r\n');
    expect(sent.slice(-2)).toEqual(['TOP 1 0', 'UIDL 1']);
    const more: Buffer[] = [];
    await session.client.bodyTo('TOP 1 1', { write: (chunk) => void more.push(Buffer.from(chunk)) });
    expect(Buffer.concat(more).toString()).toBe('Subject: x\r\nFrom: y\r\n\r\nbody line 1\r\n');
  });

  it('pipelines RETR and DELE when offered, within the window', async () => {
    const n = 40;
    server = fakeServer(Array.from({ length: n }, (_, i) => Buffer.from(`Subject: ${i}\r\n\r\nbody ${i}\r\n`)));
    let maxAhead = 0;
    server.faults.script = ({ session }) => {
      maxAhead = Math.max(maxAhead, session.commandsAhead);
      return undefined;
    };
    const session = await memorySession(server, { pipelineWindow: 8 });
    const list = await session.listMessages();
    const bodies = list.map((m) => fetched(session, m));
    for (const [i, body] of bodies.entries()) expect((await body).toString()).toBe(`Subject: ${i}\r\n\r\nbody ${i}\r\n`);
    await Promise.all(list.map((m) => session.dele(m.msgNo)));
    await session.quit();
    expect(maxAhead).toBeGreaterThan(1);
    expect(maxAhead).toBeLessThanOrEqual(8);
    expect(server.store.messages(USER)).toHaveLength(0);
  });

  it('sends PASS only once USER is accepted, even to a server that offers PIPELINING', async () => {
    // Pipelined, a refused USER would still be handed the password; and Dovecot answers PASS
    // from another process than USER, whose reply then waits ~40 ms for the client's delayed ACK.
    server = fakeServer([Buffer.from('a\r\n')]);
    const ahead: Record<string, number> = {};
    server.faults.script = ({ verb, session }) => {
      ahead[verb] = session.commandsAhead;
      return undefined;
    };
    const session = await memorySession(server);
    await session.quit();
    expect(ahead).toMatchObject({ USER: 1, PASS: 1 });
  });

  it('never sends the password after a refused USER', async () => {
    server = fakeServer([Buffer.from('a\r\n')]);
    const commands: string[] = [];
    server.faults.script = ({ verb }) => {
      commands.push(verb);
      return verb === 'USER' ? { reply: '-ERR no such mailbox\r\n' } : undefined;
    };
    const session = await Pop3Session.over(memoryClient(server));
    await expect(session.login({ method: 'user', user: USER, secret: PASSWORD, cleartextAllowed: true })).rejects.toThrow(/no such mailbox/);
    session.destroy();
    expect(commands).not.toContain('PASS');
  });

  it('sends one command at a time when the server does not offer PIPELINING', async () => {
    server = fakeServer(Array.from({ length: 10 }, (_, i) => Buffer.from(`m${i}\r\n`)));
    server.faults.without = ['PIPELINING'];
    let maxAhead = 0;
    server.faults.script = ({ session }) => {
      maxAhead = Math.max(maxAhead, session.commandsAhead);
      return undefined;
    };
    const session = await memorySession(server);
    const list = await session.listMessages();
    const bodies = list.map((m) => fetched(session, m));
    for (const body of bodies) await body;
    await session.quit();
    expect(maxAhead).toBe(1);
  });

  it('works without CAPA (RFC 1939 only)', async () => {
    server = fakeServer([Buffer.from('x\r\n')]);
    server.faults.without = ['CAPA'];
    const session = await memorySession(server);
    expect(session.caps).toBeNull();
    expect(await session.listMessages()).toHaveLength(1);
  });

  it('reports a server without UIDL as UNSUPPORTED', async () => {
    server = fakeServer([Buffer.from('x\r\n')]);
    server.faults.without = ['UIDL'];
    const session = await memorySession(server);
    await expectPop3Error(session.listMessages(), 'UNSUPPORTED', /UIDL/);
  });

  it('a -ERR to one RETR rejects only that command', async () => {
    server = fakeServer([Buffer.from('one\r\n'), Buffer.from('two\r\n')]);
    server.faults.script = ({ verb, args }) =>
      verb === 'RETR' && args[0] === '1' ? { reply: '-ERR Message was expunged\r\n' } : undefined;
    const session = await memorySession(server);
    const [one, two] = await session.listMessages();
    const first = fetched(session, one!);
    const second = fetched(session, two!);
    await expectPop3Error(first, 'REFUSED', /RETR 1.*expunged/);
    expect((await second).toString()).toBe('two\r\n');
  });
});

describe('bodies into a sink', () => {
  it('delivers every byte, with async writes kept in order', async () => {
    const contents = Object.values(corpus);
    server = fakeServer(contents);
    server.faults.cut = (reply) => Array.from({ length: Math.floor(reply.length / 61) }, (_, k) => k * 61);
    const session = await memorySession(server, { lineEnds: 'lf' });
    const list = await session.listMessages();
    const received: Buffer[][] = list.map(() => []);
    const done = list.map((m, i) =>
      session.retrTo(
        m.msgNo,
        {
          write: async (chunk) => {
            // Slow, uneven writes (a Maildir's are asynchronous): later chunks must still land after earlier ones.
            await new Promise((r) => setTimeout(r, chunk.length % 3));
            received[i]!.push(Buffer.from(chunk));
          },
        },
        asFetched(m),
      ),
    );
    const sizes = await Promise.all(done);
    for (const [i, content] of contents.entries()) {
      expect(Buffer.concat(received[i]!).equals(expectedBody(content, 'lf'))).toBe(true);
      expect(sizes[i]!.bytes).toBe(expectedBody(content, 'lf').length);
    }
    await session.quit();
  });

  it('a sink that fails gets its error back, and the connection carries on', async () => {
    server = fakeServer([Buffer.alloc(100_000, 'a'), Buffer.from('second\r\n')]);
    const session = await memorySession(server);
    const [one, two] = await session.listMessages();
    const disk = new Error('ENOSPC: no space left on device');
    const throwing: BodySink = {
      write: () => {
        throw disk;
      },
    };
    const first = session.retrTo(1, throwing, asFetched(one!));
    const second = session.retrTo(2, { write: () => Promise.reject(disk) }, asFetched(two!));
    await expect(first).rejects.toBe(disk);
    await expect(second).rejects.toBe(disk);
    expect((await fetched(session, two!)).toString()).toBe('second\r\n');
    await session.quit();
  });

  it('a dropped connection rejects a sink body with CLOSED', async () => {
    server = fakeServer([Buffer.alloc(50_000, 'a')]);
    server.faults.script = ({ verb }) => (verb === 'RETR' ? { dropAfterBytes: 5_000 } : undefined);
    const session = await memorySession(server);
    const [m] = await session.listMessages();
    await expectPop3Error(session.retrTo(1, { write: () => {} }, asFetched(m!)), 'CLOSED');
  });
});

describe('typed errors instead of hangs or crashes', () => {
  it('[IN-USE] and [LOGIN-DELAY] at login', async () => {
    server = fakeServer();
    for (const [code, respCode] of [
      ['IN_USE', 'IN-USE'],
      ['LOGIN_DELAY', 'LOGIN-DELAY'],
      ['SYS_TEMP', 'SYS/TEMP'],
      ['SYS_PERM', 'SYS/PERM'],
      ['AUTH', 'AUTH'],
    ] as const) {
      server.faults.script = ({ verb }) => (verb === 'PASS' ? { reply: `-ERR [${respCode}] try later\r\n` } : undefined);
      const session = await Pop3Session.over(memoryClient(server));
      await expectPop3Error(session.login({ method: 'user', user: USER, secret: PASSWORD, cleartextAllowed: true }), code);
    }
  });

  it('a greeting that is not POP3', async () => {
    server = fakeServer();
    server.faults.greeting = 'SSH-2.0-OpenSSH_9.2';
    await expectPop3Error(memoryClient(server).greeting, 'PROTOCOL', /not a POP3 reply/);
  });

  it('a -ERR greeting', async () => {
    server = fakeServer();
    server.faults.greeting = '-ERR [SYS/TEMP] too many connections';
    await expectPop3Error(memoryClient(server).greeting, 'SYS_TEMP');
  });

  it('an overlong status line', async () => {
    server = fakeServer();
    server.faults.greeting = `+OK ${'x'.repeat(100_000)}`;
    await expectPop3Error(memoryClient(server).greeting, 'PROTOCOL', /longer than/);
  });

  it('an overlong listing line (compare CVE-2005-2335)', async () => {
    server = fakeServer([Buffer.from('x\r\n')]);
    server.faults.script = ({ verb }) => (verb === 'UIDL' ? { reply: `+OK\r\n1 ${'A'.repeat(5000)}\r\n.\r\n` } : undefined);
    const session = await memorySession(server);
    await expectPop3Error(session.listMessages(), 'PROTOCOL', /longer than/);
  });

  it('garbage and out-of-range UIDL listings', async () => {
    server = fakeServer([Buffer.from('x\r\n'), Buffer.from('y\r\n')]);
    const replies = [
      ['+OK\r\n1 abc\r\n3 def\r\n.\r\n', /lists message 3/],
      ['+OK\r\n1 abc\r\n1 def\r\n.\r\n', /twice/],
      ['+OK\r\nhello world\r\n.\r\n', /malformed UIDL/],
    ] as const;
    for (const [reply, message] of replies) {
      server.faults.script = ({ verb }) => (verb === 'UIDL' ? { reply } : undefined);
      const session = await memorySession(server);
      await expectPop3Error(session.listMessages(), 'PROTOCOL', message);
    }
  });

  it('messages a listing does not identify (a UIDL shared, or no unique-id) are set apart, the rest listed', async () => {
    server = fakeServer([Buffer.from('x\r\n'), Buffer.from('y\r\n'), Buffer.from('z\r\n')]);
    const replies = [
      ['+OK\r\n1 abc\r\n2 abc\r\n3 def\r\n.\r\n', [{ msgNo: 1, uidl: 'abc', why: 'shared with message 2' }, { msgNo: 2, uidl: 'abc', why: 'shared with message 1' }]],
      ['+OK\r\n1 ab\x01c\r\n2 ok\r\n3 def\r\n.\r\n', [{ msgNo: 1, uidl: 'ab\x01c', why: expect.stringMatching(/not a valid unique-id/) }]],
      [`+OK\r\n1 ${'a'.repeat(71)}\r\n2 ok\r\n3 def\r\n.\r\n`, [{ msgNo: 1, uidl: 'a'.repeat(71), why: expect.stringMatching(/not a valid unique-id/) }]],
    ] as const;
    for (const [reply, unidentified] of replies) {
      server.faults.script = ({ verb }) => (verb === 'UIDL' ? { reply } : undefined);
      const session = await memorySession(server);
      const listing = await session.listUidls({ sizes: 'with-listing' });
      expect(listing.unidentified).toEqual(unidentified);
      expect(listing.messages.map((m) => m.msgNo)).toEqual([1, 2, 3].filter((n) => !unidentified.some((u) => u.msgNo === n)));
      await session.quit();
    }
  });

  it('a reply that is neither +OK nor -ERR fails the command and every one queued behind it', async () => {
    server = fakeServer([Buffer.from('x\r\n')]);
    server.faults.script = ({ verb }) => (verb === 'RETR' ? { reply: 'HTTP/1.1 400 Bad Request\r\n' } : undefined);
    const session = await memorySession(server);
    const [m] = await session.listMessages();
    const retr = fetched(session, m!);
    const dele = session.dele(1);
    await expectPop3Error(retr, 'PROTOCOL', /not a POP3 reply/);
    await expectPop3Error(dele, 'PROTOCOL');
  });

  it('a body longer than LIST announced', async () => {
    server = fakeServer([Buffer.from('short\r\n')]);
    const endless = Buffer.concat([Buffer.from('+OK\r\n'), Buffer.alloc(300_000, 'z')]);
    server.faults.script = ({ verb }) => (verb === 'RETR' ? { reply: endless } : undefined);
    const session = await memorySession(server);
    const [message] = await session.listMessages();
    const err = await expectPop3Error(fetched(session, message!), 'PROTOCOL', /more than \d+ bytes, though LIST announced \d+/);
    expect(err.msgNo).toBe(1);
  });

  it('the connection dropped mid-body: the body errors, queued commands reject, nothing crashes', async () => {
    server = fakeServer([Buffer.alloc(50_000, 'a'), Buffer.from('b\r\n')]);
    server.faults.script = ({ verb, args }) => (verb === 'RETR' && args[0] === '1' ? { dropAfterBytes: 10_000 } : undefined);
    const session = await memorySession(server);
    const [one, two] = await session.listMessages();
    const first = fetched(session, one!);
    const second = fetched(session, two!);
    const dele = session.dele(2);
    const err = await expectPop3Error(first, 'CLOSED');
    expect(err.inTransfer).toBe(1);
    await expectPop3Error(second, 'CLOSED');
    await expectPop3Error(dele, 'CLOSED');
    await expectPop3Error(session.quit(), 'CLOSED');
  });

  it('a stall times out every pending command', async () => {
    server = fakeServer([Buffer.from('a\r\n'), Buffer.from('b\r\n')]);
    server.faults.script = ({ verb }) => (verb === 'RETR' ? { stall: true } : undefined);
    const session = await memorySession(server, { timeoutMs: 200 });
    const [one, two] = await session.listMessages();
    const started = Date.now();
    const first = fetched(session, one!);
    const second = fetched(session, two!);
    await expectPop3Error(first, 'TIMEOUT', /within/);
    await expectPop3Error(second, 'TIMEOUT');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a stall in the middle of a body times out the body', async () => {
    server = fakeServer([Buffer.alloc(20_000, 'a')]);
    server.faults.script = ({ verb }) => (verb === 'RETR' ? { reply: '+OK\r\npartial line\r\n' } : undefined);
    const session = await memorySession(server, { timeoutMs: 200 });
    const [m] = await session.listMessages();
    await expectPop3Error(fetched(session, m!), 'TIMEOUT');
  });

  it('a slow consumer does not trip the timeout', async () => {
    server = fakeServer([Buffer.alloc(2_000_000, 'a')]);
    const session = await memorySession(server, { timeoutMs: 300 });
    const [m] = await session.listMessages();
    let total = 0;
    const slow: BodySink = {
      // A sink that takes its time, and once far longer than the timeout: a reply is owed all along.
      write: async (chunk) => {
        total += chunk.length;
        if (total < 1_000_000) await new Promise((r) => setTimeout(r, 2));
        else if (total - chunk.length < 1_000_000) await new Promise((r) => setTimeout(r, 600));
      },
    };
    const { bytes } = await session.retrTo(1, slow, asFetched(m!));
    expect(total).toBe(2_000_002);
    expect(bytes).toBe(total);
    await session.quit();
  });

  it('unsolicited data after the last reply is a protocol error', async () => {
    server = fakeServer();
    server.faults.script = ({ verb }) => (verb === 'NOOP' ? { append: '+OK surprise\r\n' } : undefined);
    const session = await memorySession(server);
    await session.noop();
    await until(() => session.client.broken, 2_000, 'the client to refuse the stray reply');
    await expectPop3Error(session.noop(), 'PROTOCOL', /unexpected data from server: "\+OK surprise"/);
  });

  it('an unsolicited -ERR followed by the close is a closed connection, in the server\'s words', async () => {
    server = fakeServer([Buffer.from('x\r\n')]);
    server.faults.idleTimeout = { ms: 100, text: 'Session timed out' };
    const session = await memorySession(server);
    await until(() => session.client.broken, 2_000, 'the server to hang up');
    await expectPop3Error(session.noop(), 'CLOSED', /the server closed the connection \(it said "-ERR Session timed out"\)/);
  });

  it('never sends a command line with a line break in it', async () => {
    server = fakeServer();
    const session = await Pop3Session.over(memoryClient(server));
    await expectPop3Error(
      session.login({ method: 'user', user: USER, secret: 'pw\r\nDELE 1', cleartextAllowed: true }),
      'PROTOCOL',
      /line break/,
    );
  });

  it('checks the bytes on the wire, not the string: characters that are CR and LF in Latin-1 go as UTF-8, and NUL is refused', async () => {
    server = fakeServer();
    const password = 'pw\u010d\u010aDELE 1';
    server.store.addUser(USER, password);
    const lines: string[] = [];
    server.faults.script = ({ verb, args }) => void lines.push([verb, ...args].join(' '));
    const session = await Pop3Session.over(memoryClient(server));
    await session.login({ method: 'user', user: USER, secret: password, cleartextAllowed: true });
    // The server read the line as Latin-1: one PASS, the password's UTF-8 bytes, and no DELE.
    expect(lines.filter((l) => l !== 'CAPA')).toEqual(['USER alice', `PASS ${Buffer.from(password, 'utf8').toString('latin1')}`]);
    await expectPop3Error(session.client.command('NOOP \0'), 'PROTOCOL', /line break or NUL/);
  });

  it('strikes the secret, and what it became on the wire, from what the server says', async () => {
    server = fakeServer();
    const secret = 'Hunter2-secret';
    server.faults.script = ({ verb, args }) =>
      verb === 'PASS' || verb === 'AUTH' ? { reply: `-ERR [AUTH] you sent ${args.join(' ')} = ${secret} = ${Buffer.from(secret).toString('base64')}\r\n` } : undefined;
    const traced: string[] = [];
    for (const method of ['user', 'plain'] as const) {
      const client = memoryClient(server, { secrets: [secret], trace: (_d, text) => traced.push(text) });
      const session = await Pop3Session.over(client);
      const refused = await session.login({ method, user: USER, secret, cleartextAllowed: true }).then(
        () => null,
        (err: Pop3Error) => err,
      );
      expect(refused?.code).toBe('AUTH');
      const plainBlob = Buffer.from(`\0${USER}\0${secret}`).toString('base64');
      for (const text of [refused!.message, refused!.serverText!, ...traced]) {
        expect(text).not.toContain(secret);
        expect(text).not.toContain(Buffer.from(secret).toString('base64'));
        expect(text).not.toContain(plainBlob);
      }
      expect(refused!.message).toMatch(/you sent (PLAIN )?\*\*\*\* = \*\*\*\* = \*\*\*\*/);
      session.destroy();
    }
  });
});
