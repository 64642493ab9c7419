import { Pop3Error } from './errors.js';

const LF = 0x0a;

/**
 * Gathers the lines of a multi-line listing (CAPA, UIDL, LIST) as it arrives, holding
 * a hostile server to a line length and a line count: chunks are kept as they come
 * and turned into text once, at the end, so a listing of 100,000 lines costs one
 * conversion and one split rather than 100,000 of each.
 */
export class ListingCollector {
  private readonly chunks: Buffer[] = [];
  private lines = 0;
  /** Bytes since the last LF. */
  private open = 0;

  constructor(
    private readonly label: string,
    private readonly maxLineLength: number,
    private readonly maxLines: () => number,
  ) {}

  push(data: Buffer): void {
    let from = 0;
    for (let lf = data.indexOf(LF); lf !== -1; lf = data.indexOf(LF, from)) {
      if (this.open + (lf - from) > this.maxLineLength) this.tooLong();
      this.open = 0;
      from = lf + 1;
      if (++this.lines > this.maxLines()) {
        throw new Pop3Error('PROTOCOL', `${this.label}: more lines than the ${this.maxLines()} expected`);
      }
    }
    this.open += data.length - from;
    if (this.open > this.maxLineLength) this.tooLong();
    this.chunks.push(data);
  }

  /** The lines, without their line ends. */
  finish(): string[] {
    const text = Buffer.concat(this.chunks).toString('latin1');
    if (text === '') return [];
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.endsWith('\r')) lines[i] = line.slice(0, -1);
    }
    return lines;
  }

  private tooLong(): never {
    throw new Pop3Error('PROTOCOL', `malformed reply: line longer than ${this.maxLineLength} bytes in reply to ${this.label}`);
  }
}
