import { randomBytes } from 'node:crypto';
import { Readable, type Duplex } from 'node:stream';
import tls from 'node:tls';
import { SASL_MECHANISMS, authorizationCommands, type Authorization } from './auth.js';
import { transactionCommands, type Transaction } from './commands.js';
import { ReplyWriter, offers, replyOf, type ScriptAction, type ScriptedSession, type ServerFaults } from './faults.js';
import { Maildrop } from './maildrop.js';
import type { MailStore } from './mailstore.js';
import { err, multi, ok, type Reply } from './replies.js';

/**
 * What a session needs of the server that accepted it (DevPop3Server is one), declared here
 * so that session.ts does not import pop3-server.ts back.
 */
export interface SessionHost {
  readonly store: MailStore;
  /** Read at each use: tests change faults while sessions are open. */
  readonly faults: ServerFaults;
  readonly options: { readonly hostname?: string; readonly apop?: boolean; readonly tls?: object };
  readonly secureContext: tls.SecureContext | undefined;
  readonly sessions: Set<DevSession>;
  readonly locked: Set<string>;
  readonly commits: { user: string; deleted: string[] }[];
}

const enum Phase {
  Authorization,
  Transaction,
  Closed,
}

/**
 * One client connection: its lines read as commands in RFC 1939's states, and every reply
 * queued on `out`, which applies the faults. Handlers live in auth.ts and commands.ts; the
 * session keeps what outlives one command, and the commands that change the connection
 * itself (STLS, QUIT) or do not depend on the state (CAPA, NOOP, UTF8).
 */
