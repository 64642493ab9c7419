import type { Duplex } from 'node:stream';
import { SinkTarget, type BodyResult, type BodySink } from './body-sink.js';
import { commandWire, hiddenPart, type Command, type Settle, type SingleCommand } from './command.js';
import { CommandQueue } from './command-queue.js';
import { ConfirmedBody, type Confirm } from './confirmed-body.js';
import { Pop3Error, abortReason, inTransfer, scrubbedError, tiedTo } from './errors.js';
import type { LineEnds } from './multiline-decoder.js';
import { ReplyReader } from './reply-reader.js';
import type { Reply } from './reply.js';
import { SecretScrubber } from './scrub.js';

export type TraceDirection = 'send' | 'recv';
export type TraceFn = (direction: TraceDirection, text: string) => void;

export interface ClientOptions {
  /** Inactivity timeout while a reply is owed, in ms. Default 60 s. */
  timeoutMs?: number;
  /** Most commands in flight at once once pipelining is on. Default 256. */
  pipelineWindow?: number;
  /** Line ends of RETR/TOP bodies: 'crlf' as on the wire, or 'lf'. Default 'crlf'. */
  lineEnds?: LineEnds;
  /** Protocol trace; secrets are already masked when it is called. */
  trace?: TraceFn;
  /** The password or token of this session: struck from everything the server says (see SecretScrubber). */
  secrets?: readonly string[];
  /** Ends the session at once, failing every owed reply with the reason (a Pop3Error), or ABORTED. */
  signal?: AbortSignal;
}

export type { BodyResult, BodySink } from './body-sink.js';

/** Lines of CAPA, LIST and UIDL listings. */
const MAX_LISTING_LINE = 1024;

export interface CommandSpec {
  label?: string;
  sasl?: boolean;
  pipelinable?: boolean;
  /** The message the command is about (RETR n, TOP n, UIDL n). */
  subject?: number;
}

/**
 * What a body may weigh on the wire (dot-stuffed, CRLF, terminator included), given
 * what the server announced: more than `max` and the server is filling the disk; less
 * than `min` and the body ended early (a line of "." a server did not stuff).
 */
export interface BodyBounds {
  announced: number;
  min: number;
  max: number;
}

/**
 * A POP3 client over any duplex byte stream (a TCP or TLS socket, or an in-memory
 * pipe in tests). It frames replies across arbitrary chunk boundaries (ReplyReader),
 * writes RETR and TOP bodies into sinks, pausing the socket while a sink's write is
 * pending, and pipelines commands when told the server allows it (CommandQueue).
 *
 * Failure model: once anything goes wrong with the connection (timeout, close,
 * garbage), every owed reply is rejected with the same typed error and the client is
 * unusable. A -ERR reply only rejects its own command.
 */
export class Pop3Client {
  readonly greeting: Promise<Reply>;
  private socket: Duplex;
  private readonly timeoutMs: number;

  private readonly commands: CommandQueue;
  private readonly reader: ReplyReader;
  /** True while a data event is being parsed. */
  private receiving = false;
  private pumpScheduled = false;
  private pausedForConsumer = false;
  private failure: Pop3Error | null = null;
  private timer: NodeJS.Timeout | null = null;
  private keepaliveMs = 0;
  private keepaliveTimer: NodeJS.Timeout | null = null;
  private readonly scrubber = new SecretScrubber();
  private readonly signal: AbortSignal | undefined;

