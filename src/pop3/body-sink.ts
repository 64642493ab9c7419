import type { ByteSink } from '../util/byte-sink.js';
import type { Pop3Error } from './errors.js';

/** Where a RETR or TOP body goes (see Pop3Client.bodyTo). */
export type BodySink = ByteSink;

/** What the client does with the decoded bytes of one body. */
export interface BodyTarget {
  /** Returns false to pause the connection until the target resumes it. */
  data(chunk: Buffer): boolean;
  end(): void;
  fail(err: Pop3Error): void;
}

/** A body received whole. */
export interface BodyResult {
  /** Decoded bytes handed to the sink. */
  bytes: number;
  /**
   * The body's first line, when it has the shape of a POP3 status line ("+OK ...",
   * "-ERR ..."), else null. Legal mail may begin so; but so does a body with a stray
   * reply slipped in ahead of it, which a caller must tell apart (see prepare-message).
   */
  statusLikeFirstLine: Buffer | null;
}

const LF = 0x0a;
/** How much of a first line is kept to compare it with another reading of the message. */
const FIRST_LINE_MAX = 1000;
const STATUS_LIKE = /^(\+OK|-ERR)( |\r|\n|$)/i;

/** Keeps the first line of a body as it streams past, without holding anything back. */
export class FirstLine {
  private parts: Buffer[] = [];
  private kept = 0;
  private done = false;

  observe(chunk: Buffer): void {
    if (this.done) return;
    const lf = chunk.indexOf(LF);
    const end = Math.min(lf === -1 ? chunk.length : lf + 1, FIRST_LINE_MAX - this.kept);
    this.parts.push(Buffer.from(chunk.subarray(0, end)));
    this.kept += end;
    if (lf !== -1 || this.kept >= FIRST_LINE_MAX) this.done = true;
  }

  /** The line, when it looks like a POP3 status line. */
  statusLike(): Buffer | null {
    const line = Buffer.concat(this.parts);
    return STATUS_LIKE.test(line.toString('latin1', 0, 5)) ? line : null;
  }
}

/**
 * Feeds a BodySink one chunk at a time: a chunk that arrives while a write is still
 * pending waits its turn, so an asynchronous sink never sees overlapping writes. Settles
 * once the body has ended (or failed) and every write has settled.
 */
export class SinkTarget implements BodyTarget {
  private bytes = 0;
  private error: unknown = null;
  private readonly queued: Buffer[] = [];
  private busy = false;
  private ending: (() => void) | null = null;
  private readonly first = new FirstLine();

  constructor(
    private readonly sink: BodySink,
    private readonly settle: { resolve: (result: BodyResult) => void; reject: (err: unknown) => void },
    private readonly resume: () => void,
  ) {}

  data(chunk: Buffer): boolean {
    if (this.error !== null) return true;
    this.bytes += chunk.length;
    this.first.observe(chunk);
    if (this.busy) {
      this.queued.push(chunk);
      return false;
    }
    return this.write(chunk);
  }

  end(): void {
    this.whenIdle(() => {
      if (this.error !== null) this.settle.reject(this.error);
      else this.settle.resolve({ bytes: this.bytes, statusLikeFirstLine: this.first.statusLike() });
    });
  }

  fail(err: Pop3Error): void {
    this.whenIdle(() => this.settle.reject(err));
  }

  /** Returns false when the write is asynchronous and the connection should wait for it. */
  private write(chunk: Buffer): boolean {
    let result: void | Promise<void>;
    try {
      result = this.sink.write(chunk);
    } catch (err) {
      this.error = err;
      return true;
    }
    if (!result) return true;
    this.busy = true;
    result.then(
      () => this.next(),
      (err: unknown) => {
        this.error = err;
        this.queued.length = 0;
        this.next();
      },
    );
    return false;
  }

  private next(): void {
    this.busy = false;
    while (this.queued.length > 0 && this.error === null) {
      if (!this.write(this.queued.shift()!)) return;
    }
    this.queued.length = 0;
    if (this.ending) {
      const finish = this.ending;
      this.ending = null;
      finish();
    }
    this.resume();
  }

  private whenIdle(finish: () => void): void {
    if (this.busy) this.ending = finish;
    else finish();
  }
}
