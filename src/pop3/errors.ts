/**
 * Every failure the POP3 layer can report. The codes say what went wrong in
 * protocol terms; only the CLI decides what each means for the exit status.
 */
export type Pop3ErrorCode =
  /** DNS lookup failed. */
  | 'DNS'
  /** TCP connect failed (refused, unreachable). */
  | 'CONNECT'
  /** TLS handshake, certificate check or pin failed, or STLS was required but not offered. */
  | 'TLS'
  /** No data from the server within the inactivity timeout. */
  | 'TIMEOUT'
  /** The connection ended while a reply was still owed. */
  | 'CLOSED'
  /** The server said something that is not POP3, or broke a limit we enforce. */
  | 'PROTOCOL'
  /** Login refused, or the requested mechanism is not offered. */
  | 'AUTH'
  /** RFC 2449 [IN-USE]: the maildrop is locked by another session. */
  | 'IN_USE'
  /** RFC 2449 [LOGIN-DELAY]: logged in too soon after the last login. */
  | 'LOGIN_DELAY'
  /** RFC 3206 [SYS/TEMP]: a temporary server-side problem. */
  | 'SYS_TEMP'
  /** RFC 3206 [SYS/PERM]: a permanent server-side problem. */
  | 'SYS_PERM'
  /** The server answered -ERR to a command, with no more specific code. */
  | 'REFUSED'
  /** The server lacks something we need (UIDL, TOP, a capability). */
  | 'UNSUPPORTED'
  /** We refused to send a password in clear text. */
  | 'INSECURE'
  /** The client was closed or used after closing. */
  | 'ABORTED';

export class Pop3Error extends Error {
  override readonly name = 'Pop3Error';
  readonly code: Pop3ErrorCode;
  /** The server's reply text (after the status indicator), when there was one. */
  readonly serverText: string | undefined;
  /**
   * The message whose reply broke the session (a body longer or shorter than announced,
   * replies out of step behind it): the failure is that message's, and a new session
   * can go on with the others.
   */
  readonly msgNo: number | undefined;
  /**
   * For a connection that closed or went silent: the message whose body was arriving
   * then. The session's failure, not the message's; but the message counts an attempt,
   * so that one the server always fails on goes last and reaches onFailure.
   */
  readonly inTransfer: number | undefined;

  constructor(code: Pop3ErrorCode, message: string, options?: { serverText?: string; cause?: unknown; msgNo?: number; inTransfer?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.serverText = options?.serverText;
    this.msgNo = options?.msgNo;
    this.inTransfer = options?.inTransfer;
  }
}

/** RFC 2449 / 3206 response codes that change what an -ERR means. */
export function codeForRespCode(respCode: string | undefined): Pop3ErrorCode | undefined {
  switch (respCode?.toUpperCase()) {
    case 'IN-USE':
      return 'IN_USE';
    case 'LOGIN-DELAY':
      return 'LOGIN_DELAY';
    case 'SYS/TEMP':
      return 'SYS_TEMP';
    case 'SYS/PERM':
      return 'SYS_PERM';
    case 'AUTH':
      return 'AUTH';
    default:
      return undefined;
  }
}

/** Why a signal ended the session: its reason when that is a Pop3Error, else ABORTED. */
export function abortReason(signal: AbortSignal): Pop3Error {
  const reason: unknown = signal.reason;
  return reason instanceof Pop3Error ? reason : new Pop3Error('ABORTED', 'session ended by the caller');
}

/** The same error with its message and server text passed through `scrub`: the very same one when that changes nothing. */
export function scrubbedError(err: Pop3Error, scrub: (text: string) => string): Pop3Error {
  const message = scrub(err.message);
  const serverText = err.serverText === undefined ? undefined : scrub(err.serverText);
  if (message === err.message && serverText === err.serverText) return err;
  return new Pop3Error(err.code, message, { serverText, cause: err.cause, msgNo: err.msgNo, inTransfer: err.inTransfer });
}

/** The same failure, as the fault of message `msgNo` (the command it broke on was about it). */
export function tiedTo(err: Pop3Error, msgNo: number | undefined): Pop3Error {
  if (msgNo === undefined || err.code !== 'PROTOCOL' || err.msgNo !== undefined) return err;
  return new Pop3Error(err.code, err.message, { serverText: err.serverText, cause: err.cause, msgNo });
}

/**
 * A closed or silent connection, noting message `arriving`, whose body was arriving: not
 * that message's fault for sure, but a server that fails on it every time must not keep
 * it ahead of the others (see Pop3Error.inTransfer).
 */
export function inTransfer(err: Pop3Error, arriving: number | undefined): Pop3Error {
  if ((err.code !== 'CLOSED' && err.code !== 'TIMEOUT') || arriving === undefined) return err;
  return new Pop3Error(err.code, err.message, { serverText: err.serverText, cause: err.cause, inTransfer: arriving });
}
