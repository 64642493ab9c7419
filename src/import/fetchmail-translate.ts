/** Translation: one fetchmail user (its entry's and the defaults' options merged) to one account. */
import { isLoopback } from '../util/loopback.js';
import { accountName, own, type ImportedAccount } from './model.js';
import type { Entry, Opt, UserEntry } from './fetchmail-grammar.js';
import { type Context, prependDir, type Settings } from './fetchmail-settings.js';
import { delivery, limitRules, lmtpOnSmtpPort } from './fetchmail-delivery.js';

/** Why an option has no pinchmail equivalent; null when, with this value, there is nothing to carry over. */
const NOT_TRANSLATED: Record<string, (o: Opt) => string | null> = {
  aka: () => MULTIDROP_ONLY,
  localdomains: () => MULTIDROP_ONLY,
  envelope: () => MULTIDROP_ONLY,
  qvirtual: () => MULTIDROP_ONLY,
  dns: () => MULTIDROP_ONLY,
  checkalias: () => MULTIDROP_ONLY,
  interval: (o) => `pinchmail daemon polls each account on its own "every"; fetchmail polled this one once every ${o.value} poll intervals`,
  principal: () => 'pinchmail has no Kerberos login',
  esmtpname: () => 'pinchmail logs in to an SMTP server only with an smtp target\'s "auth" (user and password), to write by hand',
  esmtppassword: () => 'pinchmail logs in to an SMTP server only with an smtp target\'s "auth" (user and password), to write by hand',
  interface: () => 'pinchmail does not check network interfaces before polling',
  monitor: () => 'pinchmail does not watch network interfaces',
  plugin: () => 'pinchmail connects to the server directly, not through a command',
  plugout: () => 'pinchmail connects to an SMTP or LMTP server directly, not through a command',
  tracepolls: (o) => (o.value ? 'pinchmail adds no Received header' : null),
  'bad-header': () => 'pinchmail delivers a message whatever its header',
  folder: () => 'POP3 has one mailbox; folders are for IMAP',
  fetchdomains: () => 'for ETRN and ODMR, which pinchmail does not speak',
  antispam: () => 'pinchmail reads no SMTP spam-block codes: a refusal is a failed delivery',
  preconnect: () => 'pinchmail runs no command before connecting',
  postconnect: () => 'pinchmail runs no command after a connection',
  flush: (o) => (o.value ? 'pinchmail deletes a message only once it has delivered it and "retention" has passed, never one it did not fetch' : null),
  fetchall: (o) => (o.value ? 'pinchmail fetches only the messages it has not delivered, never all of them again' : null),
  forcecr: (o) => (o.value ? AS_THE_SERVER_HOLDS_IT : null),
  // pinchmail turns CRLF into LF as stripcr does: only forcecr's CRLF differs.
  stripcr: () => null,
  pass8bits: (o) => (o.value ? AS_THE_SERVER_HOLDS_IT : null),
  dropstatus: (o) => (o.value ? AS_THE_SERVER_HOLDS_IT : null),
  dropdelivered: (o) => (o.value ? AS_THE_SERVER_HOLDS_IT : null),
  mimedecode: (o) => (o.value ? AS_THE_SERVER_HOLDS_IT : null),
  idle: (o) => (o.value ? 'IDLE is IMAP\'s; pinchmail polls' : null),
  warnings: () => 'pinchmail mails no warnings about oversized messages',
  fetchsizelimit: () => 'pinchmail lists every size and UIDL once per run',
  fastuidl: () => 'pinchmail lists every size and UIDL once per run',
  batchlimit: () => 'pinchmail has no limit of messages per SMTP connection',
  expunge: () => "pinchmail commits its deletions once, at the end of each run (fetchmail's expunge logs out and in again every N messages to commit them)",
  properties: () => 'fetchmail itself ignores it',
  sslkey: () => 'pinchmail does not log in with a client certificate',
  sslcert: () => 'pinchmail does not log in with a client certificate',
  sslcertpath: () => 'pinchmail trusts a PEM file ("tlsOptions": { "ca": FILE }), not a hashed directory',
  sslfingerprint: () =>
    'fetchmail pins an MD5 fingerprint, pinchmail a SHA-256 one ("tlsOptions": { "fingerprint": "sha256:..." }); pinchmail\'s refusal of an untrusted certificate prints the pin to write',
};
const MULTIDROP_ONLY = 'used only to find the recipients of a multidrop mailbox; pinchmail delivers each message to one target';
const AS_THE_SERVER_HOLDS_IT = 'pinchmail delivers a message as the server holds it';

