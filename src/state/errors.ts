import { PinchmailError, errorMessage } from '../errors.js';

/**
 * Turns what SQLite or the file system said about the state database into one of our
 * codes, with the file named: "busy" is worth a retry, "access" and "corrupt" need
 * the operator.
 */
export function stateError(err: unknown, file: string, doing: string): PinchmailError {
  if (err instanceof PinchmailError) return err;
  const code = String((err as { code?: unknown }).code ?? '');
  const detail = errorMessage(err);
  const say = (what: string): string => `state database ${file}: ${doing}: ${what}`;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new PinchmailError('STATE_BUSY', say('locked by another process for too long'), { cause: err });
  }
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || /disk is full|no space left/i.test(detail)) {
    return new PinchmailError('DISK_FULL', say('the disk is full'), { cause: err });
  }
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB' || /malformed|not a database/i.test(detail)) {
    return new PinchmailError('STATE_CORRUPT', say(`damaged or not a pinchmail database (${detail}); move it aside to start afresh, and every message still on the server will be delivered again`), { cause: err });
  }
  if (
    code.startsWith('SQLITE_READONLY') ||
    code.startsWith('SQLITE_CANTOPEN') ||
    code === 'SQLITE_PERM' ||
    code.startsWith('SQLITE_IOERR') ||
    ['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EISDIR'].includes(code)
  ) {
    return new PinchmailError('STATE_ACCESS', say(`cannot write it (${detail})`), { cause: err });
  }
  return new PinchmailError('INTERNAL', say(detail), { cause: err });
}
