import { closeSync, constants, copyFileSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BodySink } from '../pop3/client.js';
import { fileError } from './errors.js';

let deliveries = 0;

/** A unique file name in the form the Maildir spec gives (time.MusecPpidQn.host). */
function uniqueName(): string {
  const now = Date.now();
  const usec = (now % 1000) * 1000 + Math.floor(Math.random() * 1000);
  const host = os.hostname().replace(/\//g, '\\057').replace(/:/g, '\\072');
  return `${Math.floor(now / 1000)}.M${usec}P${process.pid}Q${++deliveries}.${host}`;
}

function fsyncPath(p: string): void {
  const fd = openSync(p, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Delivery into a Maildir as the format requires: write into tmp/, fsync, rename into
 * new/, fsync new/ so the rename itself survives a power cut. Readers never see a
 * partial message.
 */
export class Maildir {
  private ready = false;

  constructor(readonly dir: string) {}

  /** Creates tmp/, new/ and cur/ (0700) if missing, once per run. */
  private ensure(): void {
    if (this.ready) return;
    try {
      for (const sub of ['tmp', 'new', 'cur']) mkdirSync(path.join(this.dir, sub), { recursive: true, mode: 0o700 });
    } catch (err) {
      throw fileError(err, `Maildir ${this.dir}`);
    }
    this.ready = true;
  }

  /** Delivers a complete file (a spooled copy): copied into tmp/, then made durable like any other. */
  deliverFile(source: string): string {
    this.ensure();
    const name = uniqueName();
    const tmp = path.join(this.dir, 'tmp', name);
    try {
      copyFileSync(source, tmp, constants.COPYFILE_EXCL);
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        // Nothing was created.
      }
      throw fileError(err, `Maildir ${this.dir}`);
    }
    let fd: number;
    try {
      fd = openSync(tmp, 'r+');
    } catch (err) {
      throw fileError(err, `Maildir ${this.dir}`);
    }
    return new MaildirMessage(this, name, tmp, fd).commit();
  }

  begin(): MaildirMessage {
    this.ensure();
    const name = uniqueName();
    const tmp = path.join(this.dir, 'tmp', name);
    try {
      return new MaildirMessage(this, name, tmp, openSync(tmp, 'wx', 0o600));
    } catch (err) {
      throw fileError(err, `Maildir ${this.dir}`);
    }
  }
}

export class MaildirMessage implements BodySink {
  size = 0;

  constructor(
    private readonly maildir: Maildir,
    readonly name: string,
    private readonly tmp: string,
    private fd: number | null,
  ) {}

  write(chunk: Buffer): void {
    try {
      let at = 0;
      while (at < chunk.length) at += writeSync(this.fd!, chunk, at);
    } catch (err) {
      throw fileError(err, `Maildir ${this.maildir.dir}`);
    }
    this.size += chunk.length;
  }

  /** Makes the message durable and visible in new/; returns its final path. */
  commit(): string {
    const target = path.join(this.maildir.dir, 'new', this.name);
    try {
      fsyncSync(this.fd!);
      closeSync(this.fd!);
      this.fd = null;
      renameSync(this.tmp, target);
      fsyncPath(path.join(this.maildir.dir, 'new'));
    } catch (err) {
      this.abort();
      throw fileError(err, `Maildir ${this.maildir.dir}`);
    }
    return target;
  }

  /** Removes the partial file from tmp/. */
  abort(): void {
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {
        // Closing a file we are throwing away.
      }
      this.fd = null;
    }
    try {
      unlinkSync(this.tmp);
    } catch {
      // Not there (already renamed, or never written).
    }
  }
}
