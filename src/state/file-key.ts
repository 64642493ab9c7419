import { createHash } from 'node:crypto';

/**
 * A file name for a mailbox's lock or spool: readable, and unique even when two state
 * keys differ only in characters a file name cannot hold.
 */
export function fileKey(stateKey: string): string {
  const slug = stateKey.replace(/[^A-Za-z0-9._@-]+/g, '_').slice(0, 60);
  return `${slug}-${createHash('sha256').update(stateKey).digest('hex').slice(0, 12)}`;
}
