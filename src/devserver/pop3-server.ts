import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { ServerFaults } from './faults.js';
import { MailStore } from './mailstore.js';
import { DevSession } from './session.js';

export type { CommandEvent, ReplySource, ScriptAction, ScriptedSession, ServerFaults } from './faults.js';
export { DevSession } from './session.js';

/**
 * A small, correct POP3 server for the demo, the tests and the benchmarks, with the faults
 * of faults.ts, which a real server will not produce on demand. This file holds the
 * listeners and the state sessions share; session.ts serves each connection.
 */

export interface DevServerOptions {
  /** Certificate and key (PEM) for POP3S and STLS. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Offer APOP in the greeting. */
  apop?: boolean;
  hostname?: string;
}

export interface Listening {
  port: number;
  close: () => Promise<void>;
}

export class DevPop3Server {
  readonly store = new MailStore();
  faults: ServerFaults = {};
  readonly sessions = new Set<DevSession>();
  readonly locked = new Set<string>();
  /** Every QUIT that committed, for assertions. */
  readonly commits: { user: string; deleted: string[] }[] = [];
  private readonly servers: net.Server[] = [];

  constructor(readonly options: DevServerOptions = {}) {}

  get secureContext(): tls.SecureContext | undefined {
    return this.options.tls ? tls.createSecureContext(this.options.tls) : undefined;
  }

  /** Serves one connection (any duplex: a socket, or an in-memory pipe). */
  attach(stream: Duplex, secure = false): DevSession {
    const session = new DevSession(this, stream, secure);
    this.sessions.add(session);
    return session;
  }

  async listen(mode: 'plain' | 'implicit' = 'plain', port = 0, host = '127.0.0.1'): Promise<Listening> {
    const server =
      mode === 'implicit'
        ? tls.createServer({ ...this.requireTls() }, (s) => this.attach(s, true))
        : net.createServer((s) => this.attach(s));
    // A client that hangs up mid-handshake must not bring the server down.
    server.on('tlsClientError', () => {});
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address() as net.AddressInfo;
    return {
      port: address.port,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  async close(): Promise<void> {
    for (const session of this.sessions) session.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.servers.length = 0;
  }

  requireTls(): { cert: string | Buffer; key: string | Buffer } {
    if (!this.options.tls) throw new Error('DevPop3Server: TLS needs options.tls');
    return this.options.tls;
  }
}
