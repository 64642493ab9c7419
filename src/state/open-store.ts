import { SqliteStore } from './sqlite-store.js';
import type { StateStore } from './store.js';

/**
 * The state database a config's "database" names, opened (created and migrated) for a
 * run. One engine today: an SQLite file.
 */
export async function openStore(database: string): Promise<StateStore> {
  return SqliteStore.open(database);
}

/** For --dry-run, status and check: nothing created or written; null when there is no database yet. */
export async function openStoreReadOnly(database: string): Promise<StateStore | null> {
  return SqliteStore.openReadOnly(database);
}
