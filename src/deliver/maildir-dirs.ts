import { lchownSync, lstatSync, mkdirSync, statSync } from 'node:fs';
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
 * even if their names are swapped later in the run (see HeldDirectory).
 *
 * With `create`, what is missing is made (0700): the Maildir itself when its parent
 * directory is there (MissingParentError when not), and tmp/, new/ and cur/; root gives
 * what it makes to the owner of the directory it is made in. Without, nothing is made,
 * and null says something is missing (what is there is checked all the same). Throws
 * UnsafePathError.
 */
export function holdMaildir(dir: string, create: boolean): HeldMaildir | null {
  // Only the Maildir itself, never its parents: a typo in the path must not hide mail.
  if (create) makeDirectory(dir, path.dirname(dir), true);
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
    let complete = true;
    for (const sub of SUBDIRECTORIES) {
      const subdir = path.join(dir, sub);
      if (create) makeDirectory(root.entry(sub), root, false);
      const opened = openSubdirectory(subdir, root);
      if (opened === null) {
        complete = false;
        continue;
      }
      held.push(opened);
      refuseUnlessFit(opened, [root.stat.uid, 0]);
    }
    if (!complete) {
      closeAll(held);
      return null;
    }
  } catch (err) {
    closeAll(held);
    throw err;
  }
  const [, tmp, fresh, cur] = held as [HeldDirectory, HeldDirectory, HeldDirectory, HeldDirectory];
  return { root, tmp, new: fresh, cur, close: () => closeAll(held) };
}

/** Checks a Maildir without changing it or keeping anything open (for `check`). Throws UnsafePathError. */
export function checkMaildir(dir: string): void {
  holdMaildir(dir, false)?.close();
}

function closeAll(held: readonly HeldDirectory[]): void {
  for (const dir of held) dir.close();
}

function refuseUnlessFit(dir: HeldDirectory, alsoOwnedBy: readonly number[] | 'anyone'): void {
  const problem = untrustedBecause(dir.stat, 'directory', { uid: runningUid(), alsoOwnedBy, shared: true });
  if (problem) throw new UnsafePathError(dir.path, problem);
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
 * mkdir without -p (0700): whatever is there already (a symlink, dangling or not) is left
 * for the check to judge. `isMaildir`: a missing parent is MissingParentError. Root gives
 * what it made to the owner of the directory it made it in, so a user's Maildir stays
 * the user's (`parent` is a path, or the held Maildir).
 */
function makeDirectory(dir: string, parent: string | HeldDirectory, isMaildir: boolean): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code === 'ENOENT' && isMaildir) throw new MissingParentError(dir);
    throw err;
  }
  if (runningUid() !== 0) return;
  const owner = typeof parent === 'string' ? statSync(parent) : parent.stat;
  // Just made by us in a directory we hold or the operator named: nothing else can have put a link here.
  if (owner.uid !== 0) lchownSync(dir, owner.uid, owner.gid);
}
