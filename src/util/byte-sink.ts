/**
 * Where a stream of bytes goes, chunk by chunk, in order: what the POP3 client writes a
 * message body into and what delivery targets offer, so neither depends on the other.
 * `write` may return a promise; the producer waits for it before the next chunk.
 */
export interface ByteSink {
  write(chunk: Buffer): void | Promise<void>;
}
