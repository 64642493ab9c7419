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
/** ">" to hand out a long run of them from, in pieces of bounded size. */
const GT_RUN = Buffer.alloc(64 * 1024, GT);

/**
 * Quotes a message given in chunks of any size. Between chunks it remembers only whether
 * the next byte starts a line and, for a line that might still turn out to be a "From "
 * line, how many ">" it began with and how much of "From " followed: counts, not bytes,
 * so a line of a million ">" costs no more memory or time than a short one.
 */
export class MboxrdQuoter {
  private atLineStart = true;
  /** On a line still undecided: the ">" it starts with, and how many bytes of "From " came next (-1: not undecided). */
  private gts = 0;
  private matched = -1;
  /** The last byte passed on (LF when none yet, so an empty message needs no newline added). */
  private last = LF;

  /** The quoted form of `chunk`, in one or more pieces (slices of the chunk where nothing changes). */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let from = 0;
    let i = 0;
    while (i < chunk.length) {
      if (this.matched < 0 && !this.atLineStart) {
        const lf = chunk.indexOf(LF, i);
        if (lf === -1) break;
        i = lf + 1;
        this.atLineStart = true;
        continue;
      }
      if (this.atLineStart) {
        // A line begins at i: what came before it goes out as it is; this one is held back.
        if (i > from) out.push(chunk.subarray(from, i));
        this.atLineStart = false;
        this.gts = 0;
        this.matched = 0;
      }
      const byte = chunk[i]!;
      if (this.matched === 0 && byte === GT) this.gts++;
      else if (byte !== LF && FROM_[this.matched] === byte) this.matched++;
      else {
        // Not a "From " line: what was held goes out unchanged, and the byte with what follows.
        out.push(...this.held(false));
        from = i;
        continue;
      }
      i++;
      from = i;
      if (this.matched === FROM_.length) out.push(...this.held(true));
    }
    if (this.matched < 0 && from < chunk.length) out.push(chunk.subarray(from));
    const tail = out.at(-1);
    if (tail) this.last = tail[tail.length - 1]!;
    return out;
  }

  /** What is still held, and a newline when the message did not end with one. */
  end(): Buffer[] {
    const out = this.matched >= 0 ? this.held(false) : [];
    const tail = out.at(-1);
    if (tail) this.last = tail[tail.length - 1]!;
    if (this.last !== LF) {
      out.push(Buffer.of(LF));
      this.last = LF;
    }
    return out;
  }

  /** The bytes held back for the current line (with one more ">" when it is a "From " line), now decided. */
  private held(quote: boolean): Buffer[] {
    const out: Buffer[] = [];
    for (let left = this.gts + (quote ? 1 : 0); left > 0; left -= GT_RUN.length) out.push(GT_RUN.subarray(0, Math.min(left, GT_RUN.length)));
    if (this.matched > 0) out.push(FROM_.subarray(0, this.matched));
    this.gts = 0;
    this.matched = -1;
    return out;
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