  constructor(socket: Duplex, options: ClientOptions = {}) {
    this.socket = socket;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    const trace = options.trace;
    this.commands = new CommandQueue(Math.max(1, options.pipelineWindow ?? 256), trace && ((label) => trace('send', label)));
    this.reader = new ReplyReader(this.commands, options.lineEnds ?? 'crlf', {
      settle: () => this.settle(),
      pause: () => this.pauseForConsumer(),
      scrub: (text) => this.scrub(text),
      scrubError: (err) => this.scrubError(err),
      trace: trace && ((text) => trace('recv', text)),
    });
    for (const secret of options.secrets ?? []) this.scrubber.addSecret(secret);
    this.attach(socket);
    this.greeting = this.expectGreeting();
    this.signal = options.signal;
    if (this.signal?.aborted) this.onAbort();
    else this.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /**
   * Server text with this session's secrets struck out, for whatever a person or the state
   * database will see: errors, traces, capabilities shown by `check`. Never applied to
   * what is parsed (a reply's text, a listing): a password of "0000" must not turn a
   * UIDL or a size into something else.
   */
  scrub(text: string): string {
    return this.scrubber.empty ? text : this.scrubber.scrub(text);
  }

  /** The same error, with this session's secrets struck from its message and server text. */
  scrubError(err: Pop3Error): Pop3Error {
    return this.scrubber.empty ? err : scrubbedError(err, (t) => this.scrubber.scrub(t));
  }

  /** True once STLS has upgraded the connection, or when it was TLS from the start. */
  get secure(): boolean {
    return 'encrypted' in this.socket && (this.socket as { encrypted?: boolean }).encrypted === true;
  }

  /** True once the connection has failed (closed, timed out, or refused as not POP3): every command rejects. */
  get broken(): boolean {
    return this.failure !== null;
  }

  get underlyingSocket(): Duplex {
    return this.socket;
  }

  /**
   * While nothing is owed, sends NOOP every `ms` (0: never), so a server's idle timer
   * does not end the session while a delivery takes its time.
   */
  setKeepalive(ms: number): void {
    this.keepaliveMs = ms;
    this.armKeepalive();
  }

  /** Lets later commands be sent before earlier replies arrive (RFC 2449 PIPELINING). */
  setPipelining(on: boolean): void {
    this.commands.pipelining = on;
    this.pump();
  }

  // ---- commands -------------------------------------------------------------

  /** Any single-line command. Rejects with a typed error on -ERR. */
  command(line: string, spec: CommandSpec = {}): Promise<Reply> {
    return this.single(line, spec);
  }

  /**
   * A command whose +OK is followed by a multi-line listing (CAPA, LIST, UIDL), as
   * Latin-1 lines. With `onLines`, the lines are handed over in batches as they arrive
   * (an error thrown there fails the connection) and the promise resolves with none.
   */
  listing(
    line: string,
    options: { maxLines?: number | (() => number); maxLineLength?: number; pipelinable?: boolean; onLines?: (lines: string[]) => void } = {},
  ): Promise<string[]> {
    const { maxLines } = options;
    return this.enqueue<string[]>(line, undefined, (wire, label, { resolve, reject }) => ({
      kind: 'lines',
      wire,
      label,
      pipelinable: options.pipelinable ?? true,
      subject: undefined,
      maxLines: typeof maxLines === 'function' ? maxLines : ((bound) => () => bound)(maxLines ?? Number.POSITIVE_INFINITY),
      maxLineLength: Math.min(options.maxLineLength ?? MAX_LISTING_LINE, MAX_LISTING_LINE),
      onLines: options.onLines,
      resolve,
      reject,
    }));
  }

  /**
   * RETR or TOP into `sink`, dot-unstuffed: resolves once the terminator has arrived and
   * every write has settled. A `write` that returns a promise pauses the connection
   * until it settles. If the sink's `write` throws or rejects, the rest of the body is
   * read and discarded (the connection stays usable) and the command fails with that
   * error. A body outside `bounds` fails the connection, as the fault of message `subject`.
   *
   * With `confirm`, a second command goes right behind (pipelined when allowed), and the
   * body counts as received only if that command's reply passes `check`; anything else
   * fails the whole connection (see ConfirmedBody).
   */
  bodyTo(line: string, sink: BodySink, options: { bounds?: BodyBounds; subject?: number; confirm?: Confirm } = {}): Promise<BodyResult> {
    const { bounds, subject } = options;
    const confirmed = options.confirm && new ConfirmedBody(line, options.confirm);
    const result = this.enqueue<BodyResult>(line, undefined, (wire, label, { resolve, reject }) => ({
      kind: 'body',
      wire,
      label,
      pipelinable: true,
      subject,
      maxBytes: bounds?.max ?? Number.POSITIVE_INFINITY,
      minBytes: bounds?.min ?? 0,
      announced: bounds?.announced,
      onRefused: confirmed?.onRefused,
      openTarget: (settle) => {
        const target = new SinkTarget(sink, settle, () => this.resumeForConsumer());
        return confirmed ? confirmed.hold(target) : target;
      },
      resolve,
      reject,
    }));
    if (confirmed) {
      this.single(confirmed.confirm.line, { pipelinable: true, subject, check: confirmed.check }).then(
        () => confirmed.settle('ok'),
        (err: Pop3Error) => confirmed.settle(err),
      );
    }
    return result;
  }

  /**
   * STLS (RFC 2595): on +OK, hands the raw stream to `upgrade` and continues over the
   * stream it returns. Anything the server sent after its +OK is refused: a plaintext
   * injection must never reach the encrypted session.
   */
  async startTls(upgrade: (raw: Duplex) => Promise<Duplex>): Promise<void> {
    await this.single('STLS', { pipelinable: false, handsOver: true });
    const raw = this.socket;
    this.detach(raw);
    let secure: Duplex;
    try {
      secure = await upgrade(raw);
    } catch (err) {
      this.fail(err instanceof Pop3Error ? err : new Pop3Error('TLS', `TLS upgrade failed: ${(err as Error).message}`, { cause: err }));
      throw this.failure;
    }
    this.socket = secure;
    this.reader.restart();
    this.attach(secure);
    this.pump();
  }

  /** Closes the connection without QUIT: the server rolls back every DELE of this session. */
  destroy(): void {
    this.fail(new Pop3Error('ABORTED', 'connection closed by client'));
  }

  // ---- sending --------------------------------------------------------------

  private single(line: string, spec: CommandSpec & Pick<SingleCommand, 'check'> & { handsOver?: boolean }): Promise<Reply> {
    return this.enqueue<Reply>(line, spec.label, (wire, label, { resolve, reject }) => ({
      kind: 'single',
      wire,
      label,
      sasl: spec.sasl ?? false,
      pipelinable: spec.pipelinable ?? false,
      handsOver: spec.handsOver ?? false,
      subject: spec.subject,
      check: spec.check,
      resolve,
      reject,
    }));
  }

  private enqueue<T>(
    line: string,
    label: string | undefined,
    make: (wire: Buffer, label: string, settle: Settle<T>) => Command,
  ): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const wire = commandWire(line, label);
    if (wire instanceof Pop3Error) return Promise.reject(wire);
    if (label !== undefined && label !== line) this.scrubber.addForm(hiddenPart(line, label));
    return new Promise<T>((resolve, reject) => {
      this.commands.add(make(wire, label ?? line, { resolve, reject }));
      this.disarmKeepalive();
      this.schedulePump();
    });
  }

