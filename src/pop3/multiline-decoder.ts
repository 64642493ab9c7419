const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

const enum State {
  /** At the first byte of a line. */
  LineStart,
  /** Inside a line. */
  InLine,
  /** A line began with '.', and we do not yet know whether it is the terminator. */
  Dot,
  /** A line began with '.\r'. */
  DotCr,
}

export type LineEnds = 'crlf' | 'lf';

export interface DecodeStep {
  /** Decoded bytes from this chunk; may be empty. */
  data: Buffer;
  /** Offset in the chunk just past the terminator, or -1 when the response goes on. */
  end: number;
}

/**
 * Decodes the body of one multi-line POP3 response (RFC 1939 §3), fed in chunks
 * cut anywhere, without ever decoding the bytes as text:
 *
 * - lines end with CRLF; a bare LF or bare CR is content, as RFC 1939 has it;
 * - a line that starts with '.' loses that first octet (dot-unstuffing);
 * - a line that is only '.' ends the response;
 * - with `lf`, each CRLF becomes LF, even when the pair is split across chunks;
 *   bare CRs and LFs pass through unchanged.
 *
 * The state carried between chunks is a few flags, so the terminator is found
 * however the stream is cut, and memory stays at one chunk.
 */
export class MultilineDecoder {
  private state = State.LineStart;
  /** The last byte taken inside a line was CR. In lf mode that CR is held back until we see what follows. */
  private prevCr = false;
  private done = false;
  /** Wire bytes consumed so far, terminator included. */
  consumed = 0;

  constructor(private readonly lineEnds: LineEnds = 'crlf') {}

  get finished(): boolean {
    return this.done;
  }

  push(chunk: Buffer): DecodeStep {
    if (this.done) throw new Error('MultilineDecoder: push after the terminator');
    const toLf = this.lineEnds === 'lf';
    const n = chunk.length;
    // One byte more than the chunk: a CR held back from the previous chunk may be emitted.
    const out = Buffer.allocUnsafe(n + 1);
    let o = 0;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case State.LineStart:
          if (chunk[i] === DOT) {
            this.state = State.Dot;
            i++;
          } else {
            this.state = State.InLine;
          }
          break;

        case State.InLine: {
          const lf = chunk.indexOf(LF, i);
          // A CR held from the previous chunk is content unless this chunk opens with its LF.
          if (toLf && this.prevCr && lf !== i) out[o++] = CR;
          if (lf === -1) {
            const keepCr = toLf && chunk[n - 1] === CR;
            o += chunk.copy(out, o, i, keepCr ? n - 1 : n);
            this.prevCr = chunk[n - 1] === CR;
            i = n;
            break;
          }
          const crlf = lf > i ? chunk[lf - 1] === CR : this.prevCr;
          if (toLf && crlf) {
            if (lf > i) o += chunk.copy(out, o, i, lf - 1);
            out[o++] = LF;
          } else {
            o += chunk.copy(out, o, i, lf + 1);
          }
          this.prevCr = false;
          i = lf + 1;
          if (crlf) this.state = State.LineStart;
          break;
        }

        case State.Dot:
          if (chunk[i] === CR) {
            this.state = State.DotCr;
            i++;
          } else {
            // A stuffed line: the dot we skipped was the stuffing.
            this.state = State.InLine;
          }
          break;

        case State.DotCr:
          if (chunk[i] === LF) return this.finish(out, o, i + 1);
          // ".\rX" with X not LF: the dot was stuffing and the CR is a bare CR of content.
          out[o++] = CR;
          this.state = State.InLine;
          break;
      }
    }
    this.consumed += n;
    return { data: out.subarray(0, o), end: -1 };
  }

  private finish(out: Buffer, o: number, end: number): DecodeStep {
    this.done = true;
    this.consumed += end;
    return { data: out.subarray(0, o), end };
  }
}
