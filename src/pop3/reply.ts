import { Pop3Error, codeForRespCode } from './errors.js';

/** A POP3 status line, parsed. */
export interface Reply {
  /** +OK (or a SASL continuation) rather than -ERR. */
  ok: boolean;
  /** A SASL continuation ("+ challenge"), RFC 5034. */
  continuation: boolean;
  /** The text after the status indicator, as Latin-1 (protocol text, never mail). */
  text: string;
  /** The RFC 2449 response code, e.g. "IN-USE" or "SYS/TEMP", if the text starts with one. */
  respCode: string | undefined;
}

const RESP_CODE = /^\[([A-Za-z0-9/-]+)[^\]]*\]/;

/** Parses a status line, or returns null when it is not POP3 at all. */
export function parseStatusLine(line: Buffer): Reply | null {
  // The common case, "+OK" with a short text, without regular expressions.
  if (line.length >= 3 && line[0] === 0x2b && line[1] === 0x4f && line[2] === 0x4b && (line.length === 3 || line[3] === 0x20)) {
    const text = line.toString('latin1', line.length > 3 ? 4 : 3);
    return { ok: true, continuation: false, text, respCode: text.startsWith('[') ? RESP_CODE.exec(text)?.[1]?.toUpperCase() : undefined };
  }
  const s = line.toString('latin1');
  let ok: boolean;
  let continuation = false;
  let rest: string;
  if (/^\+OK(?![^ \t])/i.test(s)) {
    ok = true;
    rest = s.slice(3);
  } else if (/^-ERR(?![^ \t])/i.test(s)) {
    ok = false;
    rest = s.slice(4);
  } else if (s === '+' || s.startsWith('+ ')) {
    ok = true;
    continuation = true;
    rest = s.slice(1);
  } else {
    return null;
  }
  const text = rest.replace(/^[ \t]/, '');
  const m = continuation ? null : RESP_CODE.exec(text);
  return { ok, continuation, text, respCode: m?.[1]?.toUpperCase() };
}

/** The typed error for a -ERR reply to `what` (e.g. "RETR 3"). */
export function errorForReply(what: string, reply: Reply): Pop3Error {
  const code = codeForRespCode(reply.respCode) ?? 'REFUSED';
  return new Pop3Error(code, `server refused ${what}: ${printable(reply.text)}`, { serverText: reply.text });
}

/** Server text made safe to print on one line: no control characters, bounded length. */
export function printable(text: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\x00-\x1f\x7f-\x9f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
