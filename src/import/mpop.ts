/**
 * mpop's files: ~/.mpoprc (accounts) and its UIDLs files (~/.mpop_uidls/USER_at_HOST by
 * default), read as mpop 1.4 reads them. One command per line ("cmd arg"), `#` comments,
 * an argument in double quotes losing them; `defaults` then `account NAME [: OTHER,...]`.
 */
import path from 'node:path';
import { formatDuration } from '../config/duration.js';
import { isLoopback } from '../util/loopback.js';
import { accountName, own, type ImportedAccount, type SeenUidl, type Untranslated } from './model.js';

/** A command as the file has it: its argument, and its line for "not translated". */
interface Setting {
  arg: string;
  line: number;
  text: string;
}

/** An mpop account as its commands left it. */
interface MpopAccount {
  name: string;
  line: number;
  /** Its "account" line. */
  text: string;
  settings: Map<string, Setting>;
  /** What its own section (and the accounts it names after ":") set. */
  own: Map<string, Setting>;
}

/** Commands that carry over, in the order an account's keys are written. */
const TRANSLATED = new Set(['host', 'port', 'user', 'password', 'passwordeval', 'tls', 'tls_starttls', 'tls_trust_file', 'tls_fingerprint', 'tls_certcheck', 'tls_host_override', 'auth', 'timeout', 'delivery', 'keep', 'killsize', 'skipsize', 'uidls_file', 'only_new', 'received_header']);

/** Commands with no pinchmail equivalent, and what pinchmail does instead. */
const NOT_TRANSLATED: Record<string, string> = {
  filter: 'pinchmail has no header filter command; a "route" with header matchers decides from the headers',
  ntlmdomain: 'pinchmail has no NTLM authentication',
  proxy_host: 'pinchmail connects directly (no SOCKS proxy)',
  proxy_port: 'pinchmail connects directly (no SOCKS proxy)',
  source_ip: 'pinchmail does not choose a source address',
  socket: 'pinchmail connects over TCP only',
  pipelining: 'pinchmail always pipelines where the server allows it',
  tls_key_file: 'pinchmail does not log in with a client certificate',
  tls_cert_file: 'pinchmail does not log in with a client certificate',
  tls_crl_file: 'pinchmail does not read certificate revocation lists',
  tls_priorities: "pinchmail uses Node's TLS defaults",
  tls_min_dh_prime_bits: "pinchmail uses Node's TLS defaults",
  tls_force_sslv3: 'pinchmail never speaks SSLv3',
  eval: 'pinchmail does not run commands to write its configuration; each line it printed is to be translated by hand',
};

/** Logins mpop does without a password (Kerberos, a client certificate), which pinchmail has not. */
const WITHOUT_PASSWORD = new Set(['gssapi', 'external']);

/**
 * mpop 1.4.23's durations: N with d, h, m or s, several added up, blanks between allowed
 * ("1d12h", "36h", "1d 11h 60m"); in ms, or null for anything else. Read by a scan.
 */
function mpopDuration(text: string): number | null {
  const PART = /[ \t]*([0-9]+)[ \t]*([dhms])[ \t]*/y;
  const unit: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
  let ms = 0;
  let at = 0;
  while (at < text.length) {
    PART.lastIndex = at;
    const m = PART.exec(text);
    if (!m) return null;
    ms += Number(m[1]) * unit[m[2]!]!;
    at = PART.lastIndex;
  }
  return at > 0 ? ms : null;
}

const AUTH: Record<string, string> = { on: 'auto', user: 'user', apop: 'apop', plain: 'plain', login: 'login', 'cram-md5': 'cram-md5', xoauth2: 'xoauth2', oauthbearer: 'oauthbearer' };

