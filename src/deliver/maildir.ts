import { closeSync, constants, existsSync, fchownSync, fsync, lstatSync, open as openFd, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { errorMessage } from '../errors.js';
import type { ByteSink } from '../util/byte-sink.js';
import { crashPoint } from '../util/crash-points.js';
import { UnsafePathError, runningUid } from '../util/private-path.js';
import { DeliveryError, UnsyncedError, fileError } from './errors.js';
import { MissingParentError, holdMaildir, lookAtMaildir, type FoundMaildir, type HeldMaildir } from './maildir-dirs.js';

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

/** A file in tmp/ is created, never opened over anything there, and never through a symlink. */
const CREATE_TMP = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export const WHY_UNSAFE = 'whoever can change it chooses where your mail is written and which files a run removes';

/**
 * The Maildir checked and its directories held (see lookAtMaildir), without creating
 * anything, for a look that must not change it; null when it is not there or not fit.
 */
function heldIfTrustworthy(dir: string): FoundMaildir | null {
  try {
    return lookAtMaildir(dir);
  } catch {
    return null;
  }
}

/** Records, before a file is renamed into new/, where it will be: the intent recover() checks. */
export type NotePlacements = (placements: readonly { message: MaildirMessage; file: string }[]) => Promise<void>;

/**
 * Delivery into a Maildir, and everything that makes it durable, in one place: write
 * into tmp/, fsync, note the final name (through the caller's journal), rename into
 * new/, fsync new/ so the rename itself survives a power cut; after a crash, recover()
 * tells a noted file that made it from one that did not, and sweepTmp() removes this
 * mailbox's leftovers. Readers never see a partial message. Creating, writing and
 * renaming a file are quick calls into the page cache, made at once: each through the
 * thread pool cost more than the call itself (issue 21). The fsyncs, which wait for the
 * disk, run on the thread pool, beside the network and the parser.
 */
export class Maildir {
  private dirs: HeldMaildir | null = null;
  /** Messages begun and not yet placed or removed: they still need the directories. */
  private inFlight = 0;
  private closing = false;

  /** `tag` names the mailbox whose messages this run writes (see uniqueName). */
  constructor(
    readonly dir: string,
    private readonly tag: string,
  ) {}

  /**
   * Creates the Maildir (not its parents), tmp/, new/ and cur/ (0700) if missing, checks
   * them and holds them open (see holdMaildir), once per run: every file is created and
   * renamed through the directories checked, whatever their names lead to later.
   */
  private ensure(): HeldMaildir {
    if (this.closing) throw new Error(`Maildir ${this.dir}: the run is over`);
    if (this.dirs) return this.dirs;
    try {
      this.dirs = holdMaildir(this.dir);
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
    return this.dirs;
  }

  /**
   * The run is over: the directories are let go once the last message in flight (one a
   * broken session left half written) is placed or removed.
   */
  close(): void {
    this.closing = true;
    if (this.inFlight === 0) this.letGo();
  }

  /** A message begun through begin() or deliverFile() is placed or removed: it needs the directories no more. */
  finished(): void {
    this.inFlight--;
    if (this.closing && this.inFlight === 0) this.letGo();
  }

  private letGo(): void {
    this.dirs?.close();
    this.dirs = null;
  }

  private started(): HeldMaildir {
    const dirs = this.ensure();
    this.inFlight++;
    return dirs;
  }

  /** Makes the renames into new/ durable: one fsync of the directory for any number of messages. */
  async syncNew(): Promise<void> {
    try {
      // Only messages of this run are synced: the directories are held until they are settled (see MaildirMessage.settle).
      if (!this.dirs) throw new Error('its directories are no longer held');
      await this.dirs.new.sync();
    } catch (err) {
      throw fileError(err, `Maildir ${this.dir}`);
    }
  }

  /** A new message, filled through its sink as it arrives, then placed with placeDurably(). */
  begin(): MaildirMessage {
    const dirs = this.started();
    const name = uniqueName(this.tag);
    return new MaildirMessage(this, name, dirs, openOwned(dirs.tmp.entry(name), dirs));
  }

  /** Delivers a complete file (a spooled copy): copied into tmp/, then placed like any other. */
  async deliverFile(source: string, note: NotePlacements): Promise<string> {
    // Created and given to the owner through its own descriptor (begin), never reopened by name.
    const message = this.begin();
    try {
      const from = await open(source, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        for await (const chunk of from.createReadStream({ autoClose: false })) await message.write(chunk as Buffer);
      } finally {
        await from.close();
      }
    } catch (err) {
      await message.abort();
      throw err instanceof DeliveryError ? err : fileError(err, `Maildir ${this.dir}`);
    }
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
    const name = path.basename(file);
    // A Maildir that is no longer fit to trust says nothing: fetched again, the message meets the refusal.
    const dirs = heldIfTrustworthy(path.dirname(path.dirname(file)));
    if (!dirs) return 'undone';
    try {
      const inNew = dirs.new !== null && existsSync(dirs.new.entry(name));
      const inCur = !inNew && dirs.cur !== null && readdirSync(dirs.cur.self).some((n) => n === name || n.startsWith(`${name}:`));
      if (inNew || inCur) {
        (inNew ? dirs.new : dirs.cur)!.syncNow();
        return 'done';
      }
      try {
        if (dirs.tmp) unlinkSync(dirs.tmp.entry(name));
      } catch {
        // Never written, or already gone.
      }
      return 'undone';
    } finally {
      dirs.close();
    }
  }

  /**
   * Removes what killed runs left in tmp/: every file of this mailbox's (this run holds
   * its lock, so none is being written), and any other of pinchmail's on this host
   * untouched for 36 hours, as the Maildir convention allows. Files of other programs
   * are never touched. Returns how many were removed.
   */
  sweepTmp(now: number): number {
    // Never through a tmp/ someone could have swapped: its delivery will say why (see ensure).
    const dirs = heldIfTrustworthy(this.dir);
    if (!dirs) return 0;
    try {
      return sweepHeld(dirs, this.tag, now);
    } finally {
      dirs.close();
    }
  }
}

function sweepHeld(dirs: FoundMaildir, tag: string, now: number): number {
  const tmp = dirs.tmp;
  if (!tmp) return 0;
  let names: string[];
  try {
    names = readdirSync(tmp.self);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const ours = OUR_NAME.exec(name);
    if (!ours || ours[2] !== HOST) continue;
    const file = tmp.entry(name);
    try {
      const stat = lstatSync(file);
      if (!stat.isFile()) continue;
      if (ours[1] !== tag && now - stat.mtimeMs < STALE_TMP_MS) continue;
      unlinkSync(file);
      removed++;
    } catch {
      // Gone meanwhile, or not ours to remove after all.
    }
  }
  return removed;
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
    await note(sealed.map((message) => ({ message, file: message.target })));
  } catch (err) {
    // Without the notes the renames must not happen: a crash after them would deliver twice.
    await Promise.all(sealed.map((m) => m.abort()));
    throw err;
  }
  crashPoint('maildir-noted');
  const published = await Promise.allSettled(sealed.map((m) => m.publish()));
  crashPoint('maildir-renamed');
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
  for (const m of landed) m.settle();
  return outcomes;
}

const fsyncing = promisify(fsync);
const opening = promisify(openFd);

/** An open file, or why it could not be opened: the failure is the caller's at its first write or seal. */
type Opened = { fd: number } | { error: unknown };

export class MaildirMessage implements ByteSink {
  size = 0;
  private closed = false;
  private done = false;

  constructor(
    readonly maildir: Maildir,
    readonly name: string,
    /** The directories checked when the run began: the file is renamed from and to them, not to whatever their names lead to now. */
    private readonly dirs: HeldMaildir,
    private readonly opening: Promise<Opened>,
  ) {}

  private async fd(): Promise<number> {
    const opened = await this.opening;
    if ('error' in opened) throw opened.error;
    return opened.fd;
  }

  async write(chunk: Buffer): Promise<void> {
    try {
      const fd = await this.fd();
      let at = 0;
      while (at < chunk.length) at += writeSync(fd, chunk, at, chunk.length - at);
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
      const fd = await this.fd();
      // From here the descriptor is seal's to close, after the fsync: closed under it, its number could be reused.
      this.closed = true;
      try {
        await fsyncing(fd);
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      await this.abort();
      throw fileError(err, `Maildir ${this.maildir.dir}`);
    }
  }

  /** Moves a sealed message into new/, where readers see it; durable only after the Maildir's syncNew(), then settle(). */
  async publish(): Promise<void> {
    try {
      renameSync(this.dirs.tmp.entry(this.name), this.dirs.new.entry(this.name));
    } catch (err) {
      await this.abort();
      throw fileError(err, `Maildir ${this.maildir.dir}`);
    }
  }

  /** Removes the partial file from tmp/. */
  async abort(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      const opened = await this.opening;
      if ('fd' in opened) {
        try {
          closeSync(opened.fd);
        } catch {
          // Closed is all that matters here.
        }
      }
    }
    if (this.done) return;
    try {
      unlinkSync(this.dirs.tmp.entry(this.name));
    } catch {
      // Never created, or already gone.
    }
    this.settle();
  }

  /** Placed and synced (or the sync failed), or removed: the message needs the Maildir's directories no more. */
  settle(): void {
    if (this.done) return;
    this.done = true;
    this.maildir.finished();
  }
}

/**
 * Root delivering into a user's Maildir gives each file to the Maildir's owner and group
 * (before anything is written, through the descriptor it opened), so the mail is theirs
 * to read, as with a delivery made by that user; anyone else's files stay their own.
 */
async function openOwned(file: string, dirs: HeldMaildir): Promise<Opened> {
  let fd: number;
  try {
    fd = await opening(file, CREATE_TMP, 0o600);
  } catch (error) {
    return { error };
  }
  const { uid, gid } = dirs.root.stat;
  if (runningUid() !== 0 || uid === 0) return { fd };
  try {
    fchownSync(fd, uid, gid);
    return { fd };
  } catch (error) {
    closeSync(fd);
    return { error };
  }
}