export class DevSession implements ScriptedSession {
  private stream: Duplex;
  private secure: boolean;
  private phase = Phase.Authorization;
  private input: Buffer = Buffer.alloc(0);
  private user: string | null = null;
  /** Empty until login, and kept after QUIT: a command pipelined behind QUIT is still answered from it. */
  private maildrop = new Maildrop([]);
  private readonly stamp: string;
  private readonly out: ReplyWriter;
  private commandCount = 0;
  /** Client lines taken: commands and SASL answers. */
  private requests = 0;
  private upgrading = false;
  /** Pending SASL exchange: gets the client's next line. */
  private saslStep: ((line: string) => void) | null = null;
  /** The client sent UTF8 (RFC 6856). */
  private utf8 = false;
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly server: SessionHost,
    stream: Duplex,
    secure: boolean,
  ) {
    this.stream = stream;
    this.secure = secure;
    this.out = new ReplyWriter(server, () => this.stream);
    this.stamp = `<${process.pid}.${randomBytes(6).toString('hex')}@${server.options.hostname ?? 'pinchmail.test'}>`;
    this.listen(stream);
    stream.on('close', () => this.closed());
    this.armIdleTimer();
    const greeting = server.faults.greeting ?? `+OK POP3 ready${server.options.apop ? ` ${this.stamp}` : ''}`;
    this.out.send(typeof greeting === 'string' ? Buffer.from(`${greeting}\r\n`, 'latin1') : Readable.from(greeting()), Date.now());
  }

  get username(): string | null {
    return this.user;
  }

  get commandsAhead(): number {
    return this.requests - this.out.answered;
  }

  destroy(): void {
    this.stream.destroy();
  }

  private listen(stream: Duplex): void {
    stream.on('data', this.onData);
    stream.on('error', () => this.closed());
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.out.stalled || this.upgrading || this.phase === Phase.Closed) return;
    const arrived = Date.now();
    this.input = this.input.length ? Buffer.concat([this.input, chunk]) : chunk;
    let lf: number;
    while (!this.out.stalled && !this.upgrading && (lf = this.input.indexOf(0x0a)) !== -1) {
      const line = this.input.subarray(0, lf).toString('latin1').replace(/\r$/, '');
      this.input = this.input.subarray(lf + 1);
      this.handle(line, arrived);
    }
    if (this.input.length > 64 * 1024) this.destroy();
  };

  private closed(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.phase = Phase.Closed;
    if (this.user) this.server.locked.delete(this.user);
    this.server.sessions.delete(this);
  }

  private has(cap: string): boolean {
    return offers(this.server.faults, cap);
  }

  private capabilities(): string[] {
    const sasl = this.server.faults.sasl ?? SASL_MECHANISMS;
    const caps = ['TOP', 'UIDL', 'RESP-CODES', 'PIPELINING', 'AUTH-RESP-CODE', 'USER', `SASL ${sasl.join(' ')}`];
    if (this.server.faults.utf8Gate) caps.push('UTF8');
    if (this.server.options.tls && !this.secure && this.phase === Phase.Authorization) caps.push('STLS');
    if (this.phase === Phase.Transaction) {
      return caps.filter((c) => !c.startsWith('SASL') && c !== 'USER' && c !== 'STLS' && this.has(c.split(' ')[0]!));
    }
    return caps.filter((c) => this.has(c.split(' ')[0]!));
  }

  /** The idle timeout (a fault): restarted by every command, and when it fires the server says goodbye unasked. */
  private armIdleTimer(): void {
    const idle = this.server.faults.idleTimeout;
    if (!idle) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.phase === Phase.Closed) return;
      this.phase = Phase.Closed;
      this.out.send(err(idle.text ?? 'Session timed out'), Date.now());
      this.out.after(() => this.destroy());
    }, idle.ms);
  }

  private handle(line: string, arrived: number): void {
    this.requests++;
    this.armIdleTimer();
    if (this.saslStep) {
      const step = this.saslStep;
      this.saslStep = null;
      step(line);
      return;
    }
    const [rawVerb = '', ...args] = line.split(' ');
    const verb = rawVerb.toUpperCase();
    this.out.verb = verb;
    this.commandCount++;
    const action = this.server.faults.script?.({ verb, args, count: this.commandCount, session: this });
    if (action?.stall) {
      // Whatever is given as the reply (a partial one, say) goes out first.
      if (action.reply !== undefined) this.out.send(replyOf(action.reply), arrived);
      this.out.stall();
      return;
    }
    if (action?.drop) {
      this.out.after(() => this.destroy());
      return;
    }
    if (action?.reply !== undefined) {
      this.out.send(replyOf(action.reply), arrived, action);
      return;
    }
    const reply = this.execute(verb, args, arrived, action);
    if (reply) this.out.send(reply, arrived, action);
  }

  private execute(verb: string, args: string[], arrived: number, action?: ScriptAction): Reply | null {
    if (verb === 'QUIT') return this.quit(arrived, action);
    if (verb === 'CAPA') return this.has('CAPA') ? multi(this.capabilities()) : err('unknown command');
    if (verb === 'NOOP') return ok();
    if (verb === 'UTF8' && this.server.faults.utf8Gate) {
      this.utf8 = true;
      return ok('UTF8 enabled');
    }
    if (this.phase === Phase.Authorization) {
      if (verb === 'STLS') return this.stls(arrived, action);
      const command = authorizationCommands.get(verb);
      return command ? command(this.authorization(), args, arrived) : err('not logged in');
    }
    const command = transactionCommands.get(verb);
    return command ? command(this.transaction(), args, arrived) : err('unknown command');
  }

  private authorization(): Authorization {
    return {
      server: this.server,
      stamp: this.stamp,
      user: this.user,
      name: (user) => {
        this.user = user;
      },
      send: (reply, arrived) => this.out.send(reply, arrived),
      nextLine: (take) => {
        this.saslStep = take;
      },
      open: (user) => {
        this.user = user;
        this.maildrop = new Maildrop(this.server.store.messages(user));
        this.phase = Phase.Transaction;
      },
    };
  }

  private transaction(): Transaction {
    return { maildrop: this.maildrop, faults: this.server.faults, utf8: this.utf8 };
  }

  private stls(arrived: number, action?: ScriptAction): Buffer | null {
    if (!this.server.options.tls || this.secure || !this.has('STLS')) return err('STLS not available');
    this.upgrading = true;
    this.out.send(ok('Begin TLS negotiation now.'), arrived, action);
    this.out.after(() => {
      const raw = this.stream;
      raw.off('data', this.onData);
      const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: this.server.secureContext });
      secure.on('error', () => this.closed());
      this.stream = secure;
      this.secure = true;
      this.input = Buffer.alloc(0);
      this.upgrading = false;
      this.listen(secure);
    });
    return null;
  }

  private quit(arrived: number, action?: ScriptAction): null {
    if (this.phase === Phase.Transaction && this.user) {
      const { deleted } = this.maildrop;
      this.server.store.remove(this.user, deleted);
      this.server.commits.push({ user: this.user, deleted: [...deleted].map((m) => m.uidl) });
      this.server.locked.delete(this.user);
    }
    this.phase = Phase.Closed;
    this.out.send(ok('Logging out.'), arrived, action);
    this.out.after(() => {
      this.stream.end();
    });
    return null;
  }
}
