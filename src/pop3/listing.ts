import { Pop3Error } from './errors.js';

export interface UidlEntry {
  msgNo: number;
  uidl: string;
}

/** RFC 1939 §7: a unique-id is 1 to 70 characters in the range 0x21 to 0x7E. */
const UNIQUE_ID = /^[\x21-\x7e]{1,70}$/;
const UIDL_LINE = /^(\d{1,10})[ \t]+(\S+)[ \t]*$/;
const LIST_LINE = /^(\d{1,10})[ \t]+(\d{1,15})(?:[ \t].*)?$/;
const STAT_TEXT = /^(\d{1,10})[ \t]+(\d{1,15})(?:[ \t].*)?$/;

function malformed(what: string, line: string): Pop3Error {
  return new Pop3Error('PROTOCOL', `malformed ${what} line from server: "${line.slice(0, 80)}"`);
}

function checkMsgNo(what: string, msgNo: number, count: number, seen: Set<number>): void {
  if (msgNo < 1 || msgNo > count) {
    throw new Pop3Error('PROTOCOL', `${what} lists message ${msgNo}, but STAT said there are ${count}`);
  }
  if (seen.has(msgNo)) throw new Pop3Error('PROTOCOL', `${what} lists message ${msgNo} twice`);
  seen.add(msgNo);
}

/** `STAT` reply text: message count and total size. */
export function parseStat(text: string): { count: number; size: number } {
  const m = STAT_TEXT.exec(text.trim());
  if (!m) throw malformed('STAT', text);
  return { count: Number(m[1]), size: Number(m[2]) };
}

/**
 * A UIDL listing, checked as a hostile server's output: well-formed lines, message
 * numbers within STAT's count and each listed once, unique-ids of the RFC's shape and
 * never repeated (two messages with one UIDL would make one of them undeliverable).
 */
export function parseUidlListing(lines: string[], count: number): UidlEntry[] {
  const seenNo = new Set<number>();
  const seenId = new Map<string, number>();
  const entries: UidlEntry[] = [];
  for (const line of lines) {
    const m = UIDL_LINE.exec(line);
    if (!m) throw malformed('UIDL', line);
    const msgNo = Number(m[1]);
    const uidl = m[2]!;
    checkMsgNo('UIDL', msgNo, count, seenNo);
    if (!UNIQUE_ID.test(uidl)) {
      throw new Pop3Error('PROTOCOL', `UIDL of message ${msgNo} is not a valid unique-id (1-70 printable characters)`);
    }
    const other = seenId.get(uidl);
    if (other !== undefined) {
      throw new Pop3Error('PROTOCOL', `server gave messages ${other} and ${msgNo} the same UIDL "${uidl}"`);
    }
    seenId.set(uidl, msgNo);
    entries.push({ msgNo, uidl });
  }
  return entries;
}

/** A LIST listing: message number → size in octets. */
export function parseListListing(lines: string[], count: number): Map<number, number> {
  const seen = new Set<number>();
  const sizes = new Map<number, number>();
  for (const line of lines) {
    const m = LIST_LINE.exec(line);
    if (!m) throw malformed('LIST', line);
    const msgNo = Number(m[1]);
    checkMsgNo('LIST', msgNo, count, seen);
    sizes.set(msgNo, Number(m[2]));
  }
  return sizes;
}