  /**
   * Commands asked for in one turn of the event loop go out in one write: a caller
   * that queues RETR after RETR (and UIDL after each) costs one syscall, not dozens.
   */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    // Inside a data event, replies may free several slots: send once, at the end of it.
    if (this.failure || this.reader.handingOver || this.receiving || !this.commands.hasWaiting) return;
    this.commands.send(this.socket);
    this.armTimer();
  }

  // ---- receiving ------------------------------------------------------------

  private readonly onData = (chunk: Buffer): void => {
    if (this.failure) return;
    this.timer?.refresh();
    this.receiving = true;
    try {
      this.reader.read(chunk);
    } catch (err) {
      const failure = err instanceof Pop3Error ? err : new Pop3Error('PROTOCOL', `malformed reply: ${(err as Error).message}`, { cause: err });
      this.fail(tiedTo(failure, this.commands.head?.subject));
    } finally {
      this.receiving = false;
    }
    this.pump();
    this.armTimer();
  };

  /** The oldest reply is complete: its command leaves the window, and the next may go. */
  private settle(): void {
    this.commands.answered();
    this.pump();
    if (this.commands.idle) this.armKeepalive();
  }

  private pauseForConsumer(): void {
    if (this.pausedForConsumer) return;
    this.pausedForConsumer = true;
    this.socket.pause();
  }

  private resumeForConsumer(): void {
    if (!this.pausedForConsumer || this.failure) return;
    this.pausedForConsumer = false;
    this.socket.resume();
    this.armTimer();
  }

  private expectGreeting(): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      this.commands.expect({
        kind: 'single',
        wire: Buffer.alloc(0),
        label: 'greeting',
        sasl: false,
        pipelinable: false,
        handsOver: false,
        subject: undefined,
        resolve,
        reject,
      });
      this.armTimer();
    });
  }

  // ---- connection state -----------------------------------------------------

  private attach(socket: Duplex): void {
    socket.on('data', this.onData);
    socket.on('error', this.onSocketError);
    socket.on('close', this.onSocketClose);
  }

  private detach(socket: Duplex): void {
    socket.off('data', this.onData);
    socket.off('error', this.onSocketError);
    socket.off('close', this.onSocketClose);
  }

  private readonly onSocketError = (err: Error): void => {
    const code = (err as NodeJS.ErrnoException).code;
    const owed = this.commands.owed;
    const lost = code === 'EPIPE' || code === 'ECONNRESET' ? 'the server closed the connection' : `connection failed (${code ?? err.message})`;
    this.fail(new Pop3Error('CLOSED', `${lost}${owed ? ` while ${owed} was pending` : ''}${this.reader.lastWords()}`, { cause: err }));
  };

  private readonly onSocketClose = (): void => {
    if (!this.commands.idle) {
      const owed = this.commands.owed ?? 'a reply';
      this.fail(new Pop3Error('CLOSED', `server closed the connection while ${owed} was pending${this.reader.lastWords()}`));
    } else {
      this.fail(new Pop3Error('CLOSED', `${this.reader.saidGoodbye ? 'the server closed the connection' : 'connection closed'}${this.reader.lastWords()}`));
    }
  };

  private readonly onAbort = (): void => this.fail(abortReason(this.signal!));

  private fail(cause: Pop3Error): void {
    if (this.failure) return;
    this.signal?.removeEventListener('abort', this.onAbort);
    // An error may quote what the server said (a listing line, a reply); never a secret of ours.
    const head = this.commands.head;
    const err = inTransfer(this.scrubError(cause), head?.kind === 'body' && head.arriving ? head.subject : undefined);
    this.failure = err;
    this.disarmTimer();
    this.disarmKeepalive();
    this.reader.releaseRefusal(err);
    for (const cmd of this.commands.drain()) {
      if (cmd.kind === 'body' && cmd.arriving) cmd.arriving.target.fail(err);
      else cmd.reject(err);
    }
    this.socket.destroy();
  }

  private armTimer(): void {
    const owed = this.commands.awaitingReply && !this.pausedForConsumer && !this.failure;
    if (!owed) {
      this.disarmTimer();
    } else if (!this.timer) {
      this.timer = setTimeout(this.onTimeout, this.timeoutMs);
    }
  }

  private armKeepalive(): void {
    this.disarmKeepalive();
    if (this.keepaliveMs <= 0 || this.failure || this.reader.handingOver || !this.commands.idle) return;
    this.keepaliveTimer = setTimeout(() => {
      this.keepaliveTimer = null;
      // Its reply arms the next one (settle); a refusal says nothing about the session, and a
      // broken connection fails what comes next.
      this.command('NOOP').catch(() => {});
    }, this.keepaliveMs);
    this.keepaliveTimer.unref();
  }

  private disarmKeepalive(): void {
    if (this.keepaliveTimer) {
      clearTimeout(this.keepaliveTimer);
      this.keepaliveTimer = null;
    }
  }

  private disarmTimer(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private readonly onTimeout = (): void => {
    this.timer = null;
    const waiting = this.commands.head?.label ?? 'a reply';
    this.fail(new Pop3Error('TIMEOUT', `no reply from server within ${Math.round(this.timeoutMs / 1000)}s (waiting for ${waiting})`));
  };
}
