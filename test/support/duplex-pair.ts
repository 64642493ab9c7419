import { Duplex } from 'node:stream';

/**
 * Two connected in-memory streams: what one writes, the other reads, one write per
 * 'data' event, so a test controls exactly where the bytes are cut. (Node 22 has
 * stream.duplexPair; Node 20 does not.)
 */
export function duplexPair(): [Duplex, Duplex] {
  let a!: Side;
  let b!: Side;
  class Side extends Duplex {
    peer!: Side;
    override _read(): void {}
    override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
      // Copy: the writer may reuse its buffer.
      this.peer.push(Buffer.from(chunk));
      done();
    }
    override _final(done: (err?: Error | null) => void): void {
      this.peer.push(null);
      done();
    }
    override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
      if (!this.peer.destroyed) this.peer.destroy();
      done(err);
    }
  }
  a = new Side();
  b = new Side();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
