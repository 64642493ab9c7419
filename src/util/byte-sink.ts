/**
 * Where a stream of bytes goes, chunk by chunk, in order: what the POP3 client writes a
 * message body into and what delivery targets offer, so neither depends on the other.
 * `write` may return a promise; the producer waits for it before the next chunk.
 */
export interface ByteSink {
  write(chunk: Buffer): void | Promise<void>;
}

/** Keeps the first `max` bytes written to it. */
export class PrefixSink implements ByteSink {
  private readonly parts: Buffer[] = [];
  private kept = 0;

  constructor(private readonly max: number) {}

  write(chunk: Buffer): void {
    if (this.kept >= this.max) return;
    const part = chunk.subarray(0, this.max - this.kept);
    this.parts.push(Buffer.from(part));
    this.kept += part.length;
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Writes each chunk to `sink` after handing it to `watcher`, which only looks (and never waits). */
export function watched(sink: ByteSink, watcher: { write(chunk: Buffer): void }): ByteSink {
  return {
    write(chunk) {
      watcher.write(chunk);
      return sink.write(chunk);
    },
  };
}
