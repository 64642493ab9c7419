import { closeSync, constants, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { PinchmailError } from '../errors.js';
import { ensureSpoolDirectory } from '../state/state-files.js';
import type { ByteSink } from '../util/byte-sink.js';
import { clearPrivateDirectory, createExclusive } from '../util/private-path.js';
import { fileError } from './errors.js';

/**
 * A private directory of whole-message copies, so that a command reads a complete
 * message from a file, never a pipe fed by the network: if pinchmail dies, a command
 * already running still sees the whole message.
 */
export class Spool {
  private seq = 0;

  private constructor(readonly dir: string) {}

  /**
   * Creates the directory (`<database>-spool/<key>`, each level 0700) and clears what an
   * earlier, killed run left behind. The caller holds the mailbox lock. Its name is easy
   * to work out, so one someone else could have planted or changed is refused
   * (STATE_ACCESS) before anything in it is removed, and the clearing follows no symlink.
   */
  static prepare(dir: string): Spool {
    let real = dir;
    try {
      // From here on, the path in the database's verified real directory (see state-files.ts).
      real = ensureSpoolDirectory(dir);
      clearPrivateDirectory(real);
    } catch (err) {
      if (err instanceof PinchmailError) throw err;
      throw fileError(err, `spool directory ${real}`);
    }
    return new Spool(real);
  }

  create(): SpoolFile {
    const file = path.join(this.dir, `${process.pid}-${++this.seq}.eml`);
    try {
      return new SpoolFile(file, createExclusive(file));
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
    return openSync(this.file, constants.O_RDONLY | constants.O_NOFOLLOW);
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
