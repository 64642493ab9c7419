import { closeSync, constants, fchownSync, fstatSync, linkSync, lstatSync, openSync, readFileSync, realpathSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import fsExt from 'fs-ext';
import { crashPoint } from '../util/crash-points.js';
import { runningUid } from '../util/private-path.js';

/**
 * The locks an mbox writer takes, so that procmail, mutt, Dovecot and pinchmail never
 * write one at the same time: a dotlock (`FILE.lock`, created with O_EXCL; what procmail
 * and mutt take first) and an fcntl() write lock on the whole file (what Dovecot's
 * readers and writers take, and mutt and procmail too). flock() is not taken: Debian's
 * Dovecot, mutt and procmail do not use it for mbox. Within this process, deliveries to
 * one mbox also wait for each other: fcntl locks belong to a process, so a second one
 * from the same process would be granted at once.
 *
 * Where the mbox's directory cannot be written (/var/mail is root:mail 2775 and needs
 * procmail's setgid), no dotlock can be made: then the fcntl lock is taken alone, as
 * Dovecot does with its default settings for reading.
 */

/** A dotlock left this long unchanged belongs to a program that died: it is removed, as Dovecot does after 2 minutes and procmail after 17. */
const STALE_DOTLOCK_MS = 5 * 60_000;
/** While a long append holds the dotlock, it is touched this often, so nobody takes it for stale (Dovecot does the same). */
export const DOTLOCK_TOUCH_MS = 30_000;
const RETRY_MS = 100;

export class MboxLockTimeout extends Error {}

export interface HeldMboxLock {
  /** The mbox, open for reading and appending, locked with fcntl. */
  fd: number;
  /** Whether a dotlock could be made (false: the directory is not writable). */
  dotlocked: boolean;
  /** Shows other programs that the dotlock is still in use (see DOTLOCK_TOUCH_MS). */
  touch(): void;
  /** Releases both locks and closes `fd`. */
  release(): void;
}

/**
 * Which file `file` is, for the queue: its path with every symlink resolved, so that two
 * accounts naming one mbox two ways (/var/mail/jobs and /var/spool/mail/jobs on Debian)
 * still take turns; for a file not made yet, its directory's real path.
 */
function fileKey(file: string): string {
  const resolved = path.resolve(file);
  try {
    return realpathSync(resolved);
  } catch {
    try {
      return path.join(realpathSync(path.dirname(resolved)), path.basename(resolved));
    } catch {
      return resolved;
    }
  }
}

/** Deliveries of this process to each mbox, one after another (keyed by the real path: fileKey). */
const queues = new Map<string, Promise<void>>();

/**
 * Opens `file` and takes both locks, trying until `timeoutMs` has passed (then
 * MboxLockTimeout) or `signal` is aborted. With `create`, a missing file is created
 * (0600); without, ENOENT is thrown. Symlinks are followed for the mbox itself (the
 * operator named it); anything but a regular file is refused, and a FIFO never blocks.
 */
export async function lockMbox(file: string, timeoutMs: number, options: { create: boolean; signal?: AbortSignal }): Promise<HeldMboxLock> {
  const key = fileKey(file);
  const before = queues.get(key) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((resolve) => (done = resolve));
  const queued = before.then(() => mine);
  queues.set(key, queued);
  const leave = (): void => {
    done();
    if (queues.get(key) === queued) queues.delete(key);
  };
  try {
    await before;
    const held = await lockBoth(file, Date.now() + timeoutMs, options);
    return {
      ...held,
      release() {
        try {
          held.release();
        } finally {
          leave();
        }
      },
    };
  } catch (err) {
    leave();
    throw err;
  }
}

async function lockBoth(file: string, deadline: number, options: { create: boolean; signal?: AbortSignal }): Promise<HeldMboxLock> {
  const dotlock = `${file}.lock`;
  let ours: Dotlock | null = null;
  for (;;) {
    const got = tryDotlock(dotlock);
    if (got !== 'busy') {
      ours = got === 'unwritable' ? null : got;
      break;
    }
    await waitOrGiveUp(deadline, options.signal, `${dotlock} is held by another program`);
  }
  let fd: number | null = null;
  try {
    fd = openMbox(file, options.create);
    if (!fstatSync(fd).isFile()) throw Object.assign(new Error(`${file} is not a regular file`), { code: 'EINVAL' });
    while (!(await tryFcntl(fd))) await waitOrGiveUp(deadline, options.signal, `${file} is locked (fcntl) by another program`);
  } catch (err) {
    if (fd !== null) closeSync(fd);
    ours?.remove();
    throw err;
  }
  const held = fd;
  return {
    fd: held,
    dotlocked: ours !== null,
    touch: () => ours?.touch(),
    release() {
      // Closing the file drops the fcntl lock; the dotlock goes after, so no writer slips in between.
      try {
        closeSync(held);
      } finally {
        ours?.remove();
      }
    },
  };
}

const OPEN = constants.O_RDWR | constants.O_APPEND | constants.O_NONBLOCK | constants.O_NOCTTY;

/**
 * The mbox, open for reading and appending; with `create`, made 0600 when missing. One
 * root creates in a user's directory is given to that directory's owner, so the mail is
 * theirs to read, as when they deliver it themselves (the Maildir target does the same).
 */
function openMbox(file: string, create: boolean): number {
  if (!create) return openSync(file, OPEN);
  let fd: number;
  try {
    fd = openSync(file, OPEN | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return openSync(file, OPEN);
  }
  if (runningUid() === 0) {
    const dir = statSync(path.dirname(file));
    if (dir.uid !== 0) fchownSync(fd, dir.uid, dir.gid);
  }
  return fd;
}

async function waitOrGiveUp(deadline: number, signal: AbortSignal | undefined, why: string): Promise<void> {
  if (Date.now() >= deadline) throw new MboxLockTimeout(why);
  if (signal?.aborted) throw new MboxLockTimeout(`${why}, and pinchmail is stopping`);
  await sleep(RETRY_MS, undefined, { signal }).catch(() => {});
}

/** A dotlock this run made: removed only while it is still the one made (not one another program made after judging ours stale). */
interface Dotlock {
  touch(): void;
  remove(): void;
}

/**
 * The dotlock is written under a name of this process's, then linked into place, as
 * liblockfile makes it: link() fails if the name is taken, as O_EXCL does, and the
 * dotlock never exists without its holder written in it. Created empty and written
 * after, one left by a run killed in between held up every later run for the 5 minutes
 * a dotlock takes to go stale (holderIsGone cannot read an empty one).
 */
function tryDotlock(dotlock: string): Dotlock | 'busy' | 'unwritable' {
  const mine = `${dotlock}.${os.hostname()}.${process.pid}`;
  let fd: number;
  try {
    // A leftover of this name is a killed run's of the same PID, long gone: written over.
    fd = openSync(mine, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return 'unwritable';
    throw err;
  }
  let ino: number;
  try {
    ino = fstatSync(fd).ino;
    // What procmail and Dovecot write in theirs: who holds it, for a person looking, and for the next run (holderIsGone).
    writeSync(fd, `${process.pid}\n${os.hostname()}\n`);
  } catch (err) {
    closeSync(fd);
    unlinkSync(mine);
    throw err;
  }
  closeSync(fd);
  try {
    linkSync(mine, dotlock);
  } catch (err) {
    unlinkSync(mine);
    const code = (err as NodeJS.ErrnoException).code;
    // A file system without hard links locks with fcntl alone, as a directory pinchmail cannot write does.
    if (code === 'EPERM' || code === 'EOPNOTSUPP' || code === 'ENOSYS') return 'unwritable';
    if (code !== 'EEXIST') throw err;
    removeIfStale(dotlock);
    return 'busy';
  }
  crashPoint('mbox-dotlocked');
  unlinkSync(mine);
  const stillOurs = (): boolean => {
    try {
      return lstatSync(dotlock).ino === ino;
    } catch {
      return false;
    }
  };
  return {
    touch() {
      const now = new Date();
      if (stillOurs()) utimesSync(dotlock, now, now);
    },
    remove() {
      if (stillOurs()) unlinkSync(dotlock);
    },
  };
}

/**
 * A dotlock is stale when it has not changed for STALE_DOTLOCK_MS, or at once when it
 * names a process on this host that is gone (as Dovecot and procmail judge theirs): a
 * run killed while it held one must not hold up the next run for minutes. It is removed
 * only if it is still the very file judged, so one another program has just made in its
 * place is left alone.
 */
function removeIfStale(dotlock: string): void {
  try {
    const judged = lstatSync(dotlock);
    if (Date.now() - judged.mtimeMs <= STALE_DOTLOCK_MS && !holderIsGone(dotlock)) return;
    const now = lstatSync(dotlock);
    if (now.ino === judged.ino && now.mtimeMs === judged.mtimeMs) unlinkSync(dotlock);
  } catch {
    // Gone meanwhile: the next try takes it.
  }
}

/** Whether the dotlock says "PID\nHOST" for this host and a PID no process has. */
function holderIsGone(dotlock: string): boolean {
  const fd = openSync(dotlock, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  let text: string;
  try {
    text = readFileSync(fd, 'latin1').slice(0, 300);
  } finally {
    closeSync(fd);
  }
  const [pid, host] = text.split('\n');
  if (host !== os.hostname() || !/^[1-9][0-9]*$/.test(pid ?? '')) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** One non-blocking try at an fcntl write lock on the whole file (fs-ext runs it off the main thread). */
function tryFcntl(fd: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    fsExt.fcntl(fd, 'setlk', fsExt.constants.F_WRLCK, (err) => {
      if (!err) return resolve(true);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EACCES') return resolve(false);
      reject(err);
    });
  });
}