/** mpop's trim_string: blanks off both ends, then one pair of enclosing double quotes. */
function unquote(text: string): string {
  // Blanks are spaces and tabs only, as mpop's is_blank: anything else belongs to the value.
  const t = trimEnd(trimStart(text));
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

/** Logins that send the password as it is: over plain TCP, pinchmail's config must allow that in so many words. */
const CLEAR_TEXT = new Set(['user', 'plain', 'login', 'xoauth2', 'oauthbearer']);

/** mpop's SHA-256 fingerprint ("01:23:...", 32 bytes) as pinchmail's pin; null for its SHA-1 and MD5 ones. */
function sha256Pin(fingerprint: string): string | null {
  return /^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/.test(fingerprint) ? `sha256:${fingerprint}` : null;
}

/** Blanks (space, tab) off one end, by a scan: a regex anchored at the end would go back over a long run of them for every start. */
const isBlank = (c: string | undefined): boolean => c === ' ' || c === '\t';
function trimStart(text: string): string {
  let i = 0;
  while (isBlank(text[i])) i++;
  return text.slice(i);
}
function trimEnd(text: string): string {
  let j = text.length;
  while (j > 0 && isBlank(text[j - 1])) j--;
  return text.slice(0, j);
}

const isOn = (arg: string): boolean => arg === '' || arg === 'on';
const expandTilde = (file: string, home: string): string => (file === '~' ? home : file.startsWith('~/') ? path.join(home, file.slice(2)) : file);

/** A line as "not translated" may show it: the value of anything named like a password never is (a misspelt "passwd X" included). */
function shownText(cmd: string, line: string): string {
  return /pass/i.test(cmd) && !/^passwordeval$/i.test(cmd) ? `${cmd} ********` : trimEnd(line);
}

/** The accounts of an mpoprc, each with every command that applies to it (defaults and `: OTHER` included). */
function readAccounts(text: string, file: string, untranslated: Untranslated[]): MpopAccount[] {
  const accounts: MpopAccount[] = [];
  let defaults = new Map<string, Setting>();
  /** Where a command goes: the defaults, or an account's settings and the ones it set itself. */
  let current: { settings: Map<string, Setting>; own: Map<string, Setting> | null } | null = null;
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.replace(/\r$/, '').replace(/^[ \t]+/, '');
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const cmd = /^[^ \t]*/.exec(trimmed)![0];
    const arg = unquote(trimmed.slice(cmd.length));
    if (cmd === 'defaults') {
      defaults = new Map(defaults);
      current = { settings: defaults, own: null };
      return;
    }
    if (cmd === 'account') {
      const [own, others] = arg.includes(':') ? [unquote(arg.slice(0, arg.indexOf(':'))), arg.slice(arg.indexOf(':') + 1)] : [arg, ''];
      const settings = new Map(defaults);
      const set = new Map<string, Setting>();
      // As mpop's override_account: only what the other account set itself (or took by ":"), never its defaults.
      for (const other of others.split(',').map(unquote).filter(Boolean)) {
        const from = accounts.find((a) => a.name === other);
        if (from) for (const [k, v] of from.own) (settings.set(k, v), set.set(k, v));
      }
      accounts.push({ name: own, line, text: trimmed.trimEnd(), settings, own: set });
      current = { settings, own: set };
      return;
    }
    const text = shownText(cmd, trimmed);
    if (!current) {
      untranslated.push({ file, line, text, why: 'mpop itself refuses a command before the first "account" or "defaults"' });
      return;
    }
    const setting = { arg, line, text };
    current.settings.set(cmd, setting);
    current.own?.set(cmd, setting);
  });
  return accounts;
}

/** Every account of `text` (an mpoprc at `file`), translated; what does not translate is in `untranslated`. */
export function parseMpoprc(text: string, file: string, home: string, cwd: string): { accounts: ImportedAccount[]; untranslated: Untranslated[] } {
  const untranslated: Untranslated[] = [];
  const accounts = readAccounts(text, file, untranslated).map((a) => translate(a, { file, home, cwd }, untranslated));
  // In the file's order, as an operator reads it.
  return { accounts, untranslated: untranslated.sort((a, b) => a.line - b.line) };
}

/** Where the mpoprc is, and what mpop's paths are taken from: "~" the home, a relative one the directory mpop runs in. */
interface Place {
  file: string;
  home: string;
  cwd: string;
}

