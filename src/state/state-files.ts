import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PinchmailError, errorMessage } from '../errors.js';
import { checkAnchorDirectory, checkPrivateEntry, ensurePrivateDirectory, ensurePrivateFile, refusing } from '../util/private-path.js';
import { fileKey } from './file-key.js';

/**
 * The files pinchmail keeps beside its state database, all hanging from the database's
 * directory: the database and what SQLite keeps with it, `<database>-spool/<key>/` for
 * each mailbox's spooled copies, and `<database>-locks/<key>.lock`. Whoever can write
 * any of them decides what is deleted from the server, or which of your files a run
 * removes; so each is refused unless it is yours (the directory: yours or root's) and
 * writable by nobody else, and nothing in the trees is ever reached through a symlink.
 * See src/util/private-path.ts for how.
 */

const WHY_DATABASE = 'whoever can write it decides what is deleted from the server';
const WHY_DIRECTORY = 'whoever can write in it can replace the state database, which decides what is deleted from the server';
const WHY_SPOOL = 'whoever can change it chooses which files a run removes and where it writes your mail';
const WHY_LOCK = 'whoever can change it chooses where a run creates files, and can let two runs work on one mailbox';

const asDirectory = <T>(check: () => T): T => refusing('state database directory', WHY_DIRECTORY, check);
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

/** The database's directory, created 0700 (with any missing parents) when missing, then checked. */
function ensureDatabaseDirectory(dir: string): void {
  asDirectory(() => {
    if (checkAnchorDirectory(dir)) return;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    checkAnchorDirectory(dir);
  });
}

/**
 * For StateStore.open: the directory created or checked, the database created 0600 or
 * checked, and its companions checked; what is yours but readable by others is made
 * private. The database's directory keeps its mode (it may be a home directory).
 */
export function ensureDatabaseFiles(file: string): void {
  ensureDatabaseDirectory(path.dirname(file));
  asDatabase(() => {
    ensurePrivateFile(file);
    for (const companion of companionsOf(file)) checkPrivateEntry(companion, 'file', { tighten: true });
  });
}

/**
 * For StateStore.openReadOnly (--dry-run, status): the same checks, changing nothing.
 * False when there is no database yet.
 */
export function checkDatabaseFiles(file: string): boolean {
  if (!asDirectory(() => checkAnchorDirectory(path.dirname(file)))) return false;
  return asDatabase(() => {
    if (!checkPrivateEntry(file, 'file', { tighten: false })) return false;
    for (const companion of companionsOf(file)) checkPrivateEntry(companion, 'file', { tighten: false });
    return true;
  });
}

/** For MailboxLock: `<database>-locks` and the mailbox's lock file in it, created private or checked. Returns the file. */
export function ensureLockFile(databaseFile: string, stateKey: string): string {
  const file = lockFileOf(databaseFile, stateKey);
  ensureDatabaseDirectory(path.dirname(databaseFile));
  asLockDirectory(() => ensurePrivateDirectory(lockDirOf(databaseFile)));
  asLockFile(() => ensurePrivateFile(file));
  return file;
}

/**
 * For Spool.prepare: `dir` is `<database>-spool/<key>` (spoolDirOf); the database's
 * directory is checked, then both levels below it created private or checked.
 */
export function ensureSpoolDirectory(dir: string): void {
  const root = path.dirname(dir);
  ensureDatabaseDirectory(path.dirname(root));
  asSpool(() => {
    ensurePrivateDirectory(root);
    ensurePrivateDirectory(dir);
  });
}

/**
 * For `pinchmail check`: what a run would refuse in the database's directory, the
 * database, and the spool and lock trees of these mailboxes, found without creating or
 * changing anything (what is missing a run creates; what is yours but readable by
 * others it makes private). Each tree is reported at its first problem; when the
 * directory they all hang from is refused, that alone.
 */
export function stateFileProblems(databaseFile: string, stateKeys: readonly string[]): PinchmailError[] {
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
  const directory = path.dirname(databaseFile);
  if (!look(`state database directory ${directory}`, () => asDirectory(() => checkAnchorDirectory(directory)))) return problems;
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
