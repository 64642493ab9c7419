import type { Readable } from 'node:stream';

/** A reply as a session queues it: bytes in memory, or a stream for a message too large to hold. */
export type Reply = Buffer | Readable;

/**
 * A command handler, typed by the state its phase hands it. It returns its reply, or null
 * when it sends its own (a SASL exchange sends several, each when the client's line comes).
 */
export type Command<T> = (state: T, args: readonly string[], arrived: number) => Reply | null;

export function ok(text = ''): Buffer {
  return Buffer.from(`+OK${text ? ` ${text}` : ''}\r\n`, 'latin1');
}

/** `code` is an RFC 2449 response code; the caller leaves it out when RESP-CODES is hidden. */
export function err(text: string, code?: string): Buffer {
  return Buffer.from(`-ERR ${code ? `[${code}] ${text}` : text}\r\n`, 'latin1');
}

export function multi(lines: readonly string[]): Buffer {
  return Buffer.from(`+OK\r\n${lines.map((l) => `${l}\r\n`).join('')}.\r\n`, 'latin1');
}
