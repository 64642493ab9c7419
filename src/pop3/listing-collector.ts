import { Pop3Error } from './errors.js';

const LF = 0x0a;

/**
 * Gathers the lines of a multi-line listing (CAPA, UIDL, LIST) as it arrives, holding
 * a hostile server to a line length and a line count. Each chunk's complete lines are
 * turned into text with one conversion and one split, and handed on at once, so a
 * listing of 100,000 lines is parsed while the server is still sending it rather than
 * after.
 */
export class ListingCollector {
  private readonly gathered: string[] = [];
  private readonly onLines: (lines: string[]) => void;
  /** The start of a line whose LF has not arrived yet. */
  private carry: Buffer | null = null;
  private lines = 0;
  /** Bytes since the last LF. */
  private open = 0;

  /** Without `onLines`, the lines are gathered for finish(). */
  constructor(
    private readonly label: string,
    private readonly maxLineLength: number,
    private readonly maxLines: () => number,
    onLines?: (lines: string[]) => void,
  ) {
    this.onLines =
      onLines ??
      ((lines) => {
        for (const line of lines) this.gathered.push(line);
      });
  }

  push(data: Buffer): void {
    let from = 0;
    let lastLf = -1;
    for (let lf = data.indexOf(LF); lf !== -1; lf = data.indexOf(LF, from)) {
      if (this.open + (lf - from) > this.maxLineLength) this.tooLong();
      this.open = 0;
      from = lf + 1;
      lastLf = lf;
      if (++this.lines > this.maxLines()) {
        throw new Pop3Error('PROTOCOL', `${this.label}: more lines than the ${this.maxLines()} expected`);
      }
    }
    this.open += data.length - from;
    if (this.open > this.maxLineLength) this.tooLong();
    if (lastLf === -1) {
      if (data.length > 0) this.carry = this.carry ? Buffer.concat([this.carry, data]) : data;
      return;
    }
    const complete = this.carry ? Buffer.concat([this.carry, data.subarray(0, lastLf)]) : data.subarray(0, lastLf);
    this.carry = lastLf + 1 < data.length ? data.subarray(lastLf + 1) : null;
    this.emit(complete);
  }

  /** The lines, without their line ends, when no `onLines` took them. */
  finish(): string[] {
    // A last line without its line end (the decoder normally leaves it one).
    if (this.carry) this.emit(this.carry);
    this.carry = null;
    return this.gathered;
  }

  private emit(text: Buffer): void {
    const lines = text.toString('latin1').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.endsWith('\r')) lines[i] = line.slice(0, -1);
    }
    this.onLines(lines);
  }

  private tooLong(): never {
    throw new Pop3Error('PROTOCOL', `malformed reply: line longer than ${this.maxLineLength} bytes in reply to ${this.label}`);
  }
}
