import { isPostgresUrl } from '../config/load.js';
import { resolveSecret } from '../config/secrets.js';
import type { Config } from '../config/types.js';
import { redacted } from './database-url.js';
import { SqliteStore } from './sqlite-store.js';
import type { StateStore } from './store.js';

/** What names the state database in a config: an SQLite file, or a PostgreSQL URL and its password. */
export type DatabaseConfig = Pick<Config, 'database' | 'databasePassword'>;

/**
 * The state database a config names, opened (created and migrated) for a run: an SQLite
 * file, or the PostgreSQL database a group of hosts shares.
 */
export async function openStore(config: DatabaseConfig): Promise<StateStore> {
  if (isPostgresUrl(config.database)) return (await import('./pg-store.js')).PgStore.open(config.database, await passwordOf(config));
  return SqliteStore.open(config.database);
}

/** For --dry-run, status and check: nothing created or written; null when there is no database yet. */
export async function openStoreReadOnly(config: DatabaseConfig): Promise<StateStore | null> {
  if (isPostgresUrl(config.database)) return (await import('./pg-store.js')).PgStore.open(config.database, { ...(await passwordOf(config)), readOnly: true });
  return SqliteStore.openReadOnly(config.database);
}

/** The database as output may show it: a URL without its password. */
export const shownDatabase = (database: string): string => (isPostgresUrl(database) ? redacted(database) : database);

async function passwordOf(config: DatabaseConfig): Promise<{ password?: string }> {
  return config.databasePassword === null ? {} : { password: await resolveSecret(config.databasePassword, 'databasePassword') };
}
