const LF = 0x0a;
const CR = 0x0d;

export interface LineStep {
  /** The line without its CRLF (or bare LF), or null when no full line has arrived. */
  line: Buffer | null;
  /** Offset in the chunk just past the line's LF, or the chunk's length when it was all taken. */
  end: number;
}

/**
 * Collects one protocol line across chunks, refusing to hold more than `maxLength`
 * bytes: a server that never sends LF must not make us buffer without end
 * (compare fetchmail's CVE-2005-2335).
 */
export class LineBuffer {
  private parts: Buffer[] = [];
  private length = 0;

  constructor(private readonly maxLength: number) {}

  /** Throws RangeError when the line grows past the limit. */
  push(chunk: Buffer, start = 0): LineStep {
    const lf = chunk.indexOf(LF, start);
    const stop = lf === -1 ? chunk.length : lf;
    this.length += stop - start;
    if (this.length > this.maxLength) {
      throw new RangeError(`line longer than ${this.maxLength} bytes`);
    }
    if (lf === -1) {
      if (stop > start) this.parts.push(chunk.subarray(start, stop));
      return { line: null, end: chunk.length };
    }
    const tail = chunk.subarray(start, lf);
    let line = this.parts.length === 0 ? tail : Buffer.concat([...this.parts, tail]);
    this.parts = [];
    this.length = 0;
    if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    return { line, end: lf + 1 };
  }
}