function translate(source: MpopAccount, { file, home, cwd }: Place, untranslated: Untranslated[]): ImportedAccount {
  const get = (cmd: string): string | undefined => source.settings.get(cmd)?.arg;
  const notTranslated = (cmd: string, why: string): void => {
    const s = source.settings.get(cmd);
    if (s) untranslated.push({ file, line: s.line, text: s.text, why: `account ${source.name}: ${why}` });
  };
  /** A path of the command, made absolute as mpop run from here would take it, said so when that is a guess. */
  const pathOf = (cmd: string, p: string): string => {
    const expanded = expandTilde(p, home);
    if (path.isAbsolute(expanded)) return expanded;
    const resolved = path.resolve(cwd, expanded);
    notTranslated(cmd, `mpop takes a relative path from the directory it runs in; pinchmail was given ${resolved}, from the directory of this import: check it is the one mpop ran in`);
    return resolved;
  };
  const account: Record<string, unknown> = { name: accountName(source.name) };
  const host = get('host');
  if (host) account.host = host;
  // mpop: TLS off unless "tls on"; with it, STARTTLS unless "tls_starttls off".
  const tls = isOn(get('tls') ?? 'off') ? (isOn(get('tls_starttls') ?? 'on') ? 'starttls' : 'implicit') : 'none';
  account.tls = tls;
  if (get('port')) account.port = Number(get('port'));
  const tlsOptions: Record<string, unknown> = {};
  if (get('tls_trust_file') && get('tls_trust_file') !== 'system') tlsOptions.ca = pathOf('tls_trust_file', get('tls_trust_file')!);
  const pin = get('tls_fingerprint') && sha256Pin(get('tls_fingerprint')!);
  if (pin) tlsOptions.fingerprint = pin;
  else if (get('tls_fingerprint')) notTranslated('tls_fingerprint', 'not a SHA-256 fingerprint (mpop also takes SHA-1 and MD5 ones); pinchmail pins SHA-256 only, so it checks the certificate as usual: pin it again with "tlsOptions": { "fingerprint": "sha256:..." }, which a refused certificate\'s error prints');
  if (get('tls_host_override')) tlsOptions.servername = get('tls_host_override');
  if (get('tls_certcheck') === 'off') tlsOptions.insecure = true;
  if (Object.keys(tlsOptions).length) account.tlsOptions = tlsOptions;
  if (get('user')) account.user = get('user');
  /** Why the account cannot work as pinchmail would run it (the account is left out, its UIDLs still imported). */
  const blockers: string[] = [];
  if (get('proxy_host')) blockers.push('it connects through a SOCKS proxy (proxy_host), which pinchmail does not: it would connect directly, from this host\'s own address');
  if (get('socket')) blockers.push('it connects through a local socket (socket), which pinchmail does not');
  const auth = get('auth');
  if (auth !== undefined) {
    const method = own(AUTH, auth || 'on');
    if (method) account.auth = method;
    else if (WITHOUT_PASSWORD.has(auth)) blockers.push(`it logs in with ${auth}, without a password, which pinchmail cannot`);
    else notTranslated('auth', `pinchmail has no "${auth}" login; it chooses the strongest the server offers ("auth": "auto")`);
    // mpop sends a named clear-text login over plain TCP as told; pinchmail wants that said, to a host that is not loopback.
    if (tls === 'none' && CLEAR_TEXT.has(String(account.auth)) && !isLoopback(host ?? '')) account.allowPlaintext = true;
  }
  let inlinePassword: string | undefined;
  // mpop runs passwordeval only when no password is given.
  if (get('password')) inlinePassword = get('password');
  else if (get('passwordeval')) account.password = { command: ['/bin/sh', '-c', get('passwordeval')!] };
  const askedPassword = account.password || inlinePassword !== undefined || blockers.length ? undefined : 'mpop asks a key ring, ~/.netrc or the terminal for its password';
  if (get('timeout') && /^\d+$/.test(get('timeout')!)) account.timeout = `${get('timeout')}s`;
  else if (get('timeout') === 'off') notTranslated('timeout', 'mpop then waits for ever; pinchmail always has a network timeout ("timeout", default 1m)');
  else if (get('timeout')) notTranslated('timeout', 'not a number of seconds');
  // keep off (mpop's default) deletes a message once delivered; on keeps it; "keep 7d" (mpop 1.4.23) that long from first seen.
  const keep = get('keep') ?? 'off';
  const keptFor = keep === 'off' || isOn(keep) ? null : mpopDuration(keep);
  account.retention = keep === 'off' ? '0' : isOn(keep) ? 'never' : keptFor !== null ? formatDuration(keptFor) : undefined;
  if (account.retention === undefined) {
    delete account.retention;
    notTranslated('keep', 'a duration pinchmail cannot read; "retention" stays at its default of 7d');
  }
  const keeping: Keeping = keep === 'off' ? 'deletes' : isOn(keep) ? 'keeps' : 'keeps-for';
  const resync = keeping === 'keeps' && get('killsize') === '0';
  if (resync) {
    blockers.push('with "keep on", "killsize 0" marks every message as retrieved and delivers none (mpop\'s way to resynchronise its UIDLs), which this import has just done: give the account a delivery by hand to use it');
  }
  const deliver = delivery(get('delivery'), (p) => pathOf('delivery', p));
  if (deliver.target) account.deliver = deliver.target;
  else if (get('delivery')) notTranslated('delivery', deliver.why!);
  const route = sizeRules(source, deliver.target, keeping, notTranslated);
  if (route) {
    delete account.deliver;
    account.route = route;
  }
  // pinchmail always fetches only what it has not delivered; mpop's only_new off fetches all again.
  if (get('only_new') !== undefined && !isOn(get('only_new')!)) notTranslated('only_new', 'pinchmail fetches only the messages it has not delivered, never all of them again');
  // mpop adds a Received header unless told not to; pinchmail never changes a message.
  if ((get('received_header') ?? 'on') !== 'off') {
    const s = source.settings.get('received_header');
    // On the account's own line (the default), the line already names the account.
    const why = `mpop adds a Received header${s ? '' : ' (its default)'}; pinchmail delivers a message as the server holds it`;
    untranslated.push({ file, line: s?.line ?? source.line, text: s?.text ?? source.text, why: s ? `account ${source.name}: ${why}` : why });
  }
  for (const [cmd] of source.settings) {
    const why = own(NOT_TRANSLATED, cmd);
    if (why) notTranslated(cmd, why);
    else if (!TRANSLATED.has(cmd)) notTranslated(cmd, 'not an mpop command pinchmail knows (mpop 1.4 refuses a file with a command it does not know)');
  }
  if (!host || !get('user')) blockers.unshift('it names no host or no user');
  else if (!resync && !account.deliver && !route?.some((r) => (r as { deliver?: unknown }).deliver || (r as { drop?: unknown }).drop)) blockers.push('it has no delivery pinchmail can do');
  const incomplete = blockers.length ? blockers.join('; ') : undefined;
  const seenFile = pathOf('uidls_file', (get('uidls_file') ?? '~/.mpop_uidls/%U_at_%H').replaceAll('%U', get('user') ?? '').replaceAll('%H', host ?? ''));
  return {
    name: account.name as string,
    account,
    ...(inlinePassword === undefined ? {} : { inlinePassword }),
    ...(askedPassword ? { askedPassword } : {}),
    seenFile,
    ...(incomplete ? { incomplete } : {}),
  };
}

