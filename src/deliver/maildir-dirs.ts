import { closeSync, constants, fchownSync, fstatSync, lstatSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { HeldDirectory } from '../util/held-directory.js';
import { UnsafePathError, runningUid, untrustedBecause } from '../util/private-path.js';

const SUBDIRECTORIES = ['tmp', 'new', 'cur'] as const;

/** A Maildir and its three directories, each opened once and checked as it was opened. */
export interface HeldMaildir {
  root: HeldDirectory;
  tmp: HeldDirectory;
  new: HeldDirectory;
  cur: HeldDirectory;
  close(): void;
}

/** A Maildir as found, with those of its directories that are there (null: missing). */
export interface FoundMaildir {
  root: HeldDirectory;
  tmp: HeldDirectory | null;
  new: HeldDirectory | null;
  cur: HeldDirectory | null;
  close(): void;
}

/** The Maildir's parent directory is not there: pinchmail creates the last level only. */
export class MissingParentError extends Error {
  constructor(readonly dir: string) {
    super(`${path.dirname(dir)} does not exist`);
  }
}

const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * Opens a Maildir and its tmp/, new/ and cur/ and checks each as opened, against those
 * who could swap one for a symlink to a directory of yours (where a run would write, and
 * whose old files named like pinchmail's it would sweep): the Maildir (the operator's
 * path, followed) may belong to anyone; tmp/, new/ and cur/ to you, root or the
 * Maildir's owner, and must be real directories, not symlinks; none may be
 * world-writable without the sticky bit. Group-writable is allowed: a group that shares
 * a Maildir can change its mail anyway. Held, the directories stay the ones checked
 * even if their names are swapped later in the run (see HeldDirectory); where they
 * cannot be held (no /proc), nobody but you may be able to write them.
 *
 * What is missing is made (0700): the Maildir itself when its parent directory is there
 * (MissingParentError when not), and tmp/, new/ and cur/; root gives what it makes to
 * the owner of the directory it is made in. Throws UnsafePathError.
 */
export function holdMaildir(dir: string): HeldMaildir {
  makeMaildir(dir);
  const found = findMaildir(dir, true);
  if (!found?.tmp || !found.new || !found.cur) {
    found?.close();
    // Made a moment ago: whoever removed one meanwhile can write the Maildir, and the next run will make it again.
    throw Object.assign(new Error(`${dir}: its tmp/, new/ or cur/ was removed as it was made`), { code: 'ENOENT' });
  }
  return { root: found.root, tmp: found.tmp, new: found.new, cur: found.cur, close: found.close };
}

/**
 * The Maildir as it is, checked as holdMaildir checks it, nothing made: null when it is
 * not there; a subdirectory not there is null in what is returned. Throws UnsafePathError.
 */
export function lookAtMaildir(dir: string): FoundMaildir | null {
  return findMaildir(dir, false);
}

/** Checks a Maildir without changing it or keeping anything open (for `check`). Throws UnsafePathError. */
export function checkMaildir(dir: string): void {
  lookAtMaildir(dir)?.close();
}

/** Only the Maildir itself, never its parents: a typo in the path must not hide mail. */
function makeMaildir(dir: string): void {
  let parent: HeldDirectory;
  try {
    parent = HeldDirectory.open(path.dirname(dir), { follow: true });
  } catch (err) {
    if (isMissing(err)) throw new MissingParentError(dir);
    throw err;
  }
  try {
    makeDirectory(parent.entry(path.basename(dir)), parent);
  } finally {
    parent.close();
  }
}

function findMaildir(dir: string, create: boolean): FoundMaildir | null {
  let root: HeldDirectory;
  try {
    root = HeldDirectory.open(dir, { follow: true });
  } catch (err) {
    if (isMissing(err) && !create) return null;
    throw err;
  }
  const held: HeldDirectory[] = [root];
  try {
    refuseUnlessFit(root, 'anyone');
    const subs = SUBDIRECTORIES.map((sub) => {
      if (create) makeDirectory(root.entry(sub), root);
      const opened = openSubdirectory(path.join(dir, sub), root);
      if (opened) {
        held.push(opened);
        refuseUnlessFit(opened, [root.stat.uid, 0]);
      }
      return opened;
    });
    return { root, tmp: subs[0]!, new: subs[1]!, cur: subs[2]!, close: () => closeAll(held) };
  } catch (err) {
    closeAll(held);
    throw err;
  }
}

function closeAll(held: readonly HeldDirectory[]): void {
  for (const dir of held) dir.close();
}

function refuseUnlessFit(dir: HeldDirectory, alsoOwnedBy: readonly number[] | 'anyone'): void {
  const problem = untrustedBecause(dir.stat, 'directory', { uid: runningUid(), alsoOwnedBy, shared: true });
  if (problem) throw new UnsafePathError(dir.path, problem);
  // By name, a swap after the check would be followed: then nobody but you may be able to make one.
  if (!HeldDirectory.byDescriptor() && runningUid() !== null) {
    const others = dir.stat.uid !== runningUid() ? `owned by uid ${dir.stat.uid}` : (dir.stat.mode & 0o022) !== 0 ? 'writable by others than you' : null;
    if (others) throw new UnsafePathError(dir.path, `${others}, and without /proc (/proc/self/fd) pinchmail cannot hold it open against a swap mid-run`);
  }
}

/** A subdirectory opened through its held Maildir, never through a symlink; null when missing. */
function openSubdirectory(subdir: string, root: HeldDirectory): HeldDirectory | null {
  try {
    return HeldDirectory.open(subdir, { follow: false, within: root });
  } catch (err) {
    if (isMissing(err)) return null;
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTDIR' && code !== 'ELOOP') throw err;
    // A symlink or a file where a directory belongs: said as the check says it.
    const problem = untrustedBecause(lstatSync(root.entry(path.basename(subdir))), 'directory', { uid: runningUid() });
    throw new UnsafePathError(subdir, problem ?? 'is not a directory');
  }
}

/**
 * mkdir without -p (0700), through the held parent: whatever is there already (a
 * symlink, dangling or not) is left for the check to judge. Root gives what it made to
 * the owner of the directory it made it in, so a user's Maildir stays the user's.
 */
function makeDirectory(dir: string, parent: HeldDirectory): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw err;
  }
  if (runningUid() !== 0 || parent.stat.uid === 0) return;
  // What is there now, opened without following and checked as opened: a directory of root's (the one just made), never a file linked in its place.
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    const made = fstatSync(fd);
    if (made.uid !== 0 || !made.isDirectory()) return;
    fchownSync(fd, parent.stat.uid, parent.stat.gid);
  } finally {
    closeSync(fd);
  }
}