/** Options that translate (or whose meaning is in another's translation), never listed as not translated. */
const TRANSLATED = new Set(['user', 'password', 'via', 'protocol', 'port', 'auth', 'timeout', 'uidl', 'keep', 'rewrite', 'limit', 'limitflush', 'fetchlimit', 'ssl', 'sslproto', 'sslcertck', 'sslcertfile', 'sslcommonname', 'mda', 'bsmtp', 'smtphost', 'lmtp', 'smtpaddress', 'smtpname', 'localnames']);

/** Protocols pinchmail can poll: fetchmail's POP3 and its variants that are POP3 with a password. */
const POP3_PROTOCOLS = new Set(['POP3', 'AUTO', 'APOP', 'SDPS']);

/** fetchmail's logins that need no password (fetchmail(1): they suppress its inquiry for one). */
const WITHOUT_PASSWORD = new Set(['gssapi', 'kerberos_v4', 'kerberos_v5', 'ssh', 'external']);

/** fetchmail's auth values pinchmail has; the others are logins pinchmail does not do. */
const AUTH: Record<string, string> = { any: 'auto', password: 'user', 'cram-md5': 'cram-md5' };

export function translate(entry: Entry, user: UserEntry, s: Settings, severalUsers: boolean, ctx: Context): ImportedAccount {
  const login = (s.value('user') as string | undefined) ?? ctx.localUser;
  const name = accountName(severalUsers && login ? `${login}@${entry.name}` : entry.name);
  const notTranslated = (opt: Opt | undefined, why: string): void => {
    if (opt) ctx.untranslated.push({ file: ctx.file, line: opt.line, text: opt.text, why: `account ${name}: ${why}` });
  };
  const problems: string[] = [];
  const host = (s.value('via') as string | undefined) ?? entry.name;
  const account: Record<string, unknown> = { name };
  if (entry.verb === 'skip') account.enabled = false;
  account.host = host;
  server(s, account, problems, notTranslated);
  tls(s, account, ctx, notTranslated);
  const password = credentials(login, s.value('password') as string | undefined, account, problems);
  // fetchmail deletes what it delivered unless told to keep it.
  account.retention = s.value('keep') === true ? 'never' : '0';
  perRun(s, account, notTranslated);
  const lmtpPort = lmtpOnSmtpPort(s);
  if (lmtpPort) problems.push(`fetchmail itself refuses it: LMTP to ${lmtpPort}, on the SMTP port`);
  const deliver = delivery(s, ctx, notTranslated);
  if (deliver.target) {
    const route = limitRules(s, deliver.target);
    if (route) account.route = route;
    else account.deliver = deliver.target;
  } else {
    problems.push(deliver.why!);
  }
  notes(entry, user, s, ctx, notTranslated);
  unlisted(s, notTranslated);
  const incomplete = problems.length ? problems.join('; ') : undefined;
  // Without one in the file fetchmail reads ~/.netrc or asks; pinchmail asks nobody.
  const asked = password === undefined && !WITHOUT_PASSWORD.has(String(s.value('auth'))) ? { askedPassword: 'fetchmail reads its password from ~/.netrc or asks for it' } : {};
  return { name, account, ...(password === undefined ? {} : { inlinePassword: password }), ...asked, ...(incomplete ? { incomplete } : {}) };
}

/** The login and the password; a missing or unsendable one is a reason the account cannot go in. */
function credentials(login: string | undefined, password: string | undefined, account: Record<string, unknown>, problems: string[]): string | undefined {
  if (login) account.user = login;
  else problems.push(login === '' ? 'its user name is empty' : 'it names no user (fetchmail logs in as whoever runs it)');
  if (password !== undefined && /[\r\n\0]/.test(password)) problems.push('its password holds a line break or NUL, which no POP3 command can carry');
  return password;
}

