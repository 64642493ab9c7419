import { PinchmailError, errorMessage } from '../errors.js';
import { withHeldNames } from '../util/held-directory.js';

/**
 * How long a delivery failure lasts: 'temporary' may pass by itself (the target said
 * "try again later", timed out, was killed, the disk is full); 'unusable' will not, the
 * target cannot work as configured (a command not there or not executable, a Maildir
 * that cannot be written); 'refused' will not either, the target refused the message
 * for good (an MDA's permanent sysexits status). The message stays on the server and is
 * tried again next run in every case; only the exit status and the words differ.
 */
export type Permanence = 'temporary' | 'unusable' | 'refused';

const CODE = { temporary: 'DELIVERY', unusable: 'DELIVERY_UNUSABLE', refused: 'DELIVERY_PERMANENT' } as const;

/** A message could not be delivered; it stays on the server and is tried again next run. */
export class DeliveryError extends PinchmailError {
  readonly permanence: Permanence;

  constructor(message: string, options?: { cause?: unknown; permanence?: Permanence }) {
    const permanence = options?.permanence ?? 'temporary';
    super(CODE[permanence], message, options);
    this.permanence = permanence;
  }
}

/** The most lasting of several failures (of one message's targets): what a person must see first. */
export function mostLasting(kinds: readonly Permanence[]): Permanence {
  return kinds.includes('unusable') ? 'unusable' : kinds.includes('refused') ? 'refused' : 'temporary';
}

/** Is this a delivery failure that will not fix itself? */
export function isPermanent(err: unknown): boolean {
  return err instanceof DeliveryError && err.permanence !== 'temporary';
}

/**
 * A Maildir file renamed into new/ whose rename could not be made durable (the fsync of
 * new/ failed). Not delivered as far as anyone may count on, yet readers may see it: the
 * note of it stays, so the next run looks and records it rather than delivering again.
 */
export class UnsyncedError extends DeliveryError {}

/** File-system failures no retry mends: a person has to change permissions, mounts or paths. */
const UNUSABLE = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR']);

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
  return new DeliveryError(`${what}: ${(code && why[code]) ?? withHeldNames(errorMessage(err))}`, { cause: err, permanence: code && UNUSABLE.has(code) ? 'unusable' : 'temporary' });
}