/** mpop's delivery: "mda CMD" (through /bin/sh, as mpop runs it), "maildir DIR", "mbox FILE"; `pathOf` makes a path absolute. */
function delivery(arg: string | undefined, pathOf: (p: string) => string): { target?: Record<string, unknown>; why?: string } {
  if (!arg) return {};
  const m = /^(\w+)[ \t]+(.*)$/.exec(arg);
  const [method, rest] = m ? [m[1]!, unquote(m[2]!)] : [arg, ''];
  if (method === 'mda') {
    if (/%F/.test(rest)) return { why: 'pinchmail does not put the envelope sender (%F) into a command line; the command can read it from the Return-Path header' };
    return { target: { command: rest } };
  }
  if (method === 'maildir') return { target: { maildir: pathOf(rest) } };
  if (method === 'mbox') return { target: { mbox: pathOf(rest) } };
  return { why: `pinchmail has no "${method}" delivery` };
}

/** What mpop does with what it retrieved: deletes it, keeps it, or keeps it for a while ("keep 7d"). */
type Keeping = 'deletes' | 'keeps' | 'keeps-for';

/**
 * killsize and skipsize (a message of at least that size is deleted unread or left on the
 * server) as route rules. What killsize does hangs on keep: with keep off the message is
 * deleted unread ("kill"); with keep on nothing is deleted, so it is only skipped; with
 * "keep 7d" it is deleted unread once that long has passed: pinchmail's "drop", which
 * lets it age out by the retention like a delivered one.
 */
