import { Readable, type Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DevMessage } from './mailstore.js';
import type { Reply } from './replies.js';

/**
 * The faults a real server will not produce on demand, and how each reply goes out through
 * them: cut into chosen pieces, delayed, truncated or replaced, mutated, followed by injected
 * bytes, the connection dropped or stalled at any command. Faults are inert unless set.
 */

/**
 * What a script sees of the session it is asked about (DevSession is one): declared here
 * rather than taken from session.ts, so that faults.ts and session.ts do not import each other.
 */
export interface ScriptedSession {
  /** The user USER named or who logged in, or null. */
  readonly username: string | null;
  /** Requests received whose replies have not started, this one included: above 1 means the client pipelines. */
  readonly commandsAhead: number;
  destroy(): void;
}

export interface CommandEvent {
  verb: string;
  args: string[];
  /** Commands seen so far in this session, this one included. */
  count: number;
  session: ScriptedSession;
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

/** False for a capability (and its command) that `without` hides. */
export function offers(faults: ServerFaults, capability: string): boolean {
  return !(faults.without ?? []).includes(capability);
}

/** The bytes a script sends in place of the normal reply. */
export function replyOf(reply: string | Buffer | ReplySource): Reply {
  if (typeof reply === 'function') return Readable.from(reply());
  return Buffer.isBuffer(reply) ? reply : Buffer.from(reply, 'latin1');
}

/**
 * Writes one session's replies in the order they were sent, each through the faults in force
 * when it was sent. The greeting is reply 0.
 */
export class ReplyWriter {
  /** The command being answered, which `mutate` is told. */
  verb = 'greeting';
  private sent = 0;
  private started = 0;
  private stopped = false;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly server: { readonly faults: ServerFaults },
    /** A getter, because STLS swaps the stream under the session. */
    private readonly stream: () => Duplex,
  ) {}

  /** Replies to requests (the greeting is none) that have started to go out. */
  get answered(): number {
    return this.started;
  }

  /** The server answers nothing more, so the session stops reading commands. */
  get stalled(): boolean {
    return this.stopped;
  }

  stall(): void {
    this.stopped = true;
  }

  send(reply: Reply, arrived: number, action?: ScriptAction): void {
    const index = this.sent++;
    const mutate = this.server.faults.mutate;
    if (mutate && Buffer.isBuffer(reply) && reply.length > 0) {
      const mutated = mutate(reply, { replyIndex: index, verb: this.verb });
      reply = mutated.data;
      if (mutated.then === 'drop') action = { ...action, dropAfterBytes: mutated.data.length };
      if (mutated.then === 'stall') this.stopped = true;
    }
    const due = arrived + (this.server.faults.latencyMs ?? 0) + (action?.delayMs ?? 0);
    this.writing = this.writing.then(() => this.write(reply, index, due, action)).catch(() => this.destroy());
  }

  /** Runs `step` once every reply sent before it has been written: a close or a TLS upgrade waits its turn. */
  after(step: () => void): void {
    this.writing = this.writing.then(step);
  }

  private destroy(): void {
    this.stream().destroy();
  }

  private async write(reply: Reply, index: number, due: number, action?: ScriptAction): Promise<void> {
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    if (index > 0) this.started++;
    if (this.stream().destroyed) return;
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
    const stream = this.stream();
    if (data.length === 0 || stream.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      if (stream.write(data)) resolve();
      else {
        const done = (): void => {
          stream.off('drain', done);
          stream.off('close', done);
          resolve();
        };
        stream.on('drain', done);
        stream.on('close', done);
      }
    });
  }
}
