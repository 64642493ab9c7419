import { closeSync, constants, fchownSync, fstatSync, lstatSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import fsExt from 'fs-ext';
import { runningUid } from '../util/private-path.js';

/**
 * The two locks an mbox writer takes, so that procmail, mutt, Dovecot and pinchmail
 * never write one at the same time: a dotlock (`FILE.lock`, created with O_EXCL; what
 * procmail and mutt take first) and an fcntl() write lock on the whole file (what
 * Dovecot's readers and writers take, and mutt and procmail too). flock() is not taken:
 * Debian's Dovecot, mutt and procmail do not use it for mbox.
 *
 * Where the mbox's directory cannot be written (/var/mail is root:mail 2775 and needs
 * procmail's setgid), no dotlock can be made: then the fcntl lock alone is taken, as
 * Dovecot does with its default settings for reading.
 */

/** A dotlock left this long unchanged belongs to a program that died: it is removed, as Dovecot does after 2 minutes and procmail after 17. */
const STALE_DOTLOCK_MS = 5 * 60_000;
const RETRY_MS = 100;

export class MboxLockTimeout extends Error {}

export interface HeldMboxLock {
  /** The mbox, open for reading and appending, locked with fcntl. */
  fd: number;
  /** Whether a dotlock could be made (false: the directory is not writable). */
  dotlocked: boolean;
  /** Releases both locks and closes `fd`. */
  release(): void;
}

/**
 * Opens `file` (creating it 0600 when missing) and takes both locks, trying until
 * `timeoutMs` has passed (then MboxLockTimeout) or `signal` is aborted. Symlinks are
 * followed for the mbox itself (the operator named it); anything but a regular file is
 * refused, and a FIFO never blocks the open.
 */
export async function lockMbox(file: string, timeoutMs: number, signal?: AbortSignal): Promise<HeldMboxLock> {
  const deadline = Date.now() + timeoutMs;
  const dotlock = `${file}.lock`;
  let dotlocked = false;
  for (;;) {
    const got = tryDotlock(dotlock);
    if (got === 'taken' || got === 'unwritable') {
      dotlocked = got === 'taken';
      break;
    }
    await waitOrGiveUp(deadline, signal, `${dotlock} is held by another program`);
  }
  let fd: number | null = null;
  try {
    fd = openMbox(file);
    if (!fstatSync(fd).isFile()) throw Object.assign(new Error(`${file} is not a regular file`), { code: 'EINVAL' });
    while (!(await tryFcntl(fd))) await waitOrGiveUp(deadline, signal, `${file} is locked (fcntl) by another program`);
  } catch (err) {
    if (fd !== null) closeSync(fd);
    if (dotlocked) removeDotlock(dotlock);
    throw err;
  }
  const held = fd;
  return {
    fd: held,
    dotlocked,
    release() {
      // Closing the file drops the fcntl lock; the dotlock goes after, so no writer slips in between.
      closeSync(held);
      if (dotlocked) removeDotlock(dotlock);
    },
  };
}

const OPEN = constants.O_RDWR | constants.O_APPEND | constants.O_NONBLOCK | constants.O_NOCTTY;

/**
 * The mbox, open for reading and appending; created 0600 when missing. One root creates
 * in a user's directory is given to that directory's owner, so the mail is theirs to
 * read, as when they deliver it themselves (the Maildir target does the same).
 */
function openMbox(file: string): number {
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

function tryDotlock(dotlock: string): 'taken' | 'busy' | 'unwritable' {
  let fd: number;
  try {
    fd = openSync(dotlock, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return 'unwritable';
    if (code !== 'EEXIST') throw err;
    removeIfStale(dotlock);
    return 'busy';
  }
  try {
    // What procmail and Dovecot write in theirs: who holds it, for a person looking.
    writeSync(fd, `${process.pid}\n${os.hostname()}\n`);
  } finally {
    closeSync(fd);
  }
  return 'taken';
}

/**
 * A dotlock is stale when it has not changed for STALE_DOTLOCK_MS, or at once when it
 * names a process on this host that is gone (as Dovecot and procmail judge theirs): a
 * run killed while it held one must not hold up the next run for minutes.
 */
function removeIfStale(dotlock: string): void {
  try {
    const stat = lstatSync(dotlock);
    if (Date.now() - stat.mtimeMs > STALE_DOTLOCK_MS || holderIsGone(dotlock)) unlinkSync(dotlock);
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

function removeDotlock(dotlock: string): void {
  try {
    unlinkSync(dotlock);
  } catch {
    // Removed as stale by someone else after a long wait: nothing of ours to clean.
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
