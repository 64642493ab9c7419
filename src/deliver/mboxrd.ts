/**
 * The mboxrd format, as the pure part of the mbox target (mbox.ts writes it): a message
 * is a "From " line, the message with every line that matches /^>*From / given one more
 * ">", and an empty line. A reader removes one ">" from each line matching /^>+From /,
 * so any message, ">From " lines included, reads back byte for byte (with LF line ends,
 * which is how pinchmail stores every message).
 */

const LF = 0x0a;
const GT = 0x3e;
const FROM_ = Buffer.from('From ', 'latin1');

/**
 * Quotes a message given in chunks of any size: the state between chunks is whether
 * the next byte starts a line, and the start of a line that might still become a
 * "From " line (at most a run of ">" and four bytes).
 */
export class MboxrdQuoter {
  /** Bytes at the start of the current line, held back until it is known whether the line needs a ">". */
  private held: number[] = [];
  private atLineStart = true;
  /** The last byte passed on (LF when none yet, so an empty message needs no newline added). */
  private last = LF;

  /** The quoted form of `chunk`, in one or more pieces (slices of the chunk where nothing changes). */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let from = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (!this.atLineStart && this.held.length === 0) {
        const lf = chunk.indexOf(LF, i);
        if (lf === -1) break;
        i = lf;
        this.atLineStart = true;
        continue;
      }
      if (this.atLineStart) {
        // A new line begins at i: pass on what came before it, then decide about this line.
        if (i > from) out.push(chunk.subarray(from, i));
        from = i;
        this.atLineStart = false;
        this.held = [];
      }
      const byte = chunk[i]!;
      const verdict = this.judge(byte);
      if (verdict === 'undecided') {
        this.held.push(byte);
        from = i + 1;
        continue;
      }
      const line = Buffer.from(this.held);
      this.held = [];
      out.push(verdict === 'quote' ? Buffer.concat([Buffer.of(GT), line]) : line);
      from = i;
      i--; // the byte itself is passed on with what follows it
    }
    if (this.held.length === 0 && from < chunk.length) out.push(chunk.subarray(from));
    const tail = out.at(-1);
    if (tail && tail.length > 0) this.last = tail[tail.length - 1]!;
    return out.filter((b) => b.length > 0);
  }

  /** What is still held, and a newline when the message did not end with one. */
  end(): Buffer[] {
    const out: Buffer[] = [];
    if (this.held.length > 0) {
      out.push(Buffer.from(this.held));
      this.last = this.held[this.held.length - 1]!;
      this.held = [];
    }
    if (this.last !== LF) {
      out.push(Buffer.of(LF));
      this.last = LF;
    }
    return out;
  }

  /** With `byte` after what is held: does the line need a ">" ('quote'), not ('plain'), or is it too soon to say? */
  private judge(byte: number): 'quote' | 'plain' | 'undecided' {
    const held = this.held;
    let gts = 0;
    while (gts < held.length && held[gts] === GT) gts++;
    if (gts === held.length && byte === GT) return 'undecided';
    const at = held.length - gts;
    if (byte === LF || FROM_[at] !== byte) return 'plain';
    return at === FROM_.length - 1 ? 'quote' : 'undecided';
  }
}

/** The whole quoted message at once (for tests and small inputs). */
export function quoteMboxrd(message: Buffer): Buffer {
  const quoter = new MboxrdQuoter();
  return Buffer.concat([...quoter.push(message), ...quoter.end()]);
}

/** Undoes the quoting (one ">" off each line matching /^>+From /): what a mboxrd reader does. */
export function unquoteMboxrd(quoted: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  while (at < quoted.length) {
    let lf = quoted.indexOf(LF, at);
    if (lf === -1) lf = quoted.length - 1;
    const line = quoted.subarray(at, lf + 1);
    let gts = 0;
    while (gts < line.length && line[gts] === GT) gts++;
    const quotedFrom = gts > 0 && line.subarray(gts, gts + FROM_.length).equals(FROM_);
    out.push(quotedFrom ? line.subarray(1) : line);
    at = lf + 1;
  }
  return Buffer.concat(out);
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** ctime(3)'s form of a time, in UTC, as the "From " line carries it: "Wed Dec  2 14:26:13 2026". */
export function ctimeUtc(ms: number): string {
  const d = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

/**
 * The envelope sender for the "From " line: the address of the message's first
 * Return-Path (what the delivering MTA recorded), "MAILER-DAEMON" for a null sender
 * (<>) or none at all, as procmail's formail and mpop write it. Whitespace cannot be in
 * the line's first word, so an address with any is cut at it.
 */
export function envelopeSender(returnPath: string | undefined): string {
  const inside = returnPath === undefined ? '' : (/<([^>]*)>/.exec(returnPath)?.[1] ?? returnPath).trim();
  const word = inside.split(/\s/, 1)[0] ?? '';
  // Only printable ASCII: the line is read by tools that know nothing of encodings.
  return word && /^[\x21-\x7e]+$/.test(word) ? word : 'MAILER-DAEMON';
}

/** The "From " line that starts a message in the mbox. */
export function fromLine(sender: string, ms: number): Buffer {
  return Buffer.from(`From ${sender} ${ctimeUtc(ms)}\n`, 'latin1');
}
