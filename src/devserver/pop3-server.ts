import { createHash, createHmac, randomBytes } from 'node:crypto';
import net from 'node:net';
import { Readable, type Duplex } from 'node:stream';
import tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { DotStuffer, dotStuff } from './dot-stuff.js';
import { MailStore, contentSize, type DevMessage } from './mailstore.js';

/**
 * A small, correct POP3 server for the demo, the tests and the benchmarks, with
 * faults that a real server will not produce on demand: every reply can be cut into
 * chosen pieces, delayed, truncated or replaced, and the connection dropped or stalled
 * at any command. Faults are inert unless set.
 */

export interface CommandEvent {
  verb: string;
  args: string[];
  /** Commands seen so far in this session, this one included. */
  count: number;
  session: DevSession;
}

/** Bytes made as they are sent: a reply too large to hold, or one trickled a byte at a time. */
export type ReplySource = () => AsyncIterable<Buffer>;

export interface ScriptAction {
  /** Send exactly these bytes instead of the normal reply (no state change). */
  reply?: string | Buffer | ReplySource;
  /** Close the connection at once, without a reply. */
  drop?: boolean;
  /** Send the normal reply but only its first N bytes, then close. */
  dropAfterBytes?: number;
  /** Never answer this or anything after it (after sending `reply`, if given). */
  stall?: boolean;
  /** Hold this reply back for so long. */
  delayMs?: number;
  /** Send these bytes right after the normal reply (an injection). */
  append?: string | Buffer;
}

export interface ServerFaults {
  /** Replaces the greeting line (no CRLF), or sends these bytes as they are made instead. */
  greeting?: string | ReplySource;
  /** Capabilities (and commands) the server pretends not to have: UIDL, TOP, PIPELINING, STLS, USER, SASL, RESP-CODES, CAPA. */
  without?: string[];
  /** Cuts every reply at these offsets; called per reply with its bytes and the session's reply count. */
  cut?: (reply: Buffer, replyIndex: number) => number[];
  /** Delay of each reply after its command arrived (replies keep their order). */
  latencyMs?: number;
  /** Per-command script: return an action to misbehave, or undefined to behave. */
  script?: (event: CommandEvent) => ScriptAction | undefined;
  /** SASL mechanisms to advertise (all are still accepted). */
  sasl?: string[];
  /**
   * Rewrites any reply before it is written (fuzzing): return the bytes to send, and
   * what to do after them: go on, drop the connection, or stall.
   */
  mutate?: (reply: Buffer, about: { replyIndex: number; verb: string }) => { data: Buffer; then?: 'continue' | 'drop' | 'stall' };
  /** Refuse a second concurrent session on one mailbox with [IN-USE]. */
  exclusive?: boolean;
  /** The size LIST and STAT announce for a message (default: its real size), to understate or overstate it. */
  listSize?: (message: DevMessage, real: number) => number;
  /** Send bodies without dot-stuffing, as some servers do: a line of "." inside a message ends it early. */
  noDotStuffing?: boolean;
  /**
   * After this long without a command, say goodbye unasked (GNU mailutils: "-ERR Session
   * timed out"; Dovecot: "-ERR Disconnected for inactivity.") and close.
   */
  idleTimeout?: { ms: number; text?: string };
  /**
   * Offer UTF8 (RFC 6856) and, like Courier, serve a message whose header block holds
   * 8-bit bytes as a short notice unless the session has sent UTF8.
   */
  utf8Gate?: boolean;
}

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

type Reply = Buffer | Readable;

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

const enum Phase {
  Authorization,
  Transaction,
  Closed,
}

