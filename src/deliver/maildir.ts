import { closeSync, constants, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, unlinkSync } from 'node:fs';
import { copyFile, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { errorMessage } from '../errors.js';
import type { ByteSink } from '../util/byte-sink.js';
import { UnsafePathError, checkSharedDirectory } from '../util/private-path.js';
import { DeliveryError, UnsyncedError, fileError } from './errors.js';

let deliveries = 0;

const HOST = os.hostname().replace(/\//g, '\\057').replace(/:/g, '\\072');

/** The Maildir convention: a file left in tmp/ this long is abandoned, whoever wrote it. */
const STALE_TMP_MS = 36 * 3_600_000;

/**
 * A unique file name in the form the Maildir spec gives (time.MusecPpidQn.host), with
 * `Y<tag>` naming the mailbox whose run wrote it, so the next run of that mailbox (which
 * holds its lock) knows the leftovers in tmp/ that are its own.
 */
function uniqueName(tag: string): string {
  const now = Date.now();
  const usec = (now % 1000) * 1000 + Math.floor(Math.random() * 1000);
  return `${Math.floor(now / 1000)}.M${usec}P${process.pid}Q${++deliveries}Y${tag}.${HOST}`;
}

/** pinchmail's names, as uniqueName makes them: the tag and host they carry. */
const OUR_NAME = /^\d+\.M\d+P\d+Q\d+Y([0-9a-f]+)\.(.+)$/;

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

/** A file in tmp/ is created, never opened over anything there, and never through a symlink. */
const CREATE_TMP = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export const WHY_UNSAFE = 'whoever can change it chooses where your mail is written and which files a run removes';

/**
 * Checks a Maildir against those who could swap its tmp/, new/ or cur/ for a symlink to
 * a directory of yours (where a run would write, and whose old files named like
 * pinchmail's it would sweep): the Maildir (the operator's path, followed) may belong
 * to anyone, and tmp/, new/ and cur/ to you, root or the Maildir's owner; none may be
 * world-writable without the sticky bit, and the three must be real directories, not
 * symlinks. Group-writable is allowed: a group that shares a Maildir can change its mail
 * anyway. With `create`, what is missing is made (0700): the Maildir itself when its
 * parent directory is there (MissingParentError when not), and tmp/, new/ and cur/.
 * Throws UnsafePathError.
 */
export function checkMaildir(dir: string, subs: readonly string[], create: boolean): void {
  // Only the Maildir itself, never its parents: a typo in the path must not hide mail.
  if (create && !existsSync(dir)) {
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new MissingParentError(dir);
      if (code !== 'EEXIST') throw err;
    }
  }
  const owner = checkSharedDirectory(dir, { follow: true, alsoOwnedBy: 'anyone' });
  if (owner === null) return;
  for (const sub of subs) {
    const subdir = path.join(dir, sub);
    if (create) mkdirUnlessThere(subdir);
    checkSharedDirectory(subdir, { follow: false, alsoOwnedBy: [owner, 0] });
  }
}

/** The Maildir's parent directory is not there: pinchmail creates the last level only. */
class MissingParentError extends Error {
  constructor(readonly dir: string) {
    super(`${path.dirname(dir)} does not exist`);
  }
}

/** mkdir without -p: whatever is there already (a symlink, dangling or not) is left for the check to judge. */
function mkdirUnlessThere(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/** Is the Maildir, with these of its subdirectories, there and fit to write into or sweep? */
function trustworthy(dir: string, subs: readonly string[]): boolean {
  try {
    checkMaildir(dir, subs, false);
    return true;
  } catch {
    return false;
  }
}

/** Records, before a file is renamed into new/, where it will be: the intent recover() checks. */
export type NotePlacements = (placements: readonly { message: MaildirMessage; file: string }[]) => void;

/**
 * Delivery into a Maildir, and everything that makes it durable, in one place: write
 * into tmp/, fsync, note the final name (through the caller's journal), rename into
 * new/, fsync new/ so the rename itself survives a power cut; after a crash, recover()
 * tells a noted file that made it from one that did not, and sweepTmp() removes this
 * mailbox's leftovers. Readers never see a partial message. The file work is
 * asynchronous, so creating and syncing files runs beside the network and the parser.
 */
export class Maildir {
  private ready = false;

  /** `tag` names the mailbox whose messages this run writes (see uniqueName). */
  constructor(
    readonly dir: string,
    private readonly tag: string,
  ) {}

  /** Creates the Maildir (not its parents), tmp/, new/ and cur/ (0700) if missing and checks them (see checkMaildir), once per run. */
  private ensure(): void {
    if (this.ready) return;
    try {
      checkMaildir(this.dir, ['tmp', 'new', 'cur'], true);
    } catch (err) {
      if (err instanceof UnsafePathError) {
        throw new DeliveryError(`Maildir ${err.path}: ${err.problem}; refusing it, since ${WHY_UNSAFE}`, { cause: err, permanence: 'unusable' });
      }
      if (err instanceof MissingParentError) {
        throw new DeliveryError(
          `Maildir ${this.dir}: its parent directory ${path.dirname(this.dir)} does not exist (pinchmail creates the Maildir itself, never its parents, so that a typo cannot hide mail): create it, or correct the path`,
          { cause: err, permanence: 'unusable' },
        );
      }
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

  /** A new message, filled through its sink as it arrives, then placed with placeDurably(). */
  begin(): MaildirMessage {
    this.ensure();
    const name = uniqueName(this.tag);
    const tmp = path.join(this.dir, 'tmp', name);
    return new MaildirMessage(this, name, tmp, open(tmp, CREATE_TMP, 0o600));
  }

  /** Delivers a complete file (a spooled copy): copied into tmp/, then placed like any other. */
  async deliverFile(source: string, note: NotePlacements): Promise<string> {
    this.ensure();
    const name = uniqueName(this.tag);
    const tmp = path.join(this.dir, 'tmp', name);
    try {
      // COPYFILE_EXCL creates the copy with O_EXCL, which fails on any name there, a symlink included.
      await copyFile(source, tmp, constants.COPYFILE_EXCL);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw fileError(err, `Maildir ${this.dir}`);
    }
    const message = new MaildirMessage(this, name, tmp, open(tmp, constants.O_RDWR | constants.O_NOFOLLOW));
    const [outcome] = await placeDurably([message], note);
    if (outcome!.status === 'rejected') throw outcome!.reason;
    return message.target;
  }

  /**
   * After a crash: did the noted file `file` (a path in new/) land? It did if it is in
   * new/, or in cur/ where a reader has moved it (with flags after a colon); then its
   * rename is made durable before the caller records it. If not, its copy in tmp/ goes.
   */
  static recover(file: string): 'done' | 'undone' {
    const newDir = path.dirname(file);
    const maildir = path.dirname(newDir);
    const name = path.basename(file);
    const cur = path.join(maildir, 'cur');
    // A Maildir that is no longer fit to trust says nothing: fetched again, the message meets the refusal.
    if (!trustworthy(maildir, ['tmp', 'new', 'cur'])) return 'undone';
    const inNew = existsSync(file);
    const inCur = !inNew && existsSync(cur) && readdirSync(cur).some((n) => n === name || n.startsWith(`${name}:`));
    if (inNew || inCur) {
      fsyncPath(inNew ? newDir : cur);
      return 'done';
    }
    try {
      unlinkSync(path.join(maildir, 'tmp', name));
    } catch {
      // Never written, or already gone.
    }
    return 'undone';
  }

  /**
   * Removes what killed runs left in tmp/: every file of this mailbox's (this run holds
   * its lock, so none is being written), and any other of pinchmail's on this host
   * untouched for 36 hours, as the Maildir convention allows. Files of other programs
   * are never touched. Returns how many were removed.
   */
  sweepTmp(now: number): number {
    const tmp = path.join(this.dir, 'tmp');
    // Never through a tmp/ someone could have swapped: its delivery will say why (see ensure).
    if (!trustworthy(this.dir, ['tmp'])) return 0;
    let names: string[];
    try {
      names = readdirSync(tmp);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      const ours = OUR_NAME.exec(name);
      if (!ours || ours[2] !== HOST) continue;
      const file = path.join(tmp, name);
      try {
        const stat = lstatSync(file);
        if (!stat.isFile()) continue;
        if (ours[1] !== this.tag && now - stat.mtimeMs < STALE_TMP_MS) continue;
        unlinkSync(file);
        removed++;
      } catch {
        // Gone meanwhile, or not ours to remove after all.
      }
    }
    return removed;
  }
}

/**
 * Places messages durably, as a batch: each file's bytes synced, every final name
 * noted (one call of `note`, one transaction for the caller), every file renamed into
 * new/, and one fsync of each Maildir's new/. The notes reach the disk before the
 * files appear, and every file is durable before this resolves. One outcome per
 * message, in order; a message that failed is removed from tmp/.
 */
export async function placeDurably(messages: readonly MaildirMessage[], note: NotePlacements): Promise<PromiseSettledResult<void>[]> {
  const outcomes: PromiseSettledResult<void>[] = await Promise.allSettled(messages.map((m) => m.seal()));
  const sealed = messages.filter((_, i) => outcomes[i]!.status === 'fulfilled');
  if (sealed.length === 0) return outcomes;
  try {
    note(sealed.map((message) => ({ message, file: message.target })));
  } catch (err) {
    // Without the notes the renames must not happen: a crash after them would deliver twice.
    await Promise.all(sealed.map((m) => m.abort()));
    throw err;
  }
  const published = await Promise.allSettled(sealed.map((m) => m.publish()));
  const landed = new Set<MaildirMessage>();
  sealed.forEach((m, i) => {
    const outcome = published[i]!;
    outcomes[messages.indexOf(m)] = outcome.status === 'fulfilled' ? { status: 'fulfilled', value: undefined } : outcome;
    if (outcome.status === 'fulfilled') landed.add(m);
  });
  for (const maildir of new Set([...landed].map((m) => m.maildir))) {
    try {
      await maildir.syncNew();
    } catch (err) {
      // Without the fsync the renames may not survive a power cut: none counts as delivered,
      // but the files are there, and their notes must stay for the next run to settle.
      const reason = new UnsyncedError(errorMessage(err), { cause: err });
      for (const m of landed) if (m.maildir === maildir) outcomes[messages.indexOf(m)] = { status: 'rejected', reason };
    }
  }
  return outcomes;
}

export class MaildirMessage implements ByteSink {
  size = 0;
  private closed = false;

  constructor(
    readonly maildir: Maildir,
    readonly name: string,
    private readonly tmp: string,
    private readonly handle: Promise<FileHandle>,
  ) {
    // Failures surface through write() and seal(); this only keeps an early one from going unobserved.
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

  /** Moves a sealed message into new/, where readers see it; durable only after the Maildir's syncNew(). */
  async publish(): Promise<void> {
    try {
      await rename(this.tmp, this.target);
    } catch (err) {
      await this.abort();
      throw fileError(err, `Maildir ${this.maildir.dir}`);
    }
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
