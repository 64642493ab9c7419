import { createHash } from 'node:crypto';
import { Pop3Error } from './errors.js';

export interface UidlEntry {
  msgNo: number;
  uidl: string;
}

/** A message the UIDL listing does not identify: its UIDL is shared with another, or not a unique-id at all. */
export interface UnidentifiedEntry extends UidlEntry {
  why: string;
}

const STAT_TEXT = /^(\d{1,10})[ \t]+(\d{1,15})(?:[ \t].*)?$/;

const SP = 0x20;
const TAB = 0x09;
const isBlank = (c: number): boolean => c === SP || c === TAB;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/**
 * Splits a listing line "<msg> <token>[ <rest>]" by hand (listings run to 100,000
 * lines; a regular expression or a substring per field is the slow part). Returns null
 * when the line is not of that shape; `trailing` says whether anything but blanks
 * follows the token.
 */
function splitLine(line: string): { msgNo: number; token: string; trailing: boolean } | null {
  const n = line.length;
  let i = 0;
  let msgNo = 0;
  for (let c = line.charCodeAt(0); i < n && isDigit(c); c = line.charCodeAt(++i)) msgNo = msgNo * 10 + (c - 0x30);
  if (i === 0 || i > 10) return null;
  let j = i;
  while (j < n && isBlank(line.charCodeAt(j))) j++;
  if (j === i || j === n) return null;
  let k = j;
  while (k < n && !isBlank(line.charCodeAt(k))) k++;
  let trailing = false;
  for (let r = k; r < n; r++) {
    if (!isBlank(line.charCodeAt(r))) {
      trailing = true;
      break;
    }
  }
  return { msgNo, token: line.slice(j, k), trailing };
}

