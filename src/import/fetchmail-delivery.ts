/** Where fetchmail delivers (bsmtp, mda, smtphost and lmtp) and its limit, as a pinchmail target or route. */
import type { Opt } from './fetchmail-grammar.js';
import { own } from './model.js';
import type { Context, Settings } from './fetchmail-settings.js';

/** Options that only SMTP/LMTP delivery reads: unused when fetchmail delivers to an mda or a BSMTP file. */
const SMTP_ONLY = ['smtphost', 'lmtp', 'smtpaddress', 'smtpname'];

/** Where fetchmail delivers: a BSMTP file first, else the mda, else SMTP (or LMTP) to the smtphost list (default localhost). */
export function delivery(s: Settings, ctx: Context, notTranslated: (o: Opt | undefined, why: string) => void): { target?: Record<string, unknown>; why?: string } {
  const viaCommand = s.opt('bsmtp') ?? s.opt('mda');
  const unused = viaCommand?.key === 'bsmtp' ? [...SMTP_ONLY, 'mda'] : viaCommand ? SMTP_ONLY : [];
  for (const key of unused) notTranslated(s.opt(key), `unused: fetchmail delivers with ${viaCommand!.key}`);
  if (s.opt('bsmtp')) {
    listUnusedLocalNames(s, notTranslated, 'fetchmail delivers to a BSMTP file');
    return { why: 'pinchmail writes no BSMTP file' };
  }
  const mda = s.value('mda') as string | undefined;
  if (mda !== undefined) return mdaTarget(mda, s, ctx, notTranslated);
  return transferTarget(s, ctx, notTranslated);
}

/** The one local recipient fetchmail gives a single-drop user, or why there is none to give. */
function localName(s: Settings, ctx: Context): { name?: string; why?: string } {
  const names = s.list('localnames');
  if (names.includes('*') || names.length > 1) return { why: 'it is a multidrop mailbox (several local names, or "*"): pinchmail delivers each message to one recipient' };
  if (names.length === 1 && names[0]!.includes('=')) return { why: `its local name is a mapping (${names[0]}), which fetchmail applies only in multidrop mode` };
  if (names.length === 1) return { name: names[0] };
  if (ctx.localUser) return { name: ctx.localUser };
  return { why: 'fetchmail delivers to whoever runs it, whom the file does not name: add "is NAME here"' };
}

function listUnusedLocalNames(s: Settings, notTranslated: (o: Opt | undefined, why: string) => void, why: string): void {
  for (const opt of s.all().filter((o) => o.key === 'localnames')) notTranslated(opt, `${why}; the local names are not used`);
}

/**
 * mda "CMD": run as fetchmail runs it, through /bin/sh. %T and %s become the local name
 * in single quotes (its own single quotes made _), as fetchmail's sink.c does; that is
 * exact for a single-drop user only. %F (the envelope sender) has no equivalent.
 */
function mdaTarget(mda: string, s: Settings, ctx: Context, notTranslated: (o: Opt | undefined, why: string) => void): { target?: Record<string, unknown>; why?: string } {
  if (/%F/.test(mda)) return { why: 'its mda takes the envelope sender (%F), which pinchmail does not put into a command line; the command can read it from the Return-Path header' };
  if (!/%[sT]/.test(mda)) {
    listUnusedLocalNames(s, notTranslated, 'the mda is given no recipient (%T)');
    return { target: { command: mda } };
  }
  const local = localName(s, ctx);
  if (!local.name) return { why: `its mda takes the recipient (%T), and ${local.why}` };
  return { target: { command: mda.replace(/%[sT]/g, `'${local.name.replaceAll("'", '_')}'`) } };
}

