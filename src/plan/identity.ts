import { createHash, type Hash } from 'node:crypto';
import type { ByteSink } from '../util/byte-sink.js';

/**
 * A message's identity, as far as this host can know it without reading the message:
 * its UIDL (the key), the size LIST gave when this host first saw it, and a fingerprint
 * of its header block, recorded when this host delivered it.
 */
export interface Identity {
  /** null for rows recorded before sizes were (none today, but the column allows it). */
  size: number | null;
  /** null until delivered, and for messages delivered before fingerprints were recorded. */
  fingerprint: string | null;
}

/**
 * Is the message listed now the one this host recorded under its UIDL? A different size
 * makes it another message. Where the size matches, the header decides, when it is
 * wanted and this host has a fingerprint: 'ask' means it must be read first (or, given
 * as null, could not be read, and nothing may be decided). `header` 'size only' skips
 * the header for decisions that cannot lose mail either way.
 */
export function sameMessage(stored: Identity, size: number, header: string | null | undefined | 'size only'): 'same' | 'other' | 'ask' {
  if (stored.size !== null && stored.size !== size) return 'other';
  if (header === 'size only' || stored.fingerprint === null) return 'same';
  if (header === undefined || header === null) return 'ask';
  return header === stored.fingerprint ? 'same' : 'other';
}

const LF = 0x0a;

/**
 * The fingerprint of a message's header block: SHA-256 of its bytes up to the empty
 * line that ends it (the whole message when there is none), as delivered (LF line
 * ends). Fed the message as it streams past, it hashes the header and ignores the rest,
 * so the same fingerprint comes from a RETR and from a TOP n 0 of the same message.
 */
export class HeaderFingerprint implements ByteSink {
  private readonly hash: Hash = createHash('sha256');
  /** The last byte seen was LF (or nothing has been seen: the start is a line start too). */
  private atLineStart = true;
  private ended = false;
  private value: string | null = null;

  write(chunk: Buffer): void {
    if (this.ended || chunk.length === 0) return;
    // The empty line may start this chunk, right after a line end the last one brought.
    if (this.atLineStart && chunk[0] === LF) {
      this.ended = true;
      return;
    }
    const blank = chunk.indexOf('\n\n');
    if (blank !== -1) {
      this.hash.update(chunk.subarray(0, blank + 1));
      this.ended = true;
      return;
    }
    this.hash.update(chunk);
    this.atLineStart = chunk[chunk.length - 1] === LF;
  }

  /** The fingerprint of what was written (call once the whole header, or message, has been). */
  digest(): string {
    this.ended = true;
    this.value ??= `sha256:${this.hash.digest('base64')}`;
    return this.value;
  }
}

/** The fingerprint of a header block (or a whole message) held in memory. */
export function fingerprintOf(message: Buffer): string {
  const f = new HeaderFingerprint();
  f.write(message);
  return f.digest();
}
