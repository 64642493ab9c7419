import { createHash, type Hash } from 'node:crypto';
import type { ByteSink } from '../util/byte-sink.js';

/**
 * A message's identity, as far as this host can know it without reading the message:
 * its UIDL (the key), the size LIST gave when this host last checked it, and a
 * fingerprint of its header block, recorded when this host retrieved it.
 */
export interface Identity {
  /** null for rows recorded before sizes were (none today, but the column allows it). */
  size: number | null;
  /** null until retrieved, and for messages delivered before fingerprints were recorded. */
  fingerprint: string | null;
}

/**
 * Is the message listed now the one this host recorded under its UIDL? Where this host
 * has a fingerprint, the header decides: mbox servers such as GNU mailutils rewrite a
 * message's status headers between sessions, so its size changes while it stays the
 * same message. A size that differs then only calls for the header. Without a
 * fingerprint the size decides. 'ask' means the header must be read first (or, given as
 * null, could not be read, and nothing may be decided); `header` 'size only' asks for
 * no header where the size agrees.
 */
export function sameMessage(stored: Identity, size: number, header: string | null | undefined | 'size only'): 'same' | 'other' | 'ask' {
  if (stored.fingerprint === null) return stored.size === null || stored.size === size ? 'same' : 'other';
  if (header === 'size only') return stored.size === size ? 'same' : 'ask';
  if (header === undefined || header === null) return 'ask';
  return header === stored.fingerprint ? 'same' : 'other';
}

const LF = 0x0a;
const SP = 0x20;
const TAB = 0x09;
/**
 * Fields a mailbox server or mail reader writes into a message it holds, and rewrites as
 * the message is read or the mailbox changes (GNU mailutils adds X-UIDL, X-UID, Status
 * and X-IMAPbase between sessions; Dovecot, mutt and others keep X-Keywords,
 * Content-Length and Lines): the fingerprint leaves them out.
 */
const VOLATILE = new Set(['status', 'x-status', 'x-keywords', 'x-uid', 'x-uidl', 'x-imap', 'x-imapbase', 'content-length', 'lines']);
/** The header is held to leave those fields out up to this size; beyond it, the rest is hashed as it comes. */
const HELD_MAX = 64 * 1024;

/**
 * The fingerprint of a message's header block: SHA-256 of its fields up to the empty
 * line that ends it (the whole message when there is none), as delivered (LF line
 * ends), without the fields servers rewrite (VOLATILE). Fed the message as it streams
 * past, it reads the header and ignores the rest, so the same fingerprint comes from a
 * RETR and from a TOP n 0 of the same message, in this session or another.
 */
export class HeaderFingerprint implements ByteSink {
  private readonly hash: Hash = createHash('sha256');
  /** The header so far, while it is short enough to sort its fields. */
  private held: Buffer[] | null = [];
  private heldBytes = 0;
  /** The last byte seen was LF (or nothing has been seen: the start is a line start too). */
  private atLineStart = true;
  private ended = false;
  private value: string | null = null;

  write(chunk: Buffer): void {
    if (this.ended || chunk.length === 0) return;
    // The empty line may start this chunk, right after a line end the last one brought.
    if (this.atLineStart && chunk[0] === LF) {
      this.end();
      return;
    }
    const blank = chunk.indexOf('\n\n');
    const part = blank === -1 ? chunk : chunk.subarray(0, blank + 1);
    this.take(part);
    if (blank !== -1) this.end();
    else this.atLineStart = chunk[chunk.length - 1] === LF;
  }

  /** The fingerprint of what was written (call once the whole header, or message, has been). */
  digest(): string {
    this.end();
    this.value ??= `sha256:${this.hash.digest('base64')}`;
    return this.value;
  }

  private take(part: Buffer): void {
    if (this.held === null) {
      this.hash.update(part);
      return;
    }
    this.held.push(Buffer.from(part));
    this.heldBytes += part.length;
    if (this.heldBytes <= HELD_MAX) return;
    // A header this long is hashed as it is from here on: fields up to the limit are
    // sorted out, the rest (a partial line included) goes in whole.
    const whole = Buffer.concat(this.held);
    const cut = whole.lastIndexOf(LF, HELD_MAX - 1) + 1;
    this.hashFields(whole.subarray(0, cut));
    this.hash.update(whole.subarray(cut));
    this.held = null;
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.held) this.hashFields(Buffer.concat(this.held));
    this.held = null;
  }

  /** Hashes the header lines of `block`, but for the fields in VOLATILE and their continuation lines. */
  private hashFields(block: Buffer): void {
    let skipping = false;
    for (let at = 0; at < block.length; ) {
      const lf = block.indexOf(LF, at);
      const next = lf === -1 ? block.length : lf + 1;
      const first = block[at];
      if (first !== SP && first !== TAB) skipping = VOLATILE.has(fieldName(block, at, next));
      if (!skipping) this.hash.update(block.subarray(at, next));
      at = next;
    }
  }
}

/** A header line's field name, lower-cased ('' when the line has no colon soon enough). */
function fieldName(block: Buffer, from: number, to: number): string {
  const colon = block.indexOf(0x3a, from);
  if (colon === -1 || colon >= to || colon - from > 40) return '';
  return block.toString('latin1', from, colon).trimEnd().toLowerCase();
}

/** The fingerprint of a header block (or a whole message) held in memory. */
export function fingerprintOf(message: Buffer): string {
  const f = new HeaderFingerprint();
  f.write(message);
  return f.digest();
}
