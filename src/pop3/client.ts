import type { Duplex } from 'node:stream';
import { SinkTarget, type BodyResult, type BodySink, type BodyTarget } from './body-sink.js';
import { Pop3Error, abortReason } from './errors.js';
import { LineBuffer } from './line-buffer.js';
import { ListingCollector } from './listing-collector.js';
import { MultilineDecoder, type LineEnds } from './multiline-decoder.js';
import { errorForReply, parseStatusLine, printable, type Reply } from './reply.js';
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

/** Status lines are at most 512 octets by RFC 2449; we allow generous slack, not unbounded. */
const MAX_STATUS_LINE = 8192;
/** Lines of CAPA, LIST and UIDL listings. */
const MAX_LISTING_LINE = 1024;
/** Bytes a command may not hold: each would end the line early and start another command. */
const LINE_BREAKING = [0x0d, 0x0a, 0x00];

type Kind = 'single' | 'lines' | 'body';

interface Command {
  wire: Buffer;
  /** What the trace and error messages show for this command (secrets masked). */
  label: string;
  kind: Kind;
  /** Accepts a "+ challenge" continuation (SASL). */
  sasl: boolean;
  pipelinable: boolean;
  /** After this reply the connection changes hands (STLS): nothing may follow it. */
  handsOver: boolean;
  maxBytes: number;
  /** A body that ends before this many wire bytes is refused (see BodyBounds). */
  minBytes: number;
  /** The size the server announced for this body, for messages. */
  announced: number | undefined;
  /** The message this command is about: a reply to it that breaks the framing is that message's fault. */
  subject: number | undefined;
  /** Read when each line arrives: a bound learned from an earlier reply (STAT) can still apply. */
  maxLines: () => number;
  /** Bytes a listing line may hold. */
  maxLineLength: number;
  resolve: (value: never) => void;
  reject: (err: Pop3Error) => void;
  // Parse state, once the status line has arrived.
  reply?: Reply;
  decoder?: MultilineDecoder;
  /** Set for body commands when their +OK arrives. */
  target?: BodyTarget;
  /** Makes the target once +OK has arrived. */
  openTarget?: (cmd: Command) => BodyTarget;
  /** Judges the status line before anything else is parsed; an error fails the connection. */
  check?: (reply: Reply) => Pop3Error | null;
  /** Told at once, inside the parser, when the reply is -ERR. */
  onRefused?: () => void;
  /** Takes a listing's lines as they arrive, instead of gathering them. */
  onLines?: (lines: string[]) => void;
  listing?: ListingCollector;
}

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
 * pipe in tests). It frames replies across arbitrary chunk boundaries, writes RETR and
 * TOP bodies into sinks, pausing the socket while a sink's write is pending, and
 * pipelines commands when told the server allows it.
 *
 * Failure model: once anything goes wrong with the connection (timeout, close,
 * garbage), every owed reply is rejected with the same typed error and the client is
 * unusable. A -ERR reply only rejects its own command.
 */
export class Pop3Client {
  readonly greeting: Promise<Reply>;
  private socket: Duplex;
  private readonly timeoutMs: number;
  private readonly window: number;
  private readonly lineEnds: LineEnds;
  private readonly traceFn: TraceFn | undefined;

  private readonly queue: Command[] = [];
  private readonly inflight: Command[] = [];
  /** Commands in flight that nothing may be pipelined behind. */
  private blocking = 0;
  /** True while a data event is being parsed. */
  private receiving = false;
  private pumpScheduled = false;
  private statusLine = new LineBuffer(MAX_STATUS_LINE);
  private pipelining = false;
  private pausedForConsumer = false;
  private handingOver = false;
  private failure: Pop3Error | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** What the server said when it ended the session unasked (see unsolicited). */
  private goodbye: string | null = null;
  /** The text of the last reply, when it was -ERR: a server may refuse and hang up in one breath. */
  private lastRefusal: string | null = null;
  /** A message command's refusal, held until the server shows it is still answering (see onStatusLine). */
  private heldRefusal: { cmd: Command; err: Pop3Error } | null = null;
  private keepaliveMs = 0;
  private keepaliveTimer: NodeJS.Timeout | null = null;
  private readonly scrubber = new SecretScrubber();
  private readonly signal: AbortSignal | undefined;

  constructor(socket: Duplex, options: ClientOptions = {}) {
    this.socket = socket;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.window = Math.max(1, options.pipelineWindow ?? 256);
    this.lineEnds = options.lineEnds ?? 'crlf';
    this.traceFn = options.trace;
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
    this.pipelining = on;
    this.pump();
  }

