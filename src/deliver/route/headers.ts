import { isUtf8 } from 'node:buffer';
import libmime from 'libmime';
import { MAX_HEADER_BYTES } from './header-limit.js';


const LF = 0x0a;
const CR = 0x0d;

/**
 * The header fields of a message, for routing only: names lower-cased, folded lines
 * joined, RFC 2047 encoded-words decoded (in any charset libmime knows, ISO-2022-JP
 * and Shift_JIS included). The message itself is never touched; this is a reading of it.
 */
export class Headers {
  private constructor(private readonly fields: ReadonlyMap<string, readonly string[]>) {}

  /** Every value of a field, in order; empty when it is absent. */
  all(name: string): readonly string[] {
    return this.fields.get(name.toLowerCase()) ?? [];
  }

  count(name: string): number {
    return this.all(name).length;
  }

  /**
   * Parses the header block at the start of `message` (up to the first empty line, or
   * MAX_HEADER_BYTES), LF or CRLF line ends alike.
   */
  static parse(message: Buffer): Headers {
    const block = headerBlock(message);
    const fields = new Map<string, string[]>();
    let name: string | null = null;
    let value: Buffer[] = [];
    const flush = (): void => {
      if (name === null) return;
      const list = fields.get(name) ?? [];
      list.push(decodeValue(Buffer.concat(value)));
      fields.set(name, list);
      name = null;
      value = [];
    };
    for (const line of lines(block)) {
      if (line.length > 0 && (line[0] === 0x20 || line[0] === 0x09)) {
        // A folded continuation: part of the field above (RFC 5322 §2.2.3).
        if (name !== null) value.push(line);
        continue;
      }
      flush();
      const colon = line.indexOf(0x3a);
      // A line without a colon (an mbox "From " line, junk) is not a field.
      if (colon <= 0) continue;
      name = line.toString('latin1', 0, colon).trim().toLowerCase();
      value = [line.subarray(colon + 1)];
    }
    flush();
    return new Headers(fields);
  }
}

/** The bytes up to (not including) the empty line that ends the header block. */
export function headerBlock(message: Buffer): Buffer {
  const limit = Math.min(message.length, MAX_HEADER_BYTES);
  for (let i = 0; i < limit; ) {
    const lf = message.indexOf(LF, i);
    if (lf === -1 || lf >= limit) break;
    const lineLength = lf - i - (lf > i && message[lf - 1] === CR ? 1 : 0);
    if (lineLength === 0) return message.subarray(0, i);
    i = lf + 1;
  }
  return message.subarray(0, limit);
}

function* lines(block: Buffer): Generator<Buffer> {
  let i = 0;
  while (i < block.length) {
    let lf = block.indexOf(LF, i);
    if (lf === -1) lf = block.length;
    const end = lf > i && block[lf - 1] === CR ? lf - 1 : lf;
    yield block.subarray(i, end);
    i = lf + 1;
  }
}

/**
 * A field value as text for matching. Raw 8-bit bytes (not allowed by RFC 5322, but
 * common) are read as UTF-8 when they are valid UTF-8 and as Latin-1 otherwise, so
 * junk never stops routing; then encoded-words are decoded.
 */
function decodeValue(raw: Buffer): string {
  const text = isUtf8(raw) ? raw.toString('utf8') : raw.toString('latin1');
  const unfolded = text.replace(/\r?\n/g, '').replace(/[ \t]+/g, ' ').trim();
  try {
    return libmime.decodeWords(unfolded);
  } catch {
    return unfolded;
  }
}
