import { Transform, type TransformCallback } from 'node:stream';

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const STUFFING = Buffer.from([DOT]);

/**
 * The server side of RFC 1939 §3 framing, for the development server: doubles a '.'
 * that starts a CRLF-delimited line, makes sure the content ends with CRLF, and
 * appends the ".CRLF" terminator. Works on chunks cut anywhere.
 */
export class DotStuffer extends Transform {
  private lineStart = true;
  private prevCr = false;
  private lastTwo: [number, number] = [-1, -1];

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.push(this.stuff(chunk));
    done();
  }

  override _flush(done: TransformCallback): void {
    const endsWithCrlf = this.lastTwo[0] === CR && this.lastTwo[1] === LF;
    const empty = this.lastTwo[1] === -1;
    this.push(Buffer.from(endsWithCrlf || empty ? '.\r\n' : '\r\n.\r\n', 'latin1'));
    done();
  }

  stuff(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    let from = 0;
    const pieces: Buffer[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.lineStart && b === DOT) {
        pieces.push(chunk.subarray(from, i), STUFFING);
        from = i;
      }
      this.lineStart = b === LF && this.prevCr;
      this.prevCr = b === CR;
    }
    pieces.push(chunk.subarray(from));
    this.lastTwo = chunk.length >= 2 ? [chunk[chunk.length - 2]!, chunk[chunk.length - 1]!] : [this.lastTwo[1], chunk[0]!];
    return Buffer.concat(pieces);
  }
}

/** The whole wire form of a message held in memory. */
export function dotStuff(content: Buffer): Buffer {
  const stuffer = new DotStuffer();
  const body = stuffer.stuff(content);
  const endsWithCrlf = content.length >= 2 && content[content.length - 2] === CR && content[content.length - 1] === LF;
  const tail = content.length === 0 || endsWithCrlf ? '.\r\n' : '\r\n.\r\n';
  return Buffer.concat([body, Buffer.from(tail, 'latin1')]);
}
