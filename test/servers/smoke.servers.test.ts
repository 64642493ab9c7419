import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { crlfToLf, describeWithRealServer, REAL_SERVERS, startRealServer, type RealServer } from '../support/real-servers.js';

/**
 * Each real server answers the commands pinchmail relies on, over a raw socket (no
 * project code): the harness works and the server is what the other suites assume.
 */

class RawPop3 {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private closed = false;
  private readonly socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<RawPop3> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(new RawPop3(socket)));
      socket.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** One line without its CRLF. */
  async line(): Promise<string> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i !== -1) {
        const line = this.buf.subarray(0, i).toString('latin1');
        this.buf = this.buf.subarray(i + 2);
        return line;
      }
      if (this.closed) throw new Error(`connection closed; left: ${JSON.stringify(this.buf.toString('latin1'))}`);
      if (Date.now() > deadline) throw new Error('no complete line within 10 s');
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 250);
      });
    }
  }

  /** The body of a multi-line reply, dot-unstuffed, up to the terminating ".". */
  async multiline(): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const l = await this.line();
      if (l === '.') return lines;
      lines.push(l.startsWith('.') ? l.slice(1) : l);
    }
  }

  async command(cmd: string): Promise<string> {
    this.socket.write(`${cmd}\r\n`);
    return this.line();
  }

  close(): void {
    this.socket.destroy();
  }
}

const MESSAGE = Buffer.from(
  'From: Smoke Tester <smoke@example.org>\r\n'
    + 'To: someone@example.org\r\n'
    + 'Subject: smoke\r\n'
    + 'Message-ID: <smoke-1@example.org>\r\n'
    + '\r\n'
    + 'first line\r\n'
    + '.a line with a leading dot\r\n'
    + 'From here on, a line that mbox must quote\r\n'
    + 'last line\r\n',
);

for (const which of REAL_SERVERS) {
  describeWithRealServer(`${which}: raw POP3 smoke test`, which, () => {
    let server: RealServer;

    beforeAll(async () => {
      server = await startRealServer(which);
    });

    afterAll(async () => {
      await server?.stop();
    });

    it('logs in and answers CAPA, STAT, UIDL, LIST, RETR, TOP and QUIT', async () => {
      server.deliver(MESSAGE);
      expect(server.count()).toBe(1);
      // Stored as local LF lines; the servers serve CRLF.
      expect(server.contents()[0]!.equals(crlfToLf(MESSAGE))).toBe(true);

      const pop = await RawPop3.connect(server.port);
      try {
        expect(await pop.line()).toMatch(/^\+OK/);
        expect(await pop.command(`USER ${server.user}`)).toMatch(/^\+OK/);
        expect(await pop.command(`PASS ${server.password}`)).toMatch(/^\+OK/);

        // popa3d has no CAPA (RFC 2449 is optional): "-ERR" is a valid answer there.
        const capa = await pop.command('CAPA');
        if (which === 'popa3d') {
          expect(capa).toMatch(/^-ERR/);
        } else {
          expect(capa).toMatch(/^\+OK/);
          const caps = (await pop.multiline()).map((c) => c.split(' ')[0]!.toUpperCase());
          expect(caps).toEqual(expect.arrayContaining(['TOP', 'UIDL', 'USER']));
        }

        const stat = await pop.command('STAT');
        expect(stat).toMatch(/^\+OK 1 \d+/);

        expect(await pop.command('UIDL')).toMatch(/^\+OK/);
        const uidl = await pop.multiline();
        expect(uidl).toHaveLength(1);
        expect(uidl[0]).toMatch(/^1 [\x21-\x7e]{1,70}$/);

        expect(await pop.command('LIST')).toMatch(/^\+OK/);
        const list = await pop.multiline();
        expect(list).toHaveLength(1);
        const [, size] = list[0]!.split(' ');
        expect(Number(size)).toBeGreaterThan(0);

        expect(await pop.command('RETR 1')).toMatch(/^\+OK/);
        const body = await pop.multiline();
        expect(body).toContain('Subject: smoke');
        expect(body).toContain('.a line with a leading dot');
        expect(body.some((l) => /^>?From here on/.test(l))).toBe(true);
        expect(body[body.length - 1]).toBe('last line');

        expect(await pop.command('TOP 1 0')).toMatch(/^\+OK/);
        const top = await pop.multiline();
        expect(top).toContain('Subject: smoke');
        expect(top).not.toContain('first line');
        // The header block, then the blank line that ends it.
        expect(top[top.length - 1]).toBe('');
        expect(body.slice(0, top.length)).toEqual(top);

        expect(await pop.command('QUIT')).toMatch(/^\+OK/);
      } finally {
        pop.close();
      }
      // No DELE: the message is still there.
      expect(server.count()).toBe(1);
    });
  });
}