/** fetchlimit (0 or less: no limit) as maxMessagesPerRun; limitflush alone, which does nothing. */
function perRun(s: Settings, account: Record<string, unknown>, notTranslated: (o: Opt | undefined, why: string) => void): void {
  const fetchlimit = s.value('fetchlimit') as number | undefined;
  if (fetchlimit !== undefined && fetchlimit > 0 && fetchlimit <= 10_000_000) account.maxMessagesPerRun = fetchlimit;
  else if (fetchlimit !== undefined && fetchlimit > 0) notTranslated(s.opt('fetchlimit'), 'more than pinchmail\'s "maxMessagesPerRun" allows (10000000)');
  if (s.value('limitflush') === true && !(Number(s.value('limit')) > 0)) notTranslated(s.opt('limitflush'), 'it acts only with "limit"');
}

/** protocol, port and auth. */
function server(s: Settings, account: Record<string, unknown>, problems: string[], notTranslated: (o: Opt | undefined, why: string) => void): void {
  const protocol = (s.value('protocol') as string | undefined) ?? 'AUTO';
  if (!POP3_PROTOCOLS.has(protocol)) problems.push(protocol === 'KPOP' || protocol === 'RPOP' ? `pinchmail has no ${protocol} login` : `pinchmail speaks POP3 only; fetchmail polls this with ${protocol}`);
  if (protocol === 'SDPS') notTranslated(s.opt('protocol'), 'pinchmail speaks plain POP3: Demon\'s SDPS envelope extension is not used');
  const port = s.opt('port');
  if (port) {
    const n = /^[0-9]+$/.test(String(port.value)) ? Number(port.value) : own(SERVICES, String(port.value));
    if (n !== undefined && n >= 1 && n <= 65535) account.port = n;
    else notTranslated(port, 'not a port number pinchmail can use; the port stays its default');
  }
  const auth = s.opt('auth');
  if (protocol === 'APOP') {
    // proto APOP logs in with APOP whatever "auth" says (pop3.c).
    account.auth = 'apop';
  } else if (auth && own(AUTH, String(auth.value))) {
    account.auth = own(AUTH, String(auth.value));
  } else if (auth && WITHOUT_PASSWORD.has(String(auth.value))) {
    // fetchmail asks for no password then: the account cannot log in as translated.
    problems.push(`it logs in with ${String(auth.value)}, without a password, which pinchmail cannot`);
  } else if (auth) {
    notTranslated(auth, `pinchmail has no ${String(auth.value)} login; it chooses the strongest the server offers ("auth": "auto")`);
  }
  const timeout = s.opt('timeout');
  if (timeout && Number(timeout.value) > 0) account.timeout = `${timeout.value}s`;
  // fetchmail.c: 0 is unset and -1 its command line's "default": both 300 s; below that setitimer refuses the value, so no timeout at all.
  else if (timeout) notTranslated(timeout, Number(timeout.value) >= -1 ? 'fetchmail reads it as its default, 300 seconds; pinchmail\'s default is 60s' : 'fetchmail then has no timeout; pinchmail always has one (default 60s)');
}

/** Service names fetchmail would look up in /etc/services, for the POP3 ports. */
const SERVICES: Record<string, number> = { pop3: 110, pop3s: 995, 'pop-3': 110 };

/**
 * ssl is implicit TLS. Without it fetchmail 6.4 upgrades with STLS, and since sslcertck
 * became its default (6.4.0) it refuses to go on without TLS: "starttls", which pinchmail
 * requires too. sslproto '' turns STLS off ("none"; with ssl fetchmail ignores it); any
 * other sslproto only picks TLS versions. no sslcertck makes fetchmail's STLS opportunistic
 * again: pinchmail still requires it, and fails loudly where fetchmail went on in clear.
 */
