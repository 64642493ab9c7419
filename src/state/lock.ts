import Database from 'better-sqlite3';
import { stateError } from './errors.js';
import { ensureLockFile, lockFileOf } from './state-files.js';
import type { MailboxLock } from './store.js';

/**
 * One run per mailbox per host. Node has no flock(), so the lock is an SQLite
 * EXCLUSIVE transaction held open on a small per-mailbox file: SQLite takes it with
 * a POSIX advisory lock, which the kernel drops the instant the process dies. A run
 * killed with SIGKILL therefore never leaves a stale lock behind.
 */
export class MailboxLockFile implements MailboxLock {
  private constructor(private db: Database.Database | null) {}

  /** The lock, or null when another run holds it. */
  static tryAcquire(databaseFile: string, stateKey: string): MailboxLockFile | null {
    let file = lockFileOf(databaseFile, stateKey);
    let db: Database.Database;
    try {
      // Created 0600 in a 0700 directory, or refused if anyone else could have put it there;
      // opened by its path in the database's verified real directory.
      file = ensureLockFile(databaseFile, stateKey);
      db = new Database(file, { timeout: 0 });
    } catch (err) {
      throw stateError(err, file, 'cannot open the lock file');
    }
    try {
      db.exec('BEGIN EXCLUSIVE');
      return new MailboxLockFile(db);
    } catch (err) {
      db.close();
      if (String((err as { code?: unknown }).code).startsWith('SQLITE_BUSY')) return null;
      throw stateError(err, file, 'cannot take the lock');
    }
  }

  async release(): Promise<void> {
    if (!this.db) return;
    try {
      this.db.exec('ROLLBACK');
    } finally {
      this.db.close();
      this.db = null;
    }
  }
}
