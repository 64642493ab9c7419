import path from 'node:path';
import { PinchmailError, errorMessage } from '../errors.js';
import { UnsafeAncestorError, UnsafePathError, checkPrivateEntry, ensurePrivateDirectory, ensurePrivateFile, verifyAnchorDirectory } from '../util/private-path.js';
import { fileKey } from './file-key.js';

/**
 * The files pinchmail keeps beside its state database, all hanging from the database's
 * directory: the database and what SQLite keeps with it, `<database>-spool/<key>/` for
 * each mailbox's spooled copies, and `<database>-locks/<key>.lock`. Whoever can write
 * any of them decides what is deleted from the server, or which of your files a run
 * removes; so each is refused unless it is yours (the directory: yours or root's) and
 * writable by nobody else, and nothing in the trees is ever reached through a symlink.
 * The directories above the database's are checked too (see verifyAnchorDirectory), and
 * every path is then built from the database directory's real path, as verified.
 * See src/util/private-path.ts for how.
 */

const WHY_DATABASE = 'whoever can write it decides what is deleted from the server';
const WHY_DIRECTORY = 'whoever can write in it can replace the state database, which decides what is deleted from the server';
const WHY_ABOVE = 'whoever can rename or replace what is in it can swap the state database’s directory for one of their own, and so decide what is deleted from the server';
const WHY_SPOOL = 'whoever can change it chooses which files a run removes and where it writes your mail';
const WHY_LOCK = 'whoever can change it chooses where a run creates files, and can let two runs work on one mailbox';

/** Runs checks, turning what they found into the one line a run and `check` print (STATE_ACCESS, exit 78). */
function refusing<T>(what: string, why: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    throw err instanceof UnsafePathError ? refusal(what, why, err) : err;
  }
}

/** The one line: what the path is to pinchmail, what is wrong with it, and why that matters. */
function refusal(what: string, why: string, err: UnsafePathError): PinchmailError {
  return new PinchmailError('STATE_ACCESS', `${what} ${err.path}: ${err.problem}; refusing it, since ${why}`, { cause: err });
}

/** The database's directory and those above it, verified; its real path (null: missing, and not `create`). */
function databaseDirectory(databaseFile: string, create: boolean): string | null {
  try {
    return verifyAnchorDirectory(path.dirname(databaseFile), { create });
  } catch (err) {
    if (err instanceof UnsafeAncestorError) throw refusal('directory above the state database', WHY_ABOVE, err);
    if (err instanceof UnsafePathError) throw refusal('state database directory', WHY_DIRECTORY, err);
    throw err;
  }
}

/** The database's path in its verified real directory: what every other path is built from. */
function realDatabaseFile(databaseFile: string, create: boolean): string | null {
  const dir = databaseDirectory(databaseFile, create);
  return dir === null ? null : path.join(dir, path.basename(databaseFile));
}

const asDatabase = <T>(check: () => T): T => refusing('state database', WHY_DATABASE, check);
const asSpool = <T>(check: () => T): T => refusing('spool directory', WHY_SPOOL, check);
const asLockDirectory = <T>(check: () => T): T => refusing('lock directory', WHY_LOCK, check);
const asLockFile = <T>(check: () => T): T => refusing('lock file', WHY_LOCK, check);

/** A mailbox's spool directory (src/run/run-account.ts builds the same path for Spool.prepare). */
export function spoolDirOf(databaseFile: string, stateKey: string): string {
  return path.join(`${databaseFile}-spool`, fileKey(stateKey));
}

function lockDirOf(databaseFile: string): string {
  return `${databaseFile}-locks`;
}

export function lockFileOf(databaseFile: string, stateKey: string): string {
  return path.join(lockDirOf(databaseFile), `${fileKey(stateKey)}.lock`);
}

/** What SQLite reads along with a database when it opens it: the write-ahead log, its index, a hot rollback journal. */
function companionsOf(databaseFile: string): string[] {
  return ['-wal', '-shm', '-journal'].map((suffix) => `${databaseFile}${suffix}`);
}

/**
 * For StateStore.open: the directory created or checked (with those above it), the database created 0600 or
 * checked, and its companions checked; what is yours but readable by others is made
 * private. The database's directory keeps its mode (it may be a home directory).
 * Returns the database's path in the verified real directory, for SQLite to open.
 */
