import { accessSync, chmodSync, closeSync, constants, lstatSync, mkdirSync, openSync, readdirSync, realpathSync, statSync, unlinkSync, type Stats } from 'node:fs';
import path from 'node:path';
import { STICKY_BIT, WRITE_BITS, modeText, ownedByAnother, whoCan } from './access-words.js';

/**
 * Checks for the files pinchmail keeps for itself (the state database, its spool and
 * lock trees) and for the Maildirs it writes, against other users of the same host.
 *
 * Node has no openat(), so a path cannot be opened relative to a directory already
 * verified. The sound substitute: verify the directory everything hangs from (owned by
 * you or root, writable by nobody else, so nobody else can swap an entry in it), and
 * every directory above it, from / down (see verifyAnchorDirectory), then
 * create each level below with mkdir and lstat it (a real directory, never a symlink,
 * yours, writable by nobody else): each verified level keeps the next one from being
 * swapped. Files are created with O_EXCL|O_NOFOLLOW, and removed with unlink after
 * lstat, so no planted name is ever followed.
 */

/** Something pinchmail will not rely on: what it is, or who can change it, is wrong. */
export class UnsafePathError extends Error {
  override readonly name: string = 'UnsafePathError';

  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

/** The running user's uid, or null where the system has none (then owners and modes go unchecked). */
export function runningUid(): number | null {
  return typeof process.getuid === 'function' ? process.getuid() : null;
}

export type EntryKind = 'directory' | 'file';

/** Who may own an entry and write it, besides its owner. */
export interface Trust {
  /** The running user's uid (null: no uids on this system, nothing but types is checked). */
  uid: number | null;
  /**
   * Owners allowed besides the running user: root (it can change anything anyway), a
   * Maildir's owner for its tmp/, new/ and cur/; 'anyone' for a Maildir itself, which
   * the operator named (root delivering into a user's Maildir is common).
   */
  alsoOwnedBy?: readonly number[] | 'anyone';
  /**
   * A Maildir may be shared with a group, and made world-writable with the sticky bit
   * (as a tmpfs root is): then nobody but an entry's owner can rename or remove it.
   */
  shared?: boolean;
}

function typeProblem(stat: Stats, kind: EntryKind): string | null {
  if (stat.isSymbolicLink()) return 'is a symbolic link';
  if (kind === 'directory' && !stat.isDirectory()) return 'is not a directory';
  if (kind === 'file' && !stat.isFile()) return 'is not a regular file';
  return null;
}

function ownerProblem(stat: Stats, trust: Trust): string | null {
  const also = trust.alsoOwnedBy ?? [];
  if (trust.uid === null || also === 'anyone' || stat.uid === trust.uid || also.includes(stat.uid)) return null;
  return ownedByAnother(stat.uid, trust.uid, also.includes(0));
}

function modeProblem(stat: Stats, trust: Trust): string | null {
  if (trust.uid === null) return null;
  // A shared Maildir lets its group write, and others too when it is sticky.
  let mask = WRITE_BITS;
  if (trust.shared) mask &= (stat.mode & STICKY_BIT) !== 0 ? 0 : 0o002;
  const who = whoCan(stat.mode, mask);
  return who ? `writable by ${who} (mode ${modeText(stat.mode)})` : null;
}

/** What makes an entry unfit to rely on, in words; null when nothing does. */
export function untrustedBecause(stat: Stats, kind: EntryKind, trust: Trust): string | null {
  return typeProblem(stat, kind) ?? ownerProblem(stat, trust) ?? modeProblem(stat, trust);
}

/** Nobody can write a directory on a read-only file system, whatever its mode says (a tmpfs mounted ro is 1777). */
function onReadOnlyFileSystem(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EROFS';
  }
}

const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * A directory above the anchor that is unfit: whoever can rename or replace entries in it
 * can swap the anchor (or a directory between) for one of theirs, checks passed or not.
 */
export class UnsafeAncestorError extends UnsafePathError {
  override readonly name = 'UnsafeAncestorError';
}

/**
 * The directory pinchmail's own files hang from (the database's): it must be owned by
 * you or root and writable by nobody else. Symlinks on the way are followed (the path is
 * the operator's to choose). False when it does not exist; throws UnsafePathError when
 * it must not be relied on. Checks that directory alone: see verifyAnchorDirectory.
 */