  // ---- commands -------------------------------------------------------------

  /** Any single-line command. Rejects with a typed error on -ERR. */
  command(line: string, spec: CommandSpec = {}): Promise<Reply> {
    return this.enqueue<Reply>(line, 'single', spec);
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
    return this.enqueue<string[]>(line, 'lines', {
      pipelinable: options.pipelinable ?? true,
      maxLines: options.maxLines,
      maxLineLength: options.maxLineLength,
      onLines: options.onLines,
    });
  }

  /**
   * RETR or TOP into `sink`, dot-unstuffed: resolves once the terminator has arrived and
   * every write has settled. A `write` that returns a promise pauses the connection
   * until it settles. If the sink's `write` throws or rejects, the rest of the body is
   * read and discarded (the connection stays usable) and the command fails with that
   * error. A body outside `bounds` fails the connection, as the fault of message `subject`.
   *
   * With `confirm`, a second command goes right behind (pipelined when allowed), and the
   * body counts as received only if that command's reply passes `check`. A body whose
   * terminator went missing (or came early) swallows or spills into the replies behind
   * it; a reply that answers the confirming command, and no other, proves the stream
   * was still in step. Anything else fails the whole connection.
   */
  bodyTo(
    line: string,
    sink: BodySink,
    options: { bounds?: BodyBounds; subject?: number; confirm?: { line: string; check: (reply: Reply) => boolean } } = {},
  ): Promise<BodyResult> {
    const { confirm, bounds, subject } = options;
    let target: SinkTarget | null = null;
    // A refused body (the message is gone) is answered, in step, by a refused confirmation too.
    let refused = false;
    let verdict: 'pending' | 'ok' | Pop3Error = 'pending';
    let ended = false;
    const result = this.enqueue<BodyResult>(line, 'body', {
      pipelinable: true,
      subject,
      maxBytes: bounds?.max,
      minBytes: bounds?.min,
      announced: bounds?.announced,
      onRefused: () => (refused = true),
      openTarget: (cmd) => {
        // A sink's own failure (a full disk, say) rejects the command as it is, not as a Pop3Error.
        target = new SinkTarget(sink, { resolve: (r) => cmd.resolve(r as never), reject: (e) => cmd.reject(e as Pop3Error) }, () =>
          this.resumeForConsumer(),
        );
        if (!confirm) return target;
        const t = target;
        return {
          data: (chunk) => t.data(chunk),
          // The body is whole only once the confirming reply says so.
          end: () => {
            ended = true;
            if (verdict === 'ok') t.end();
            else if (verdict !== 'pending') t.fail(verdict);
          },
          fail: (err) => t.fail(err),
        };
      },
    });
    if (confirm) {
      const settleBody = (outcome: 'ok' | Pop3Error): void => {
        verdict = outcome;
        if (!target) return;
        if (outcome !== 'ok') target.fail(outcome);
        else if (ended) target.end();
      };
      // The check runs inside the parser, before another byte is read: a stream out of
      // step must fail before any later reply is taken for what it seems.
      const outOfStep = (said: string): Pop3Error =>
        new Pop3Error('PROTOCOL', `replies out of step after ${line}: ${said} does not answer ${confirm.line}; nothing more from this session is trusted`);
      this.enqueue<Reply>(confirm.line, 'single', {
        pipelinable: true,
        subject,
        check: (reply) =>
          (reply.ok ? confirm.check(reply) : refused) ? null : outOfStep(`"${printable(`${reply.ok ? '+OK' : '-ERR'} ${reply.text}`, 80)}"`),
      }).then(
        () => settleBody('ok'),
        (err: Pop3Error) => settleBody(err),
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
    await this.enqueue<Reply>('STLS', 'single', { pipelinable: false, handsOver: true });
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
    this.handingOver = false;
    this.statusLine = new LineBuffer(MAX_STATUS_LINE);
    this.attach(secure);
    this.pump();
  }

  /** Closes the connection without QUIT: the server rolls back every DELE of this session. */
  destroy(): void {
    this.fail(new Pop3Error('ABORTED', 'connection closed by client'));
  }

  // ---- sending --------------------------------------------------------------

  private enqueue<T>(
    line: string,
    kind: Kind,
    spec: CommandSpec & {
      handsOver?: boolean;
      maxBytes?: number | undefined;
      minBytes?: number | undefined;
      announced?: number | undefined;
      maxLines?: number | (() => number) | undefined;
      maxLineLength?: number | undefined;
      openTarget?: (cmd: Command) => BodyTarget;
      check?: (reply: Reply) => Pop3Error | null;
      onRefused?: () => void;
      onLines?: (lines: string[]) => void;
    },
  ): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    // UTF-8, which is what SASL PLAIN defines (RFC 4616) and what servers compare USER and
    // PASS against in practice; and checked as bytes, since what matters is what the server reads.
    const bytes = Buffer.from(line, 'utf8');
    if (LINE_BREAKING.some((b) => bytes.includes(b))) {
      // A line break in a user name or password would smuggle in a second command.
      return Promise.reject(new Pop3Error('PROTOCOL', `refusing to send ${spec.label ?? 'a command'}: it contains a line break or NUL`));
    }
    if (spec.label !== undefined && spec.label !== line) this.scrubber.addForm(hiddenPart(line, spec.label));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        wire: Buffer.concat([bytes, CRLF]),
        label: spec.label ?? line,
        kind,
        sasl: spec.sasl ?? false,
        pipelinable: spec.pipelinable ?? false,
        handsOver: spec.handsOver ?? false,
        maxBytes: spec.maxBytes ?? Number.POSITIVE_INFINITY,
        minBytes: spec.minBytes ?? 0,
        announced: spec.announced,
        subject: spec.subject,
        maxLines: typeof spec.maxLines === 'function' ? spec.maxLines : ((bound) => () => bound)(spec.maxLines ?? Number.POSITIVE_INFINITY),
        maxLineLength: Math.min(spec.maxLineLength ?? MAX_LISTING_LINE, MAX_LISTING_LINE),
        openTarget: spec.openTarget,
        check: spec.check,
        onRefused: spec.onRefused,
        onLines: spec.onLines,
        resolve: resolve as (value: never) => void,
        reject,
      });
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
    if (this.failure || this.handingOver || this.receiving || this.queue.length === 0) return;
    let corked = false;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      const idle = this.inflight.length === 0;
      const overlap = this.pipelining && next.pipelinable && this.blocking === 0 && this.inflight.length < this.window;
      if (!idle && !overlap) break;
      // Refill a long queue in batches, not one command per reply: every write wakes the
      // server, and on a fast link those wake-ups, not the bytes, set the pace.
      if (!corked && !idle && this.queue.length > this.window - this.inflight.length && this.inflight.length > this.window / 2) {
        break;
      }
      this.queue.shift();
      this.inflight.push(next);
      if (!next.pipelinable) this.blocking++;
      if (!corked) {
        this.socket.cork();
        corked = true;
      }
      this.traceFn?.('send', next.label);
      this.socket.write(next.wire);
      if (next.handsOver) break;
    }
    if (corked) this.socket.uncork();
    this.armTimer();
  }

  // ---- receiving ------------------------------------------------------------

  private readonly onData = (chunk: Buffer): void => {
    if (this.failure) return;
    this.timer?.refresh();
    this.receiving = true;
    try {
      this.consume(chunk);
    } catch (err) {
      const failure = err instanceof Pop3Error ? err : new Pop3Error('PROTOCOL', `malformed reply: ${(err as Error).message}`, { cause: err });
      this.fail(tiedTo(failure, this.inflight[0]?.subject));
    } finally {
      this.receiving = false;
    }
    this.pump();
    this.armTimer();
  };

  private consume(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.handingOver) {
        throw new Pop3Error('PROTOCOL', 'server sent data after its STLS reply; refusing it (possible injection)');
      }
      const cmd = this.inflight[0];
      if (!cmd) {
        pos = this.unsolicited(chunk, pos);
        continue;
      }
      if (!cmd.reply) {
        const step = this.statusLine.push(chunk, pos);
        pos = step.end;
        if (step.line) this.onStatusLine(cmd, step.line);
      } else {
        const rest = pos === 0 ? chunk : chunk.subarray(pos);
        const decoder = cmd.decoder!;
        const { data, end } = decoder.push(rest);
        if (decoder.consumed > cmd.maxBytes) {
          throw new Pop3Error('PROTOCOL', `${cmd.label}: the server sent more than ${cmd.maxBytes} bytes, ${announcedAs(cmd)}`);
        }
        if (data.length > 0) this.onBodyData(cmd, data);
        if (end === -1) return;
        if (decoder.consumed < cmd.minBytes) {
          throw new Pop3Error('PROTOCOL', `${cmd.label}: the body ended after ${decoder.consumed} bytes, far shorter than the ${cmd.announced} bytes LIST announced; the copy is not trusted`);
        }
        pos += end;
        this.finishMultiline(cmd);
      }
    }
  }

  /**
   * Bytes that answer no command. A server that ends the session unasked says why in one
   * -ERR line and closes (GNU mailutils "-ERR Session timed out", Dovecot "-ERR
   * Disconnected for inactivity."): that line is kept for the close that follows. Anything
   * else is not POP3. Returns where the line ended.
   */
  private unsolicited(chunk: Buffer, pos: number): number {
    const step = this.statusLine.push(chunk, pos);
    if (!step.line) return step.end;
    const reply = this.parse(step.line);
    if (reply && !reply.ok && this.goodbye === null) {
      this.goodbye = printable(this.scrub(reply.text), 200);
      return step.end;
    }
    throw new Pop3Error('PROTOCOL', `unexpected data from server: "${printable(this.scrub(step.line.toString('latin1')), 80)}"`);
  }

  /** A status line, parsed and traced (the trace with this session's secrets struck out). */
  private parse(line: Buffer): Reply | null {
    const reply = parseStatusLine(line);
    if (this.traceFn) this.traceFn('recv', printable(this.scrub(line.toString('latin1')), 512));
    return reply;
  }

  private onStatusLine(cmd: Command, line: Buffer): void {
    const reply = this.parse(line);
    if (!reply) {
      throw new Pop3Error('PROTOCOL', `not a POP3 reply to ${cmd.label}: "${printable(this.scrub(line.toString('latin1')), 80)}"`);
    }
    if (reply.continuation && !cmd.sasl) {
      throw new Pop3Error('PROTOCOL', `unexpected continuation in reply to ${cmd.label}`);
    }
    // A refusal held back (see below) stands: the server went on talking.
    this.releaseRefusal();
    const problem = cmd.check?.(reply);
    if (problem) throw problem;
    this.lastRefusal = reply.ok ? null : printable(this.scrub(reply.text), 200);
    if (!reply.ok) {
      cmd.onRefused?.();
      this.settle();
      const err = this.scrubError(errorForReply(cmd.label, reply));
      // A server that ends the session may say why as the reply to whatever came in
      // ("-ERR Session timed out", then the close). A refused message is therefore held
      // until the next reply shows the server still answering; if the close comes first,
      // the message fails as the session did, not as itself.
      if (cmd.kind === 'body' && cmd.subject !== undefined && this.inflight.length > 0) this.heldRefusal = { cmd, err };
      else cmd.reject(err);
      return;
    }
    if (cmd.kind === 'single' || reply.continuation) {
      if (cmd.handsOver) this.handingOver = true;
      this.settle();
      cmd.resolve(reply as never);
      return;
    }
    cmd.reply = reply;
    if (cmd.kind === 'body') {
      cmd.decoder = new MultilineDecoder(this.lineEnds);
      cmd.target = cmd.openTarget!(cmd);
    } else {
      cmd.decoder = new MultilineDecoder('crlf');
      cmd.listing = new ListingCollector(cmd.label, cmd.maxLineLength, cmd.maxLines, cmd.onLines);
    }
  }

  private onBodyData(cmd: Command, data: Buffer): void {
    if (cmd.target) {
      if (!cmd.target.data(data)) this.pauseForConsumer();
      return;
    }
    cmd.listing!.push(data);
  }

  private finishMultiline(cmd: Command): void {
    this.settle();
    if (cmd.target) {
      cmd.target.end();
    } else {
      cmd.resolve(cmd.listing!.finish() as never);
    }
  }

  /** The oldest reply is complete: its command leaves the window, and the next may go. */
  private settle(): void {
    const done = this.inflight.shift();
    if (done && !done.pipelinable) this.blocking--;
    this.pump();
    if (this.inflight.length === 0 && this.queue.length === 0) this.armKeepalive();
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
      this.inflight.push({
        wire: Buffer.alloc(0),
        label: 'greeting',
        kind: 'single',
        sasl: false,
        pipelinable: false,
        handsOver: false,
        maxBytes: 0,
        minBytes: 0,
        announced: undefined,
        subject: undefined,
        maxLines: () => 0,
        maxLineLength: 0,
        resolve: resolve as (value: never) => void,
        reject,
      });
      this.blocking++;
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
    const owed = this.inflight[0]?.label ?? this.queue[0]?.label;
    const lost = code === 'EPIPE' || code === 'ECONNRESET' ? 'the server closed the connection' : `connection failed (${code ?? err.message})`;
    this.fail(new Pop3Error('CLOSED', `${lost}${owed ? ` while ${owed} was pending` : ''}${this.lastWords()}`, { cause: err }));
  };

  private readonly onSocketClose = (): void => {
    if (this.inflight.length > 0 || this.queue.length > 0) {
      const owed = this.inflight[0]?.label ?? this.queue[0]?.label ?? 'a reply';
      this.fail(new Pop3Error('CLOSED', `server closed the connection while ${owed} was pending${this.lastWords()}`));
    } else {
      this.fail(new Pop3Error('CLOSED', `${this.goodbye === null ? 'connection closed' : 'the server closed the connection'}${this.lastWords()}`));
    }
  };

  /** Why the server hung up, in its own words, when it said. */
  private lastWords(): string {
    const said = this.goodbye ?? this.lastRefusal;
    return said === null ? '' : ` (it said "-ERR ${said}")`;
  }

  /** Lets a held refusal stand; or, when the connection failed before the server went on, turns it into that failure. */
  private releaseRefusal(failure?: Pop3Error): void {
    const held = this.heldRefusal;
    this.heldRefusal = null;
    held?.cmd.reject(failure ?? held.err);
  }

  private readonly onAbort = (): void => this.fail(abortReason(this.signal!));

  private fail(cause: Pop3Error): void {
    if (this.failure) return;
    this.signal?.removeEventListener('abort', this.onAbort);
    // An error may quote what the server said (a listing line, a reply); never a secret of ours.
    const err = inTransfer(this.scrubError(cause), this.inflight[0]);
    this.failure = err;
    this.disarmTimer();
    this.disarmKeepalive();
    this.releaseRefusal(err);
    const owed = [...this.inflight.splice(0), ...this.queue.splice(0)];
    for (const cmd of owed) {
      if (cmd.target) cmd.target.fail(err);
      else cmd.reject(err);
    }
    this.socket.destroy();
  }

  private armTimer(): void {
    const owed = this.inflight.length > 0 && !this.pausedForConsumer && !this.failure;
    if (!owed) {
      this.disarmTimer();
    } else if (!this.timer) {
      this.timer = setTimeout(this.onTimeout, this.timeoutMs);
    }
  }

  private armKeepalive(): void {
    this.disarmKeepalive();
    if (this.keepaliveMs <= 0 || this.failure || this.handingOver || this.inflight.length > 0 || this.queue.length > 0) return;
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
    const waiting = this.inflight[0]?.label ?? 'a reply';
    this.fail(new Pop3Error('TIMEOUT', `no reply from server within ${Math.round(this.timeoutMs / 1000)}s (waiting for ${waiting})`));
  };
}