/** SMTP or LMTP to the first of the smtphost list, for the one local recipient fetchmail would name in RCPT TO. */
function transferTarget(s: Settings, ctx: Context, notTranslated: (o: Opt | undefined, why: string) => void): { target?: Record<string, unknown>; why?: string } {
  const hunt = s.list('smtphost');
  const smtphost = s.opt('smtphost');
  const first = hunt[0] ?? 'localhost';
  if (hunt.length > 1) notTranslated(smtphost, `pinchmail delivers to one server, ${first}; fetchmail tried ${hunt.slice(1).join(', ')} when it was down`);
  const server = transferServer(first, s.value('lmtp') === true);
  if (!server.address) return { why: server.why! };
  const local = localName(s, ctx);
  if (!local.name) return { why: `it forwards by ${server.kind.toUpperCase()}, and ${local.why}` };
  // sink.c's rcpt_address: a name with @ as it is; else smtpname; else NAME@smtpaddress, or @ the smtphost (localhost for a socket).
  const smtpname = s.value('smtpname') as string | undefined;
  const to = local.name.includes('@') ? local.name : (smtpname ?? `${local.name}@${(s.value('smtpaddress') as string | undefined) ?? server.domain}`);
  if (!/^[^\s<>]+$/.test(to)) return { why: `its recipient ${JSON.stringify(to)} is not one address pinchmail can send RCPT TO` };
  if (server.remote) notTranslated(smtphost, `fetchmail speaks plain ${server.kind.toUpperCase()} to ${server.domain}; pinchmail requires STARTTLS to a host that is not loopback (add "tls": "none" to the target if it offers none)`);
  return { target: { [server.kind]: server.address, to } };
}

/** One smtphost entry ("host", "host/port" or "/socket", fetchmail's spelling) as pinchmail's address. */
function transferServer(entry: string, lmtp: boolean): { kind: 'smtp' | 'lmtp'; address?: string; domain?: string; remote?: boolean; why?: string } {
  // An absolute path is an LMTP socket, "lmtp" or not.
  if (entry.startsWith('/')) return { kind: 'lmtp', address: `unix:${entry}`, domain: 'localhost' };
  const kind = lmtp ? 'lmtp' : 'smtp';
  const slash = entry.lastIndexOf('/');
  const [host, portName] = slash >= 0 ? [entry.slice(0, slash), entry.slice(slash + 1) || 'smtp'] : [entry, 'smtp'];
  const port = /^[0-9]+$/.test(portName) ? Number(portName) : own({ smtp: 25, lmtp: 24 }, portName);
  if (port === undefined || port < 1 || port > 65535) return { kind, why: `its smtphost ${entry} has a port pinchmail cannot use` };
  if (!/^[A-Za-z0-9.-]+$|^[0-9A-Fa-f:.]+$/.test(host)) return { kind, why: `its smtphost ${entry} is not a host pinchmail can connect to` };
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return { kind, address, domain: host, remote: !/^(localhost|127(\.[0-9]+){3}|::1)$/i.test(host) };
}

/** The smtphost entry fetchmail's load_params refuses with "lmtp": one not a socket, on port 25 or none (whatever delivers). */
export function lmtpOnSmtpPort(s: Settings): string | undefined {
  if (s.value('lmtp') !== true) return undefined;
  const hunt = s.list('smtphost');
  return (hunt.length ? hunt : ['localhost']).find((entry) => {
    if (entry.startsWith('/')) return false;
    const slash = entry.lastIndexOf('/');
    const port = slash < 0 ? '' : entry.slice(slash + 1);
    return slash < 0 || port === 'smtp' || port === '25';
  });
}

/** limit N leaves a message of more than N bytes on the server (fetchmail's "msgsize > limit"); with limitflush it deletes it unread. */
export function limitRules(s: Settings, deliver: Record<string, unknown>): unknown[] | null {
  const limit = s.value('limit') as number | undefined;
  // 0 (and less) is no limit.
  if (limit === undefined || limit <= 0) return null;
  const verdict = s.value('limitflush') === true ? 'kill' : 'skip';
  return [{ match: { sizeOver: String(limit) }, [verdict]: true }, { match: 'all', deliver }];
}