export class DevSession {
  private stream: Duplex;
  private secure: boolean;
  private phase = Phase.Authorization;
  private input: Buffer = Buffer.alloc(0);
  private user: string | null = null;
  private snapshot: DevMessage[] = [];
  private readonly deleted = new Set<DevMessage>();
  private readonly stamp: string;
  private commandCount = 0;
  /** The command being answered, for fault hooks. */
  private currentVerb = 'greeting';
  private replyCount = 0;
  /** Client lines taken (commands and SASL answers) and replies to them fully written. */
  private requests = 0;
  private answered = 0;
  private stalled = false;
  private upgrading = false;
  /** Pending SASL exchange: gets the client's next line. */
  private saslStep: ((line: string) => void) | null = null;
  private writing: Promise<void> = Promise.resolve();
  /** The client sent UTF8 (RFC 6856). */
  private utf8 = false;
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly server: DevPop3Server,
    stream: Duplex,
    secure: boolean,
  ) {
    this.stream = stream;
    this.secure = secure;
    this.stamp = `<${process.pid}.${randomBytes(6).toString('hex')}@${server.options.hostname ?? 'pinchmail.test'}>`;
    this.listen(stream);
    stream.on('close', () => this.closed());
    this.armIdleTimer();
    const greeting = server.faults.greeting ?? `+OK POP3 ready${server.options.apop ? ` ${this.stamp}` : ''}`;
    this.send(typeof greeting === 'string' ? Buffer.from(`${greeting}\r\n`, 'latin1') : Readable.from(greeting()), Date.now());
  }

  get username(): string | null {
    return this.user;
  }

  /** Requests received whose replies have not started, this one included: above 1 means the client pipelines. */
  get commandsAhead(): number {
    return this.requests - this.answered;
  }

  destroy(): void {
    this.stream.destroy();
  }

  private listen(stream: Duplex): void {
    stream.on('data', this.onData);
    stream.on('error', () => this.closed());
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.stalled || this.upgrading || this.phase === Phase.Closed) return;
    const arrived = Date.now();
    this.input = this.input.length ? Buffer.concat([this.input, chunk]) : chunk;
    let lf: number;
    while (!this.stalled && !this.upgrading && (lf = this.input.indexOf(0x0a)) !== -1) {
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
    return !(this.server.faults.without ?? []).includes(cap);
  }

  private capabilities(): string[] {
    const sasl = this.server.faults.sasl ?? ['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2', 'OAUTHBEARER'];
    const caps = ['TOP', 'UIDL', 'RESP-CODES', 'PIPELINING', 'AUTH-RESP-CODE', 'USER', `SASL ${sasl.join(' ')}`];
    if (this.server.faults.utf8Gate) caps.push('UTF8');
    if (this.server.options.tls && !this.secure && this.phase === Phase.Authorization) caps.push('STLS');
    if (this.phase === Phase.Transaction) {
      return caps.filter((c) => !c.startsWith('SASL') && c !== 'USER' && c !== 'STLS' && this.has(c.split(' ')[0]!));
    }
    return caps.filter((c) => this.has(c.split(' ')[0]!));
  }

  // ---- replies --------------------------------------------------------------

  private ok(text = ''): Buffer {
    return Buffer.from(`+OK${text ? ` ${text}` : ''}\r\n`, 'latin1');
  }

  private err(text: string, code?: string): Buffer {
    const withCode = code && this.has('RESP-CODES') ? `[${code}] ${text}` : text;
    return Buffer.from(`-ERR ${withCode}\r\n`, 'latin1');
  }

  private multi(lines: string[]): Buffer {
    return Buffer.from(`+OK\r\n${lines.map((l) => `${l}\r\n`).join('')}.\r\n`, 'latin1');
  }

  private send(reply: Reply, arrived: number, action?: ScriptAction): void {
    const index = this.replyCount++;
    const mutate = this.server.faults.mutate;
    if (mutate && Buffer.isBuffer(reply) && reply.length > 0) {
      const mutated = mutate(reply, { replyIndex: index, verb: this.currentVerb });
      reply = mutated.data;
      if (mutated.then === 'drop') action = { ...action, dropAfterBytes: mutated.data.length };
      if (mutated.then === 'stall') this.stalled = true;
    }
    const due = arrived + (this.server.faults.latencyMs ?? 0) + (action?.delayMs ?? 0);
    this.writing = this.writing.then(() => this.write(reply, index, due, action)).catch(() => this.destroy());
  }

  private async write(reply: Reply, index: number, due: number, action?: ScriptAction): Promise<void> {
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    if (index > 0) this.answered++;
    if (this.stream.destroyed) return;
    let limit = action?.dropAfterBytes ?? Number.POSITIVE_INFINITY;
    const cut = this.server.faults.cut;
    const chunks: AsyncIterable<Buffer> | Iterable<Buffer> = Buffer.isBuffer(reply) ? [reply] : reply;
    for await (const chunk of chunks) {
      let piece: Buffer = chunk;
      if (piece.length > limit) piece = piece.subarray(0, limit);
      limit -= piece.length;
      const offsets = cut && Buffer.isBuffer(reply) ? cut(piece, index) : [];
      let from = 0;
      for (const at of [...offsets.filter((o) => o > 0 && o < piece.length).sort((a, b) => a - b), piece.length]) {
        if (at <= from) continue;
        await this.writeRaw(piece.subarray(from, at));
        from = at;
        // Give each piece its own trip through the event loop, so it arrives as its own chunk.
        if (at < piece.length) await new Promise((r) => setImmediate(r));
      }
      if (limit <= 0) {
        if (!Buffer.isBuffer(reply)) reply.destroy();
        await new Promise((r) => setImmediate(r));
        this.destroy();
        return;
      }
    }
    if (action?.append) await this.writeRaw(Buffer.from(action.append));
  }

  private writeRaw(data: Buffer): Promise<void> {
    if (data.length === 0 || this.stream.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      if (this.stream.write(data)) resolve();
      else {
        const done = (): void => {
          this.stream.off('drain', done);
          this.stream.off('close', done);
          resolve();
        };
        this.stream.on('drain', done);
        this.stream.on('close', done);
      }
    });
  }

  // ---- commands -------------------------------------------------------------

  /** The idle timeout (a fault): restarted by every command, and when it fires the server says goodbye unasked. */
  private armIdleTimer(): void {
    const idle = this.server.faults.idleTimeout;
    if (!idle) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.phase === Phase.Closed) return;
      this.phase = Phase.Closed;
      this.send(Buffer.from(`-ERR ${idle.text ?? 'Session timed out'}\r\n`, 'latin1'), Date.now());
      this.writing = this.writing.then(() => this.destroy());
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
    this.currentVerb = verb;
    this.commandCount++;
    const action = this.server.faults.script?.({ verb, args, count: this.commandCount, session: this });
    if (action?.stall) {
      // Whatever is given as the reply (a partial one, say) goes out first.
      if (action.reply !== undefined) this.send(replyOf(action.reply), arrived);
      this.stalled = true;
      return;
    }
    if (action?.drop) {
      this.writing = this.writing.then(() => this.destroy());
      return;
    }
    if (action?.reply !== undefined) {
      this.send(replyOf(action.reply), arrived, action);
      return;
    }
    const reply = this.execute(verb, args, arrived, action);
    if (reply) this.send(reply, arrived, action);
  }

  private execute(verb: string, args: string[], arrived: number, action?: ScriptAction): Reply | null {
    if (verb === 'QUIT') return this.quit(arrived, action);
    if (verb === 'CAPA') return this.has('CAPA') ? this.multi(this.capabilities()) : this.err('unknown command');
    if (verb === 'NOOP') return this.ok();
    if (verb === 'UTF8' && this.server.faults.utf8Gate) {
      this.utf8 = true;
      return this.ok('UTF8 enabled');
    }
    if (this.phase === Phase.Authorization) return this.authorization(verb, args, arrived, action);
    return this.transaction(verb, args);
  }

  private authorization(verb: string, args: string[], arrived: number, action?: ScriptAction): Reply | null {
    switch (verb) {
      case 'STLS':
        if (!this.server.options.tls || this.secure || !this.has('STLS')) return this.err('STLS not available');
        this.upgrade(arrived, action);
        return null;
      case 'USER':
        if (!this.has('USER')) return this.err('USER not allowed');
        this.user = args[0] ?? '';
        return this.ok();
      case 'PASS': {
        if (this.user === null) return this.err('USER first');
        // Compared as bytes, as real servers do: the line was read as Latin-1, one char per byte.
        const sent = Buffer.from(args.join(' '), 'latin1');
        return this.tryLogin(this.user, (pw) => Buffer.from(pw, 'utf8').equals(sent));
      }
      case 'APOP': {
        const [user = '', digest = ''] = args;
        return this.tryLogin(user, (pw) => createHash('md5').update(this.stamp + pw).digest('hex') === digest);
      }
      case 'AUTH':
        return this.auth(args, arrived);
      default:
        return this.err('not logged in');
    }
  }

  private tryLogin(user: string, check: (password: string) => boolean): Buffer {
    const password = this.server.store.password(user);
    if (password === undefined || !check(password)) return this.err('Authentication failed.', 'AUTH');
    if (this.server.faults.exclusive && this.server.locked.has(user)) {
      return this.err('Mailbox is locked by another session', 'IN-USE');
    }
    this.server.locked.add(user);
    this.user = user;
    this.snapshot = [...this.server.store.messages(user)];
    this.phase = Phase.Transaction;
    return this.ok('Logged in.');
  }

  private auth(args: string[], arrived: number): Reply | null {
    const mech = (args[0] ?? '').toUpperCase();
    const initial = args[1];
    const b64 = (s: string): string => Buffer.from(s, s === '=' ? 'latin1' : 'base64').toString('utf8');
    const ask = (challenge: string, then: (answer: string) => Buffer): null => {
      this.saslStep = (line) => {
        if (line === '*') this.send(this.err('Authentication aborted'), arrived);
        else this.send(then(line), Date.now());
      };
      this.send(Buffer.from(`+ ${Buffer.from(challenge).toString('base64')}\r\n`), arrived);
      return null;
    };
    const withInitial = (then: (answer: string) => Buffer): Reply | null =>
      initial === undefined ? ask('', then) : then(initial);
    if (!this.has('SASL')) return this.err('AUTH not available');
    switch (mech) {
      case 'PLAIN':
        return withInitial((answer) => {
          const [, user = '', password = ''] = b64(answer).split('\0');
          return this.tryLogin(user, (pw) => pw === password);
        });
      case 'LOGIN':
        return ask('Username:', (u) => {
          const user = b64(u);
          ask('Password:', (p) => this.tryLogin(user, (pw) => pw === b64(p)));
          return Buffer.alloc(0);
        });
      case 'CRAM-MD5': {
        const challenge = this.stamp;
        return ask(challenge, (answer) => {
          const [user = '', digest = ''] = b64(answer).split(' ');
          return this.tryLogin(user, (pw) => createHmac('md5', pw).update(challenge).digest('hex') === digest);
        });
      }
      case 'XOAUTH2':
      case 'OAUTHBEARER':
        return withInitial((answer) => {
          const text = b64(answer);
          const user = mech === 'XOAUTH2' ? /user=([^\x01]*)/.exec(text)?.[1] : /^n,a=([^,]*),/.exec(text)?.[1];
          const token = /auth=Bearer ([^\x01]*)/.exec(text)?.[1];
          const reply = this.tryLogin(user ?? '', (pw) => pw === token);
          if (reply[0] === 0x2b) return reply;
          // Failures are reported as an error challenge; the client's answer ends the exchange.
          ask('{"status":"401"}', () => this.err('Authentication failed.', 'AUTH'));
          return Buffer.alloc(0);
        });
      default:
        return this.err(`unsupported mechanism ${mech}`);
    }
  }

  private upgrade(arrived: number, action?: ScriptAction): void {
    this.upgrading = true;
    this.send(this.ok('Begin TLS negotiation now.'), arrived, action);
    this.writing = this.writing.then(() => {
      const raw = this.stream;
      raw.off('data', this.onData);
      const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: this.server.secureContext! });
      secure.on('error', () => this.closed());
      this.stream = secure;
      this.secure = true;
      this.input = Buffer.alloc(0);
      this.upgrading = false;
      this.listen(secure);
    });
  }

  private message(arg: string | undefined): DevMessage | null {
    const n = Number(arg);
    if (!Number.isInteger(n) || n < 1 || n > this.snapshot.length) return null;
    const m = this.snapshot[n - 1]!;
    return this.deleted.has(m) ? null : m;
  }

  private transaction(verb: string, args: string[]): Reply {
    const live = this.snapshot.map((m, i) => ({ m, n: i + 1 })).filter(({ m }) => !this.deleted.has(m));
    switch (verb) {
      case 'STAT':
        return this.ok(`${live.length} ${live.reduce((s, { m }) => s + this.announced(m), 0)}`);
      case 'LIST':
      case 'UIDL': {
        if (verb === 'UIDL' && !this.has('UIDL')) return this.err('unknown command');
        const show = ({ m, n }: { m: DevMessage; n: number }): string =>
          `${n} ${verb === 'UIDL' ? m.uidl : this.announced(m)}`;
        if (args[0] !== undefined) {
          const m = this.message(args[0]);
          return m ? this.ok(show({ m, n: Number(args[0]) })) : this.err('There is no message');
        }
        return this.multi(live.map(show));
      }
      case 'RETR':
      case 'TOP': {
        if (verb === 'TOP' && !this.has('TOP')) return this.err('unknown command');
        const m = this.message(args[0]);
        if (!m) return this.err('There is no such message');
        const status = this.ok(verb === 'RETR' ? `${this.announced(m)} octets` : '');
        const frame = this.server.faults.noDotStuffing ? withTerminator : dotStuff;
        const served = this.served(m);
        if (verb === 'TOP') return Buffer.concat([status, frame(topOf(bufferOf(served), Number(args[1] ?? 0)))]);
        if (Buffer.isBuffer(served.content)) return Buffer.concat([status, frame(served.content)]);
        return Readable.from(
          (async function* (open: () => Readable) {
            yield status;
            yield* open().pipe(new DotStuffer());
          })(served.content.open),
          { objectMode: false },
        );
      }
      case 'DELE': {
        const m = this.message(args[0]);
        if (!m) return this.err('There is no such message');
        this.deleted.add(m);
        return this.ok('Marked to be deleted.');
      }
      case 'RSET':
        this.deleted.clear();
        return this.ok();
      default:
        return this.err('unknown command');
    }
  }

  /** The size LIST and STAT give for a message. */
  private announced(m: DevMessage): number {
    const real = contentSize(m.content);
    return this.server.faults.listSize?.(m, real) ?? real;
  }

  /** What RETR and TOP send: the message, or the notice a UTF8-gated server sends in its place. */
  private served(m: DevMessage): DevMessage {
    if (!this.server.faults.utf8Gate || this.utf8 || !Buffer.isBuffer(m.content)) return m;
    const end = m.content.indexOf('\r\n\r\n');
    const head = m.content.subarray(0, end === -1 ? m.content.length : end);
    if (!head.some((b) => b >= 0x80)) return m;
    return { uidl: m.uidl, content: UNICODE_NOTICE };
  }

  private quit(arrived: number, action?: ScriptAction): null {
    if (this.phase === Phase.Transaction && this.user) {
      this.server.store.remove(this.user, this.deleted);
      this.server.commits.push({ user: this.user, deleted: [...this.deleted].map((m) => m.uidl) });
      this.server.locked.delete(this.user);
    }
    this.phase = Phase.Closed;
    this.send(this.ok('Logging out.'), arrived, action);
    this.writing = this.writing.then(() => {
      this.stream.end();
    });
    return null;
  }
}