const CRLF = Buffer.from('\r\n');

/** What a masked label hides of its command line: "PASS ****" hides the password. */
function hiddenPart(line: string, label: string): string {
  let common = 0;
  while (common < line.length && common < label.length && line[common] === label[common]) common++;
  return line.slice(common);
}

function scrubbedError(err: Pop3Error, scrub: (text: string) => string): Pop3Error {
  const message = scrub(err.message);
  const serverText = err.serverText === undefined ? undefined : scrub(err.serverText);
  if (message === err.message && serverText === err.serverText) return err;
  return new Pop3Error(err.code, message, { serverText, cause: err.cause, msgNo: err.msgNo, inTransfer: err.inTransfer });
}

/** The same failure, as the fault of message `msgNo` (the command it broke on was about it). */
function tiedTo(err: Pop3Error, msgNo: number | undefined): Pop3Error {
  if (msgNo === undefined || err.code !== 'PROTOCOL' || err.msgNo !== undefined) return err;
  return new Pop3Error(err.code, err.message, { serverText: err.serverText, cause: err.cause, msgNo });
}

/**
 * A closed or silent connection, noting the message whose body was arriving: not that
 * message's fault for sure, but a server that fails on it every time must not keep it
 * ahead of the others (see Pop3Error.inTransfer).
 */
function inTransfer(err: Pop3Error, head: Command | undefined): Pop3Error {
  if ((err.code !== 'CLOSED' && err.code !== 'TIMEOUT') || head?.kind !== 'body' || !head.reply || head.subject === undefined) return err;
  return new Pop3Error(err.code, err.message, { serverText: err.serverText, cause: err.cause, inTransfer: head.subject });
}

function announcedAs(cmd: Command): string {
  return cmd.announced === undefined ? 'more than a reply may hold' : `though LIST announced ${cmd.announced}`;
}