function tls(s: Settings, account: Record<string, unknown>, ctx: Context, notTranslated: (o: Opt | undefined, why: string) => void): void {
  const ssl = s.value('ssl') === true;
  const proto = s.opt('sslproto');
  account.tls = ssl ? 'implicit' : proto?.value === '' ? 'none' : 'starttls';
  const hidesPassword = account.auth === 'cram-md5' || account.auth === 'apop';
  // fetchmail sends the password in clear text here as told; pinchmail wants that said, to a host that is not loopback.
  if (!ssl && proto?.value === '' && !hidesPassword && !isLoopback(String(account.host))) account.allowPlaintext = true;
  else if (proto && own(VERSION_PINS, String(proto.value).toLowerCase())) notTranslated(proto, own(VERSION_PINS, String(proto.value).toLowerCase())!);
  const options: Record<string, unknown> = {};
  const ca = s.value('sslcertfile') as string | undefined;
  if (ca) options.ca = prependDir(ca, ctx.rcDir);
  const commonName = s.value('sslcommonname') as string | undefined;
  if (commonName) options.servername = commonName;
  const certck = s.opt('sslcertck');
  if (certck?.value === false) {
    if (s.opt('sslfingerprint')) {
      // fetchmail trusted only the pinned certificate: "insecure" would trust any, so pinchmail checks until the SHA-256 pin is written.
      notTranslated(certck, 'with sslfingerprint, fetchmail accepted only the pinned certificate; pinchmail checks the certificate until its SHA-256 pin is written');
    } else {
      options.insecure = true;
      if (!ssl && proto === undefined) notTranslated(certck, 'without TLS checks fetchmail goes on in clear text when the server offers no STLS; pinchmail\'s "starttls" then fails instead');
    }
  }
  // Without TLS there is no certificate to check.
  if (Object.keys(options).length && account.tls !== 'none') account.tlsOptions = options;
}

/** sslproto values that ask for TLS versions pinchmail (Node's defaults: TLS 1.2 or newer) does not match. */
const VERSION_PINS: Record<string, string> = {
  ssl3: 'pinchmail never speaks SSLv3; it negotiates TLS 1.2 or newer',
  tls1: 'pinchmail negotiates TLS 1.2 or newer, never TLS 1.0',
  'tls1.1': 'pinchmail negotiates TLS 1.2 or newer, never TLS 1.1',
  'tls1.3': 'pinchmail negotiates TLS 1.2 or newer, not TLS 1.3 only',
  'tls1.3+': 'pinchmail negotiates TLS 1.2 or newer, not TLS 1.3 only',
};

/** What fetchmail does to every message that pinchmail does not: a Received header (unless set invisible), and rewrite (its default). */
function notes(entry: Entry, user: UserEntry, s: Settings, ctx: Context, notTranslated: (o: Opt | undefined, why: string) => void): void {
  const changes = [
    ...(ctx.invisible ? [] : ['adds a Received header']),
    ...(s.value('rewrite') === false ? [] : [`qualifies server-local addresses in To, From, Cc, Bcc and Reply-To (rewrite${s.opt('rewrite') ? '' : ', its default'})`]),
  ];
  const rewrite = s.opt('rewrite');
  const at = rewrite?.value === true ? rewrite : { key: 'user', value: '', line: user.line, text: user.text };
  if (changes.length) notTranslated(at, `fetchmail ${changes.join(' and ')}; pinchmail delivers a message as the server holds it`);
  // AUTO tries IMAP first: a mailbox fetchmail kept over IMAP has no UIDLs in .fetchids.
  if ((s.value('protocol') ?? 'AUTO') === 'AUTO' && s.value('keep') === true) {
    notTranslated(s.opt('protocol') ?? { key: 'poll', value: '', line: entry.line, text: entry.text }, 'fetchmail\'s protocol AUTO tries IMAP first; if it kept this mailbox\'s mail over IMAP, .fetchids has no UIDLs for it and pinchmail delivers what is on the server again');
  }
}

/** A line for every option that neither translates nor is named in NOT_TRANSLATED. */
function unlisted(s: Settings, notTranslated: (o: Opt | undefined, why: string) => void): void {
  for (const opt of s.all()) {
    const why = own(NOT_TRANSLATED, opt.key);
    if (why) {
      const text = why(opt);
      if (text) notTranslated(opt, text);
    } else if (!TRANSLATED.has(opt.key)) {
      notTranslated(opt, 'not an option pinchmail has');
    }
  }
}
