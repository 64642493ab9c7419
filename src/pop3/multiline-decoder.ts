const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
/** CRLF "." CRLF: a line of only "." can appear nowhere else, since content lines starting with "." are stuffed. */
const TERMINATOR = Buffer.from('\r\n.\r\n', 'latin1');
/** A line that starts with '.': stuffing to remove, or the terminator. */
const CRLF_DOT = Buffer.from('\r\n.', 'latin1');
const CR_BYTE = Buffer.from([CR]);

/** Joins slices of `chunk` (and a CR carried from the previous chunk), copying only when there is more than one. */
function assemble(chunk: Buffer, spans: number[], leadingCr: boolean): Buffer {
  if (!leadingCr && spans.length === 2) return chunk.subarray(spans[0], spans[1]);
  const parts: Buffer[] = leadingCr ? [CR_BYTE] : [];
  for (let k = 0; k < spans.length; k += 2) parts.push(chunk.subarray(spans[k], spans[k + 1]));
  return Buffer.concat(parts);
}

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
    return this.lineEnds === 'lf' ? this.pushLf(chunk) : this.pushCrlf(chunk);
  }

  /**
   * crlf mode: content passes through unchanged but for the stuffing dots, so we jump
   * from one CRLF "." to the next and hand out slices of the chunk, copying only
   * when a dot has to be cut out.
   */
  private pushCrlf(chunk: Buffer): DecodeStep {
    const n = chunk.length;
    // Pairs of [start, end) offsets into the chunk that make up the output.
    const spans: number[] = [];
    let crFromBefore = false;
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
          if (this.prevCr) {
            this.prevCr = false;
            if (chunk[i] === LF) {
              // The CRLF straddled the chunks: the CR went out with the previous one.
              spans.push(i, i + 1);
              i++;
              this.state = State.LineStart;
              break;
            }
          }
          const hit = chunk.indexOf(CRLF_DOT, i);
          if (hit === -1) {
            spans.push(i, n);
            if (chunk[n - 1] === CR) this.prevCr = true;
            else if (chunk[n - 1] === LF && n - 2 >= i && chunk[n - 2] === CR) this.state = State.LineStart;
            i = n;
          } else {
            spans.push(i, hit + 2);
            this.state = State.Dot;
            i = hit + 3;
          }
          break;
        }

        case State.Dot:
          if (chunk[i] === CR) {
            this.state = State.DotCr;
            i++;
          } else {
            this.state = State.InLine;
          }
          break;

        case State.DotCr:
          if (chunk[i] === LF) {
            this.done = true;
            this.consumed += i + 1;
            return { data: assemble(chunk, spans, crFromBefore), end: i + 1 };
          }
          // ".\rX" with X not LF: the dot was stuffing and the CR is content.
          if (i > 0) spans.push(i - 1, i);
          else crFromBefore = true;
          this.state = State.InLine;
          break;
      }
    }
    this.consumed += n;
    return { data: assemble(chunk, spans, crFromBefore), end: -1 };
  }

  /** lf mode: every CRLF loses its CR, so each line is copied. */
  private pushLf(chunk: Buffer): DecodeStep {
    // Copies go through a plain Uint8Array view: TypedArray.set is much cheaper per call than Buffer.copy.
    const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
    const n = chunk.length;
    // Output never exceeds the input up to the terminator, plus a CR held from the previous
    // chunk. Bounding by the first possible terminator keeps a chunk that holds many
    // pipelined replies from costing a chunk-sized buffer for each of them.
    const term = chunk.indexOf(TERMINATOR);
    const out = Buffer.allocUnsafe((term === -1 ? n : Math.min(n, term + TERMINATOR.length)) + 1);
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
          if (this.prevCr && lf !== i) out[o++] = CR;
          if (lf === -1) {
            const stop = chunk[n - 1] === CR ? n - 1 : n;
            out.set(bytes.subarray(i, stop), o);
            o += stop - i;
            this.prevCr = chunk[n - 1] === CR;
            i = n;
            break;
          }
          const crlf = lf > i ? chunk[lf - 1] === CR : this.prevCr;
          if (crlf) {
            if (lf > i) {
              out.set(bytes.subarray(i, lf - 1), o);
              o += lf - 1 - i;
            }
            out[o++] = LF;
          } else {
            out.set(bytes.subarray(i, lf + 1), o);
            o += lf + 1 - i;
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
