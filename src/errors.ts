import { Pop3Error } from './pop3/errors.js';

/**
 * Failures outside the POP3 protocol (which has its own Pop3Error). Each carries a
 * code; only src/cli/exit-codes.ts turns codes into exit statuses and words.
 */
export type PinchmailErrorCode =
  /** The config file is missing, unreadable or invalid, or a secret cannot be resolved. */
  | 'CONFIG'
  /** A command-line mistake. */
  | 'USAGE'
  /** Another run holds this account. */
  | 'LOCKED'
  /** The state database is busy (another process holds a write lock too long). */
  | 'STATE_BUSY'
  /** The state database cannot be created or written (permissions, read-only file system). */
  | 'STATE_ACCESS'
  /** The disk holding the state database or a Maildir is full. */
  | 'DISK_FULL'
  /** The state database is damaged or is not a pinchmail database. */
  | 'STATE_CORRUPT'
  /** A delivery failed for now (the target said "try again later", timed out, was killed); the message stays on the server and is retried. */
  | 'DELIVERY'
  /**
   * A delivery failed in a way that will not fix itself: the target cannot work as
   * configured (a command that is not there or not executable, a Maildir that cannot be
   * written or whose parent directory does not exist). The message stays on the server
   * and is retried, but a person has to act.
   */
  | 'DELIVERY_UNUSABLE'
  /** The target refused the message for good (an MDA's permanent sysexits status: no such user, bad data...). */
  | 'DELIVERY_PERMANENT'
  /** Stopped by SIGINT or SIGTERM. */
  | 'INTERRUPTED'
  /** A bug. */
  | 'INTERNAL';

export class PinchmailError extends Error {
  override readonly name = 'PinchmailError';

  constructor(
    readonly code: PinchmailErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** A config problem, always naming where in the file it is. */
export class ConfigError extends PinchmailError {
  constructor(
    /** JSON path such as `accounts[1].retention`, or the file name for file-level problems. */
    readonly path: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super('CONFIG', `${path}: ${problem}`, options);
  }
}

/** What was thrown, as an Error: a report holds one, whatever a library threw. */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Why a file could not be opened or read, in words rather than Node's ("ENOENT: no such file or directory, open ..."). */
export function fileProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : errorMessage(err);
}

/**
 * How far a failure reaches, decided once, here, from its type and code:
 * - 'message': this message failed (a target refused it, the server would not send
 *   it); the session is fine and the other messages go on;
 * - 'message-session': this message broke the session (Pop3Error.msgNo: a body
 *   longer or shorter than announced, replies out of step behind it); the message
 *   failed, and a new session can go on with the others;
 * - 'state': the state database is unusable; nothing more can be recorded;
 * - 'account': anything else stops this account (the CLI says whether it is temporary).
 * 'message' applies to failures of commands about one message (RETR, TOP): a refusal
 * of anything else is the account's.
 */
export type FailureScope = 'message' | 'message-session' | 'state' | 'account';

export function classify(err: unknown): FailureScope {
  if (err instanceof Pop3Error) {
    if (err.msgNo !== undefined) return 'message-session';
    return err.code === 'REFUSED' || err.code === 'SYS_TEMP' || err.code === 'SYS_PERM' ? 'message' : 'account';
  }
  if (err instanceof PinchmailError) {
    if (err.code === 'DELIVERY' || err.code === 'DELIVERY_UNUSABLE' || err.code === 'DELIVERY_PERMANENT') return 'message';
    if (err.code.startsWith('STATE_')) return 'state';
  }
  return 'account';
}