function sizeRules(source: MpopAccount, deliver: Record<string, unknown> | undefined, keeping: Keeping, notTranslated: (cmd: string, why: string) => void): unknown[] | null {
  const rules: unknown[] = [];
  const killed = keeping === 'deletes' ? 'kill' : keeping === 'keeps' ? 'skip' : 'drop';
  for (const [cmd, verdict] of [['killsize', killed], ['skipsize', 'skip']] as const) {
    const arg = source.settings.get(cmd)?.arg;
    if (arg === undefined || arg === 'off') continue;
    const m = /^(\d+)([km]?)$/.exec(arg);
    if (!m) {
      notTranslated(cmd, 'not a size mpop reads');
      continue;
    }
    const bytes = Number(m[1]) * (m[2] === 'k' ? 1024 : m[2] === 'm' ? 1024 * 1024 : 1);
    // mpop's "at least" is pinchmail's "over" one byte less.
    rules.push({ match: bytes === 0 ? 'all' : { sizeOver: String(bytes - 1) }, [verdict]: true });
  }
  if (rules.length === 0) return null;
  // A size of 0 takes every message: nothing after it could be reached.
  const takesAll = rules.find((r) => (r as { match: unknown }).match === 'all');
  if (takesAll) return [takesAll];
  if (!deliver) return rules;
  return [...rules, { match: 'all', deliver }];
}

/**
 * An mpop UIDLs file: comments at the top, then for each mailbox " COUNT HOST USER" and
 * COUNT lines of "UIDL" (mpop before 1.4.23) or "UIDL TIMESTAMP" (seconds since the epoch).
 */
export function parseMpopUidls(text: string, file: string): { mailboxes: { host: string; user: string; uidls: SeenUidl[] }[]; problems: Untranslated[] } {
  const mailboxes: { host: string; user: string; uidls: SeenUidl[] }[] = [];
  const problems: Untranslated[] = [];
  let open = null as { host: string; user: string; uidls: SeenUidl[]; left: number } | null;
  let header = true;
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const [i, line] of lines.entries()) {
    if (header && line.startsWith('#')) continue;
    header = false;
    if (!open) {
      const m = /^ (\d+) (\S+) (\S+)$/.exec(line);
      if (!m || Number(m[1]) < 1) {
        problems.push({ file, line: i + 1, text: line, why: 'not a " COUNT HOST USER" line; mpop would refuse this file too' });
        continue;
      }
      open = { host: m[2]!, user: m[3]!, uidls: [], left: Number(m[1]) };
      continue;
    }
    const space = line.lastIndexOf(' ');
    const stamp = space > 0 ? line.slice(space + 1) : '';
    open.uidls.push(/^\d+$/.test(stamp) ? { uidl: line.slice(0, space), firstSeen: Number(stamp) * 1000 } : { uidl: line, firstSeen: null });
    if (--open.left === 0) {
      mailboxes.push({ host: open.host, user: open.user, uidls: open.uidls });
      open = null;
    }
  }
  if (open) {
    problems.push({ file, line: lines.length, text: '', why: `fewer UIDLs than the count for ${open.user} at ${open.host}; those listed are imported` });
    mailboxes.push({ host: open.host, user: open.user, uidls: open.uidls });
  }
  return { mailboxes, problems };
}
