import { PinchmailError, errorMessage } from '../errors.js';

/** A message could not be delivered; it stays on the server and is tried again next run. */
export class DeliveryError extends PinchmailError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DELIVERY', message, options);
  }
}

/**
 * A Maildir file renamed into new/ whose rename could not be made durable (the fsync of
 * new/ failed). Not delivered as far as anyone may count on, yet readers may see it: the
 * note of it stays, so the next run looks and records it rather than delivering again.
 */
export class UnsyncedError extends DeliveryError {}

/** A file-system failure while writing a message, said plainly ("disk full", not "ENOSPC: ..."). */
export function fileError(err: unknown, what: string): DeliveryError {
  const code = (err as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    ENOSPC: 'the disk is full',
    EDQUOT: 'the disk quota is exhausted',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'read-only file system',
    ENOENT: 'no such directory',
    ENOTDIR: 'not a directory',
    EIO: 'input/output error',
  };
  return new DeliveryError(`${what}: ${(code && why[code]) ?? errorMessage(err)}`, { cause: err });
}