function replyOf(reply: string | Buffer | ReplySource): Reply {
  if (typeof reply === 'function') return Readable.from(reply());
  return Buffer.isBuffer(reply) ? reply : Buffer.from(reply, 'latin1');
}

/** Courier's stand-in for a message with raw UTF-8 headers, sent to a client that did not say UTF8. */
const UNICODE_NOTICE = Buffer.from(
  'From: Mail Delivery Subsystem <postmaster@pinchmail.test>\r\nSubject: Cannot display Unicode content\r\n\r\n' +
    'This E-mail message was determined to be Unicode-formatted\r\nbut your E-mail reader does not support Unicode E-mail.\r\n',
  'latin1',
);

/** A body framed without dot-stuffing (the fault): only the line end and terminator are added. */
function withTerminator(content: Buffer): Buffer {
  const endsWithCrlf = content.length >= 2 && content[content.length - 2] === 0x0d && content[content.length - 1] === 0x0a;
  return Buffer.concat([content, Buffer.from(content.length === 0 || endsWithCrlf ? '.\r\n' : '\r\n.\r\n', 'latin1')]);
}

function bufferOf(m: DevMessage): Buffer {
  if (!Buffer.isBuffer(m.content)) throw new Error('TOP on a streamed message is not supported by the dev server');
  return m.content;
}

/** The header block and the first `lines` body lines, as TOP returns them. */
function topOf(content: Buffer, lines: number): Buffer {
  const headerEnd = content.indexOf('\r\n\r\n');
  if (headerEnd === -1) return content;
  let end = headerEnd + 4;
  for (let i = 0; i < lines && end < content.length; i++) {
    const next = content.indexOf('\r\n', end);
    end = next === -1 ? content.length : next + 2;
  }
  return content.subarray(0, end);
}
