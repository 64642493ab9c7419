import { closeSync, mkdirSync, openSync, readSync, readdirSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { ByteSink } from '../util/byte-sink.js';
import { fileError } from './errors.js';

/**
 * A private directory of whole-message copies, so that a command reads a complete
 * message from a file, never a pipe fed by the network: if pinchmail dies, a command
 * already running still sees the whole message.
 */
export class Spool {
  private seq = 0;

  private constructor(readonly dir: string) {}

  /** Creates the directory (0700) and clears what an earlier, killed run left behind. The caller holds the mailbox lock. */
  static prepare(dir: string): Spool {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      for (const name of readdirSync(dir)) rmSync(path.join(dir, name), { force: true });
    } catch (err) {
      throw fileError(err, `spool directory ${dir}`);
    }
    return new Spool(dir);
  }

  create(): SpoolFile {
    const file = path.join(this.dir, `${process.pid}-${++this.seq}.eml`);
    try {
      return new SpoolFile(file, openSync(file, 'wx+', 0o600));
    } catch (err) {
      throw fileError(err, `spool file ${file}`);
    }
  }
}

/** One spooled message: written as the body arrives, then read by the delivery command. */
export class SpoolFile implements ByteSink {
  size = 0;

  constructor(
    readonly file: string,
    private fd: number | null,
  ) {}

  write(chunk: Buffer): void {
    try {
      let at = 0;
      while (at < chunk.length) at += writeSync(this.fd!, chunk, at);
    } catch (err) {
      throw fileError(err, `spool file ${this.file}`);
    }
    this.size += chunk.length;
  }

  /** The first `max` bytes of the copy (for reading its header block). */
  head(max: number): Buffer {
    const fd = this.openForReading();
    try {
      const out = Buffer.allocUnsafe(Math.min(max, this.size));
      let got = 0;
      while (got < out.length) {
        const n = readSync(fd, out, got, out.length - got, got);
        if (n === 0) break;
        got += n;
      }
      return out.subarray(0, got);
    } finally {
      closeSync(fd);
    }
  }

  /** Opens the finished copy for reading from the start (the caller closes it). */
  openForReading(): number {
    return openSync(this.file, 'r');
  }

  /** Closes and removes the copy; safe to call more than once. */
  discard(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
    try {
      unlinkSync(this.file);
    } catch {
      // Already gone, or the directory is: the next run clears the spool anyway.
    }
  }
}