export function checkAnchorDirectory(dir: string): boolean {
  let stat: Stats;
  try {
    stat = statSync(dir);
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
  const trust: Trust = { uid: runningUid(), alsoOwnedBy: [0] };
  const problem = typeProblem(stat, 'directory') ?? ownerProblem(stat, trust) ?? (onReadOnlyFileSystem(dir) ? null : modeProblem(stat, trust));
  if (problem) throw new UnsafePathError(dir, problem);
  return true;
}

/** Each directory from the root of the file system down to `dir` (an absolute path), the root first. */
function levelsDownTo(dir: string): string[] {
  const levels: string[] = [];
  for (let at = dir; ; at = path.dirname(at)) {
    levels.unshift(at);
    if (path.dirname(at) === at) return levels;
  }
}

/**
 * Checks every directory from / down to `real` (a path realpathSync gave, so symlink-free),
 * top down: each owned by you or root and writable by nobody else but with the sticky
 * bit (as /tmp): then nobody else can rename what is in it, and what is below a sticky
 * directory is yours or root's, so nobody can rename that either. Top down, each level
 * verified keeps the next one from being swapped while it is looked at. `real` itself is
 * checked as checkAnchorDirectory checks, sticky or not (only `last: false` leaves it as
 * an ancestor). A level that is now a symlink was swapped meanwhile, and is refused.
 */
function checkLevels(real: string, last: boolean): void {
  const uid = runningUid();
  const trust: Trust = { uid, alsoOwnedBy: [0] };
  const levels = levelsDownTo(real);
  for (const [i, level] of levels.entries()) {
    const anchor = last && i === levels.length - 1;
    const stat = lstatSync(level);
    let problem = typeProblem(stat, 'directory') ?? ownerProblem(stat, trust);
    if (!problem && uid !== null) {
      const sticky = (stat.mode & STICKY_BIT) !== 0 && !anchor;
      problem = sticky ? null : modeProblem(stat, trust);
      if (problem && onReadOnlyFileSystem(level)) problem = null;
    }
    if (problem) throw anchor ? new UnsafePathError(level, problem) : new UnsafeAncestorError(level, problem);
  }
}

/**
 * The anchor directory (the database's) verified with every directory above it, and its
 * real path: what pinchmail builds the paths of its own files from, from then on. With
 * `create`, missing levels are made (0700), after what is there above them has been
 * verified, so nothing is created in a directory someone else could change. Without,
 * null when it does not exist (what is above is verified all the same, for `check`: a
 * run would create it there). Throws UnsafePathError (UnsafeAncestorError for a
 * directory above it).
 */
export function verifyAnchorDirectory(dir: string, options: { create: boolean }): string | null {
  const absolute = path.resolve(dir);
  let existing = absolute;
  const missing: string[] = [];
  for (;;) {
    try {
      statSync(existing);
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' || path.dirname(existing) === existing) throw err;
      missing.unshift(path.basename(existing));
      existing = path.dirname(existing);
    }
  }
  const real = realpathSync(existing);
  checkLevels(real, missing.length === 0);
  if (missing.length === 0) return real;
  if (!options.create) return null;
  let at = real;
  for (const name of missing) {
    at = path.join(at, name);
    try {
      mkdirSync(at, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const made = realpathSync(at);
  checkLevels(made, true);
  return made;
}

/**
 * A directory others may share, as a Maildir and its tmp/, new/ and cur/ may be:
 * checked, never created or changed. With `follow` (the Maildir itself, a path the
 * operator gave) symlinks on the way are followed; without (its subdirectories), one is
 * refused. Group-writable is allowed, world-writable only with the sticky bit. Returns
 * the owner's uid, or null when it does not exist.
 */
export function checkSharedDirectory(dir: string, options: { follow: boolean; alsoOwnedBy: readonly number[] | 'anyone' }): number | null {
  let stat: Stats;
  try {
    stat = options.follow ? statSync(dir) : lstatSync(dir);
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
  const problem = untrustedBecause(stat, 'directory', { uid: runningUid(), alsoOwnedBy: options.alsoOwnedBy, shared: true });
  if (problem) throw new UnsafePathError(dir, problem);
  return stat.uid;
}

/**
 * Checks an entry inside a verified directory without following it: of the kind
 * expected, yours, writable by nobody else. With `tighten`, one of yours that others can
 * read (or enter) is made private (0700 or 0600), so "created 0600 in a 0700 directory"
 * holds also for what was there before; without, nothing is changed. False when missing.
 */
export function checkPrivateEntry(entry: string, kind: EntryKind, options: { tighten: boolean }): boolean {
  let stat: Stats;
  try {
    stat = lstatSync(entry);
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
  const problem = untrustedBecause(stat, kind, { uid: runningUid() });
  if (problem) throw new UnsafePathError(entry, problem);
  // Not a symlink, in a directory nobody else can write: chmod reaches this very entry.
  if (options.tighten && runningUid() !== null && (stat.mode & 0o077) !== 0) chmodSync(entry, stat.mode & 0o700);
  return true;
}

/**
 * Creates `dir` (0700) inside a verified directory, or takes the one there, and checks
 * it as checkPrivateEntry does, tightening it. Only the last level is created: the
 * caller has verified its parent.
 */
export function ensurePrivateDirectory(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  checkPrivateEntry(dir, 'directory', { tighten: true });
}

/** Opens a new file, 0600, never over anything there and never through a symlink (the caller closes it). */
export function createExclusive(file: string, access: number = constants.O_RDWR): number {
  return openSync(file, constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | access, 0o600);
}

/**
 * A file of pinchmail's own inside a verified private directory: created 0600 if
 * missing, else checked (and tightened) as checkPrivateEntry does. SQLite then opens it
 * by name: nobody else can swap it in between, since nobody else can write the directory.
 */
export function ensurePrivateFile(file: string): void {
  if (checkPrivateEntry(file, 'file', { tighten: true })) return;
  try {
    closeSync(createExclusive(file, constants.O_WRONLY));
  } catch (err) {
    // Created meanwhile by another run of ours: what is there now is checked instead.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    checkPrivateEntry(file, 'file', { tighten: true });
  }
}

/**
 * Empties a verified private directory without following anything in it: files and
 * symlinks are unlinked (a symlink's target is never touched), directories left alone
 * (pinchmail makes none there, so one is not its to empty).
 */
export function clearPrivateDirectory(dir: string): number {
  let removed = 0;
  for (const name of readdirSync(dir)) {
    const entry = path.join(dir, name);
    try {
      if (lstatSync(entry).isDirectory()) continue;
      unlinkSync(entry);
      removed++;
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }
  return removed;
}