/** RFC 1939 §7: a unique-id is 1 to 70 characters in the range 0x21 to 0x7E. */
function isUniqueId(id: string): boolean {
  if (id.length < 1 || id.length > 70) return false;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

function malformed(what: string, line: string): Pop3Error {
  // Quoted as sent (JSON output keeps it so); what prints for a person escapes it (src/cli/terminal-text.ts).
  return new Pop3Error('PROTOCOL', `malformed ${what} line from server: "${line.slice(0, 80)}"`);
}

/**
 * What is kept of an invalid unique-id: enough to show, no more. Rebuilt, not sliced,
 * so that it does not hold on to the whole batch of listing text it came from.
 */
function shownId(text: string): string {
  const kept = text.length > 72 ? `${text.slice(0, 70)}…` : text;
  return Buffer.from(kept, 'utf8').toString('utf8');
}

/** Message numbers 1..count, each claimed at most once; a bitmap, since listings run long. */
class NumberSet {
  private readonly seen: Uint8Array;

  constructor(private readonly count: number) {
    this.seen = new Uint8Array(Number.isFinite(count) ? count + 1 : 0);
  }

  claim(what: string, msgNo: number): void {
    if (msgNo < 1 || msgNo > this.count) {
      throw new Pop3Error('PROTOCOL', `${what} lists message ${msgNo}, but STAT said there are ${this.count}`);
    }
    if (this.seen[msgNo]) throw new Pop3Error('PROTOCOL', `${what} lists message ${msgNo} twice`);
    this.seen[msgNo] = 1;
  }
}

/** `STAT` reply text: message count and total size. */
export function parseStat(text: string): { count: number; size: number } {
  const m = STAT_TEXT.exec(text.trim());
  if (!m) throw malformed('STAT', text);
  return { count: Number(m[1]), size: Number(m[2]) };
}

/**
 * Names a UIDL listing by its unique-ids in server order, so that a listing seen before
 * can be recognised (see UidlListingParser.finish and StateStore.snapshot). A unique-id
 * holds no newline (RFC 1939 allows 0x21-0x7E), so joining on one is unambiguous.
 */
export function listingDigest(listing: readonly { uidl: string }[]): string {
  return createHash('sha256')
    .update(listing.map((m) => m.uidl).join('\n'))
    .digest('base64');
}

const INVALID_ID = 'not a valid unique-id (1-70 printable characters)';

/**
 * A UIDL listing, checked as a hostile server's output. A listing that cannot be read
 * at all (a line without a message number, a number beyond STAT's count or listed
 * twice) is refused. A message whose UIDL cannot identify it (not of the RFC's shape,
 * or shared with another message, as popa3d's hashes of a few headers are) is set
 * apart as unidentified: the caller leaves it alone, and every other message is
 * tracked as usual. Lines are taken in batches as they arrive; the message numbers
 * are checked at the end, against a count that may arrive only just before the listing.
 */
export class UidlListingParser {
  private readonly entries: UidlEntry[] = [];
  private readonly invalid = new Set<number>();

  add(lines: readonly string[]): void {
    for (const line of lines) {
      const parts = splitLine(line);
      if (!parts) throw malformed('UIDL', line);
      const { msgNo } = parts;
      // A blank inside the unique-id makes it no unique-id; the message number still stands.
      const uidl = parts.trailing ? line.slice(String(msgNo).length).trim() : parts.token;
      const valid = !parts.trailing && isUniqueId(uidl);
      if (!valid) this.invalid.add(msgNo);
      this.entries.push({ msgNo, uidl: valid ? uidl : shownId(uidl) });
    }
  }

  /**
   * The identified entries, the unidentified ones, and the digest of the whole listing
   * (listingDigest). Repeated unique-ids are looked for unless the digest is `checked`,
   * that of a listing already found free of them and of invalid ones: the same
   * unique-ids in the same order cannot hold a repeat that one did not, and a map of
   * every unique-id is the dearest part of reading a listing of 100,000 that has not
   * changed since the last run.
   */
  finish(count: number, checked?: string | null): { entries: UidlEntry[]; unidentified: UnidentifiedEntry[]; digest: string } {
    const seen = new NumberSet(count);
    for (const e of this.entries) seen.claim('UIDL', e.msgNo);
    const digest = listingDigest(this.entries);
    const why = new Map<number, string>();
    for (const msgNo of this.invalid) why.set(msgNo, INVALID_ID);
    if (digest !== checked) this.findShared(why);
    if (why.size === 0) return { entries: this.entries, unidentified: [], digest };
    return {
      entries: this.entries.filter((e) => !why.has(e.msgNo)),
      unidentified: this.entries.filter((e) => why.has(e.msgNo)).map((e) => ({ ...e, why: why.get(e.msgNo)! })),
      digest,
    };
  }

  /** Notes, for each message whose unique-id another message also has, which ones share it. */
  private findShared(why: Map<number, string>): void {
    // One map of first holders; lists are made only for unique-ids that turn out shared.
    const first = new Map<string, number>();
    let shared: Map<string, number[]> | null = null;
    for (const { msgNo, uidl } of this.entries) {
      if (this.invalid.has(msgNo)) continue;
      const other = first.get(uidl);
      if (other === undefined) {
        first.set(uidl, msgNo);
        continue;
      }
      shared ??= new Map();
      const holders = shared.get(uidl) ?? [other];
      holders.push(msgNo);
      shared.set(uidl, holders);
    }
    for (const holders of shared?.values() ?? []) {
      for (const msgNo of holders) why.set(msgNo, `shared with ${describeOthers(holders, msgNo)}`);
    }
  }
}

/** "message 3", "messages 1, 3", "messages 1, 2, 4, 5, 6 and 9 more": the holders but `self`, in constant time each. */
function describeOthers(holders: readonly number[], self: number): string {
  const shown = holders.slice(0, 6).filter((n) => n !== self).slice(0, 5);
  const others = holders.length - 1;
  return `message${others > 1 ? 's' : ''} ${shown.join(', ')}${others > 5 ? ` and ${others - 5} more` : ''}`;
}

/** A LIST listing: message number → size in octets. */
export function parseListListing(lines: string[], count: number): Map<number, number> {
  const seen = new NumberSet(count);
  const sizes = new Map<number, number>();
  for (const line of lines) {
    const parts = splitLine(line);
    if (!parts || !/^\d{1,15}$/.test(parts.token)) throw malformed('LIST', line);
    seen.claim('LIST', parts.msgNo);
    sizes.set(parts.msgNo, Number(parts.token));
  }
  return sizes;
}