export function ensureDatabaseFiles(databaseFile: string): string {
  const file = realDatabaseFile(databaseFile, true)!;
  asDatabase(() => {
    ensurePrivateFile(file);
    for (const companion of companionsOf(file)) checkPrivateEntry(companion, 'file', { tighten: true });
  });
  return file;
}

/**
 * For StateStore.openReadOnly (--dry-run, status): the same checks, changing nothing.
 * The database's path in the verified real directory; null when there is none yet.
 */
export function checkDatabaseFiles(databaseFile: string): string | null {
  const file = realDatabaseFile(databaseFile, false);
  if (file === null) return null;
  return asDatabase(() => {
    if (!checkPrivateEntry(file, 'file', { tighten: false })) return null;
    for (const companion of companionsOf(file)) checkPrivateEntry(companion, 'file', { tighten: false });
    return file;
  });
}

/** For MailboxLock: `<database>-locks` and the mailbox's lock file in it, created private or checked. Returns the file. */
export function ensureLockFile(databaseFile: string, stateKey: string): string {
  const real = realDatabaseFile(databaseFile, true)!;
  const file = lockFileOf(real, stateKey);
  asLockDirectory(() => ensurePrivateDirectory(lockDirOf(real)));
  asLockFile(() => ensurePrivateFile(file));
  return file;
}

/**
 * For Spool.prepare: `dir` is `<database>-spool/<key>` (spoolDirOf); the database's
 * directory is checked (with those above it), then both levels below it created private
 * or checked. Returns the spool directory's path in the verified real directory.
 */
export function ensureSpoolDirectory(dir: string): string {
  const given = path.dirname(dir);
  const suffix = '-spool';
  if (!path.basename(given).endsWith(suffix)) throw new Error(`not a spool directory (see spoolDirOf): ${dir}`);
  const real = realDatabaseFile(given.slice(0, -suffix.length), true)!;
  const root = `${real}${suffix}`;
  const spool = path.join(root, path.basename(dir));
  asSpool(() => {
    ensurePrivateDirectory(root);
    ensurePrivateDirectory(spool);
  });
  return spool;
}

/**
 * For `pinchmail check`: what a run would refuse in the database's directory, the
 * database, and the spool and lock trees of these mailboxes, found without creating or
 * changing anything (what is missing a run creates; what is yours but readable by
 * others it makes private). Each tree is reported at its first problem; when the
 * directory they all hang from is refused, that alone.
 */
export function stateFileProblems(givenFile: string, stateKeys: readonly string[]): PinchmailError[] {
  const problems: PinchmailError[] = [];
  const look = (what: string, check: () => unknown): boolean => {
    try {
      check();
      return true;
    } catch (err) {
      problems.push(err instanceof PinchmailError ? err : new PinchmailError('STATE_ACCESS', `${what}: cannot check it (${errorMessage(err)})`, { cause: err }));
      return false;
    }
  };
  const found: { file: string | null } = { file: null };
  if (!look(`state database directory ${path.dirname(givenFile)}`, () => (found.file = realDatabaseFile(givenFile, false)))) return problems;
  // Missing: a run creates it, and nothing is in it yet (what is above it is checked all the same).
  if (found.file === null) return problems;
  const databaseFile = found.file;
  look(`state database ${databaseFile}`, () =>
    asDatabase(() => {
      for (const file of [databaseFile, ...companionsOf(databaseFile)]) checkPrivateEntry(file, 'file', { tighten: false });
    }),
  );
  const spoolRoot = `${databaseFile}-spool`;
  look(`spool directory ${spoolRoot}`, () =>
    asSpool(() => {
      if (!checkPrivateEntry(spoolRoot, 'directory', { tighten: false })) return;
      for (const key of stateKeys) checkPrivateEntry(spoolDirOf(databaseFile, key), 'directory', { tighten: false });
    }),
  );
  const lockDir = lockDirOf(databaseFile);
  if (look(`lock directory ${lockDir}`, () => asLockDirectory(() => checkPrivateEntry(lockDir, 'directory', { tighten: false })))) {
    for (const key of stateKeys) look(`lock file ${lockFileOf(databaseFile, key)}`, () => asLockFile(() => checkPrivateEntry(lockFileOf(databaseFile, key), 'file', { tighten: false })));
  }
  return problems;
}
