import { Readable } from 'node:stream';
import { afterEach, expect, it } from 'vitest';
import { Pop3Session, messageBounds } from '../../src/pop3/session.js';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { PASSWORD, USER, fakeServer } from '../support/fake-pop3.js';

let server: DevPop3Server | undefined;
afterEach(async () => {
  await server?.close();
});

it('a slow sink pauses the socket: a 48 MB body never piles up in memory', async () => {
  const line = Buffer.from(`${'x'.repeat(1022)}\r\n`);
  const lines = 48 * 1024;
  let produced = 0;
  server = fakeServer();
  server.store.add(USER, {
    size: line.length * lines,
    open: () =>
      Readable.from(
        (function* () {
          for (let i = 0; i < lines; i++) {
            produced += line.length;
            yield line;
          }
        })(),
      ),
  });
  const { port } = await server.listen('plain');
  const session = await Pop3Session.connect({ host: '127.0.0.1', port, tls: 'none', timeoutMs: 5_000 });
  await session.login({ method: 'user', user: USER, secret: PASSWORD, cleartextAllowed: true });
  const [message] = await session.listMessages();
  let consumed = 0;
  let maxAhead = 0;
  let writes = 0;
  // As a fetch retrieves (prepare-message): bounded, confirmed by UIDL n, into a sink whose
  // writes are asynchronous now and then, as a Maildir's are, and slower than loopback.
  const received = await session.retrTo(
    1,
    {
      write(chunk) {
        consumed += chunk.length;
        maxAhead = Math.max(maxAhead, produced - consumed);
        if (++writes % 4 === 0) return new Promise<void>((resolve) => setTimeout(resolve, 10));
      },
    },
    { bounds: messageBounds(message!.size), uidl: message!.uidl },
  );
  await session.quit();
  expect(consumed).toBe(line.length * lines);
  expect(received.bytes).toBe(consumed);
  // Kernel socket buffers and the server's stream buffers, not the message.
  expect(maxAhead).toBeLessThan(16 * 1024 * 1024);
});
