import { createHash } from 'node:crypto';
import { Pop3Error } from './errors.js';

export interface UidlEntry {
  msgNo: number;
  uidl: string;
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
  return new Pop3Error('PROTOCOL', `malformed ${what} line from server: "${line.slice(0, 80)}"`);
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

/**
 * A UIDL listing, checked as a hostile server's output: well-formed lines, message
 * numbers within STAT's count and each listed once, unique-ids of the RFC's shape and
 * never repeated (two messages with one UIDL would make one of them undeliverable).
 * Lines are taken in batches as they arrive; the message numbers are checked at the
 * end, against a count that may arrive only just before the listing.
 */
export class UidlListingParser {
  private readonly entries: UidlEntry[] = [];

  add(lines: readonly string[]): void {
    for (const line of lines) {
      const parts = splitLine(line);
      if (!parts || parts.trailing) throw malformed('UIDL', line);
      const { msgNo, token: uidl } = parts;
      if (!isUniqueId(uidl)) {
        throw new Pop3Error('PROTOCOL', `UIDL of message ${msgNo} is not a valid unique-id (1-70 printable characters)`);
      }
      this.entries.push({ msgNo, uidl });
    }
  }

  /**
   * The entries and their digest (listingDigest). Repeated unique-ids are looked for
   * unless the digest is `checked`, that of a listing already found free of them: the
   * same unique-ids in the same order cannot hold a repeat that one did not, and a set
   * of every unique-id is the dearest part of reading a listing of 100,000 that has not
   * changed since the last run.
   */
  finish(count: number, checked?: string | null): { entries: UidlEntry[]; digest: string } {
    const seen = new NumberSet(count);
    for (const e of this.entries) seen.claim('UIDL', e.msgNo);
    const digest = listingDigest(this.entries);
    if (digest !== checked) this.refuseRepeats();
    return { entries: this.entries, digest };
  }

  private refuseRepeats(): void {
    const first = new Map<string, number>();
    for (const { msgNo, uidl } of this.entries) {
      const other = first.get(uidl);
      if (other !== undefined) throw new Pop3Error('PROTOCOL', `server gave messages ${other} and ${msgNo} the same UIDL "${uidl}"`);
      first.set(uidl, msgNo);
    }
  }
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
