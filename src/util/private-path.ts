import { accessSync, chmodSync, closeSync, constants, lstatSync, mkdirSync, openSync, readdirSync, statSync, unlinkSync, type Stats } from 'node:fs';
import path from 'node:path';
import { PinchmailError } from '../errors.js';

/**
 * Checks for the files pinchmail keeps for itself (the state database, its spool and
 * lock trees) and for the Maildirs it writes, against other users of the same host.
 *
 * Node has no openat(), so a path cannot be opened relative to a directory already
 * verified. The sound substitute: verify the directory everything hangs from (owned by
 * you or root, writable by nobody else, so nobody else can swap an entry in it), then
 * create each level below with mkdir and lstat it (a real directory, never a symlink,
 * yours, writable by nobody else): each verified level keeps the next one from being
 * swapped. Files are created with O_EXCL|O_NOFOLLOW, and removed with unlink after
 * lstat, so no planted name is ever followed.
 */

/** Something pinchmail will not rely on: what it is, or who can change it, is wrong. */
export class UnsafePathError extends Error {
  override readonly name = 'UnsafePathError';

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

function modeText(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
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
  const root = also.includes(0) && trust.uid !== 0 ? ' or root' : '';
  return `owned by uid ${stat.uid}, not by you (uid ${trust.uid})${root}`;
}

function modeProblem(stat: Stats, trust: Trust): string | null {
  if (trust.uid === null) return null;
  const group = (stat.mode & 0o020) !== 0 && !trust.shared;
  const others = (stat.mode & 0o002) !== 0 && !(trust.shared && (stat.mode & 0o1000) !== 0);
  if (!group && !others) return null;
  const who = group && others ? 'group and others' : group ? 'its group' : 'others';
  return `writable by ${who} (mode ${modeText(stat.mode)})`;
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
 * The directory pinchmail's own files hang from (the database's): reached through the
 * path the operator gave (symlinks on the way followed: that path is theirs to choose,
 * and the directories above are not checked, since a home directory is often 0755);
 * it must be owned by you or root and writable by nobody else. False when it does not
 * exist; throws UnsafePathError when it must not be relied on.
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

/** Runs checks, turning what they found into the one line a run and `check` print (exit 78). */
export function refusing<T>(what: string, why: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    throw err instanceof UnsafePathError ? refusal(what, why, err) : err;
  }
}

/** The one line: what the path is to pinchmail, what is wrong with it, and why that matters. */
export function refusal(what: string, why: string, err: UnsafePathError): PinchmailError {
  return new PinchmailError('STATE_ACCESS', `${what} ${err.path}: ${err.problem}; refusing it, since ${why}`, { cause: err });
}
