import { closeSync, constants, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { copyFile, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BodySink } from '../pop3/client.js';
import { fileError } from './errors.js';

let deliveries = 0;

const HOST = os.hostname().replace(/\//g, '\\057').replace(/:/g, '\\072');

/** A unique file name in the form the Maildir spec gives (time.MusecPpidQn.host). */
function uniqueName(): string {
  const now = Date.now();
  const usec = (now % 1000) * 1000 + Math.floor(Math.random() * 1000);
  return `${Math.floor(now / 1000)}.M${usec}P${process.pid}Q${++deliveries}.${HOST}`;
}

export function fsyncPath(p: string): void {
  const fd = openSync(p, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function fsyncDir(p: string): Promise<void> {
  const handle = await open(p, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Delivery into a Maildir as the format requires: write into tmp/, fsync, rename into
 * new/, fsync new/ so the rename itself survives a power cut. Readers never see a
 * partial message. The file work is asynchronous, so creating and syncing files (slow
 * on many disks) runs beside the network and the parser instead of stopping them.
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

  /** Makes the renames into new/ durable: one fsync of the directory for any number of messages. */
  async syncNew(): Promise<void> {
    try {
      await fsyncDir(path.join(this.dir, 'new'));
    } catch (err) {
      throw fileError(err, `Maildir ${this.dir}`);
    }
  }

  /** Delivers a complete file (a spooled copy): copied into tmp/, then made durable like any other. */
  async deliverFile(source: string): Promise<string> {
    this.ensure();
    const name = uniqueName();
    const tmp = path.join(this.dir, 'tmp', name);
    try {
      await copyFile(source, tmp, constants.COPYFILE_EXCL);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw fileError(err, `Maildir ${this.dir}`);
    }
    return new MaildirMessage(this, name, tmp, open(tmp, 'r+')).commit();
  }

  /** A new message, filled through its sink as it arrives. */
  begin(): MaildirMessage {
    this.ensure();
    const name = uniqueName();
    const tmp = path.join(this.dir, 'tmp', name);
    return new MaildirMessage(this, name, tmp, open(tmp, 'wx', 0o600));
  }
}

export class MaildirMessage implements BodySink {
  size = 0;
  private closed = false;

  constructor(
    readonly maildir: Maildir,
    readonly name: string,
    private readonly tmp: string,
    private readonly handle: Promise<FileHandle>,
  ) {
    // Failures surface through write() and place(); this only keeps an early one from going unobserved.
    handle.catch(() => {});
  }

  async write(chunk: Buffer): Promise<void> {
    try {
      const fh = await this.handle;
      let at = 0;
      while (at < chunk.length) at += (await fh.write(chunk, at, chunk.length - at)).bytesWritten;
    } catch (err) {
      throw fileError(err, `Maildir ${this.maildir.dir}`);
    }
    this.size += chunk.length;
  }

  /** Where the message will be once placed. */
  get target(): string {
    return path.join(this.maildir.dir, 'new', this.name);
  }

  /** Makes the message's bytes durable and closes the file; it stays in tmp/, unseen. */
  async seal(): Promise<void> {
    try {
      const fh = await this.handle;
      await fh.sync();
      this.closed = true;
      await fh.close();
    } catch (err) {
      await this.abort();
      throw fileError(err, `Maildir ${this.maildir.dir}`);
    }
  }

  /**
   * Moves a sealed message into new/, where readers see it; the rename itself is
   * durable only after the Maildir's syncNew(). Returns its path.
   */
  async publish(): Promise<string> {
    try {
      await rename(this.tmp, this.target);
    } catch (err) {
      await this.abort();
      throw fileError(err, `Maildir ${this.maildir.dir}`);
    }
    return this.target;
  }

  /** seal() and publish(). */
  async place(): Promise<string> {
    await this.seal();
    return this.publish();
  }

  /** place() and syncNew(): durable and visible, on its own. */
  async commit(): Promise<string> {
    const target = await this.place();
    await this.maildir.syncNew();
    return target;
  }

  /** Removes the partial file from tmp/. */
  async abort(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.handle.then((fh) => fh.close()).catch(() => {});
    }
    await unlink(this.tmp).catch(() => {});
  }
}
