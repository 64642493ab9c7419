/**
 * getmail6's files, as Debian's getmail 6.18.11 reads and writes them (getmailcore's source
 * and /usr/bin/getmail): a getmailrc is one account ([retriever], [destination], [options],
 * [filter-*]; read by getmail-ini.ts as Python reads it), and its oldmail file in the
 * getmail directory holds the UIDLs getmail delivered, one "UIDL\0SECONDS" a line.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { placeDelivery, translateDestination, type Delivery } from './getmail-destination.js';
import { block, boolParameter, intParameter, note, pathValue, pythonBool, pythonInt, pythonTuple, readIni, refused, take, type Context, type Ini, type IniEntry, type IniSection } from './getmail-ini.js';
import { isLoopback } from '../util/loopback.js';
import { accountName, own, type ImportedAccount, type SeenUidl, type Untranslated } from './model.js';

/** The POP3 retrievers (retrievers.py), with what sets them apart. */
interface Retriever {
  tls: 'implicit' | 'none';
  port: number;
  /** It reads an envelope recipient from each message (or SDPS's *ENV). */
  multidrop: boolean;
  /** It keeps no oldmail file: BrokenUIDL* go by message numbers. */
  noUidl: boolean;
  /** Its parameters (_confitems): any other key getmail ignores with a warning. */
  keys: Set<string>;
}

const POP3_KEYS = ['type', 'server', 'port', 'username', 'password', 'password_command', 'use_apop', 'timeout', 'getmaildir'];
const SSL_KEYS = ['keyfile', 'certfile', 'ca_certs', 'ssl_fingerprints', 'ssl_version', 'ssl_ciphers', 'ssl_cert_hostname'];
const pop3 = (ssl: boolean, extra: string[], how: { multidrop?: boolean; noUidl?: boolean } = {}): Retriever => ({
  tls: ssl ? 'implicit' : 'none',
  port: ssl ? 995 : 110,
  multidrop: how.multidrop ?? false,
  noUidl: how.noUidl ?? false,
  keys: new Set([...POP3_KEYS, ...(ssl ? SSL_KEYS : []), ...extra]),
});

const RETRIEVERS: Record<string, Retriever> = {
  SimplePOP3Retriever: pop3(false, ['delete_dup_msgids']),
  SimplePOP3SSLRetriever: pop3(true, ['delete_dup_msgids']),
  BrokenUIDLPOP3Retriever: pop3(false, [], { noUidl: true }),
  BrokenUIDLPOP3SSLRetriever: pop3(true, [], { noUidl: true }),
  MultidropPOP3Retriever: pop3(false, ['envelope_recipient'], { multidrop: true }),
  MultidropPOP3SSLRetriever: pop3(true, ['envelope_recipient'], { multidrop: true }),
  MultidropSDPSRetriever: pop3(false, [], { multidrop: true }),
};
const IMAP_RETRIEVERS = new Set(['SimpleIMAPRetriever', 'SimpleIMAPSSLRetriever', 'MultidropIMAPRetriever', 'MultidropIMAPSSLRetriever']);

/** Retriever parameters with no pinchmail equivalent. */
const RETRIEVER_NOT_TRANSLATED: Record<string, string> = {
  keyfile: 'pinchmail does not log in with a client certificate',
  certfile: 'pinchmail does not log in with a client certificate',
  ssl_version: "pinchmail uses Node's TLS defaults (TLS 1.2 or later)",
  ssl_ciphers: "pinchmail uses Node's TLS defaults",
  envelope_recipient: 'pinchmail delivers every message of the mailbox alike and reads no envelope recipient (a "route" rule with a "header" matcher can sort on this header)',
};

/** [options] getmail reads (/usr/bin/getmail's options_bool, options_int, options_str); any other it ignores. */
const BOOL_OPTIONS = ['read_all', 'delete', 'delivered_to', 'received', 'message_log_verbose', 'message_log_syslog', 'fingerprint', 'use_netrc', 'skip_imap_fetch_size', 'to_oldmail_on_each_mail'];
const INT_OPTIONS = ['delete_after', 'delete_bigger_than', 'max_message_size', 'max_messages_per_session', 'max_bytes_per_session', 'verbose'];
const STR_OPTIONS = ['message_log', 'netrc_file'];

/** Options with no pinchmail equivalent, listed when given. */
const OPTION_NOT_TRANSLATED: Record<string, string> = {
  verbose: 'pinchmail prints one summary line per account; -q and -v set how much more',
  message_log: 'pinchmail keeps no message log file; its log goes to stderr (the journal under systemd)',
  message_log_verbose: 'pinchmail keeps no message log file; its log goes to stderr (the journal under systemd)',
  message_log_syslog: 'pinchmail does not write to syslog; its log goes to stderr (the journal under systemd)',
  fingerprint: 'pinchmail does not log the certificate fingerprint; a refused certificate\'s error prints it',
  use_netrc: 'pinchmail reads no ~/.netrc; getmail took the username and password from it where it names this server (its oldmail file is then named with that username)',
  netrc_file: 'pinchmail reads no netrc file',
  skip_imap_fetch_size: 'an IMAP option: this account is POP3',
};

const MAX_TIMEOUT_S = 24 * 86_400;
const MAX_RETENTION_DAYS = 70_000;

/**
 * One getmailrc (`text`, at `file`), translated; `getmaildir` is the directory getmail ran
 * with (its oldmail files are there). Every line that does not carry over is in `untranslated`.
 */
export function parseGetmailrc(text: string, file: string, home: string, getmaildir: string): { accounts: ImportedAccount[]; untranslated: Untranslated[] } {
  const ini = readIni(text);
  const ctx: Context = { file, home, ini, untranslated: [], read: new Set(), blockers: new Set() };
  for (const e of ini.errors) note(ctx, e, `getmail refuses this file: ${e.why}`);
  if (ini.errors[0]) block(ctx, `getmail itself refuses this file (line ${ini.errors[0].line}: ${ini.errors[0].why})`);
  const name = rcAccountName(file);
  const account: Record<string, unknown> = { name };
  const source = translateRetriever(ctx, account, getmaildir);
  if (source.retriever) {
    const delivery = translateDestination(ctx, source.retriever.multidrop);
    translateOptions(ctx, account, delivery);
    listFilters(ctx);
    listLeftovers(ctx);
  }
  const imported: ImportedAccount = {
    name,
    account,
    ...(source.inlinePassword !== undefined ? { inlinePassword: source.inlinePassword } : {}),
    ...(source.askedPassword ? { askedPassword: source.askedPassword } : {}),
    ...(source.seenFile ? { seenFile: source.seenFile } : {}),
    ...(ctx.blockers.size ? { incomplete: [...ctx.blockers].join('; ') } : {}),
  };
  return { accounts: [imported], untranslated: ctx.untranslated.sort((a, b) => a.line - b.line) };
}

/** getmailrc is "getmail"; getmailrc-work, getmailrc.work and getmailrc_work are "work"; any other name is kept. */
function rcAccountName(file: string): string {
  const base = path.basename(file);
  const rest = base.replace(/^getmailrc[-._]?/, '');
  return accountName(base === 'getmailrc' || rest === '' ? 'getmail' : rest);
}

interface Source {
  retriever?: Retriever;
  inlinePassword?: string;
  askedPassword?: string;
  seenFile?: string;
}

function translateRetriever(ctx: Context, account: Record<string, unknown>, getmaildir: string): Source {
  const section = ctx.ini.sections.get('retriever');
  const type = take(ctx, section, 'type');
  const server = take(ctx, section, 'server');
  const username = take(ctx, section, 'username');
  if (server?.value) account.host = server.value;
  if (username?.value) account.user = username.value;
  if (!type) {
    block(ctx, 'it has no [retriever] with a "type"');
    return {};
  }
  if (IMAP_RETRIEVERS.has(type.value)) {
    note(ctx, type, 'pinchmail speaks POP3 only; the rest of this file is not translated, and its oldmail files hold IMAP UIDs, which are no POP3 UIDLs');
    block(ctx, 'getmail reads this mailbox over IMAP, and pinchmail speaks POP3 only');
    return {};
  }
  const retriever = own(RETRIEVERS, type.value);
  if (!retriever) {
    refused(ctx, type, `getmail has no retriever "${type.value}"`);
    return {};
  }
  if (!server?.value || !username?.value) block(ctx, 'it names no server or no username');
  account.tls = retriever.tls;
  const port = intParameter(ctx, take(ctx, section, 'port'), 1, 65_535);
  if (port !== undefined) account.port = port;
  const apop = boolParameter(ctx, take(ctx, section, 'use_apop'));
  if (apop) account.auth = 'apop';
  // getmail logs in with USER and PASS, in clear text over a plain connection: pinchmail wants that said, to a host that is not loopback.
  else if (retriever.tls === 'none' && !isLoopback(server?.value ?? '')) account.allowPlaintext = true;
  const timeout = intParameter(ctx, take(ctx, section, 'timeout'), 1, MAX_TIMEOUT_S);
  if (timeout !== undefined) account.timeout = `${timeout}s`;
  const tlsOptions = retriever.tls === 'implicit' ? translateTls(ctx, section!, type) : {};
  if (Object.keys(tlsOptions).length) account.tlsOptions = tlsOptions;
  for (const key of Object.keys(RETRIEVER_NOT_TRANSLATED)) {
    const entry = retriever.keys.has(key) ? take(ctx, section, key) : undefined;
    if (entry) note(ctx, entry, RETRIEVER_NOT_TRANSLATED[key]!);
  }
  const dups = take(ctx, section, 'delete_dup_msgids');
  if (boolParameter(ctx, dups)) note(ctx, dups!, 'pinchmail never deletes a message unread for sharing its UIDL with another: it leaves it on the server and says so');
  if (type.value === 'MultidropSDPSRetriever') note(ctx, type, "pinchmail does not speak Demon's SDPS (*ENV): it fetches this mailbox as plain POP3, without envelopes");
  if (retriever.noUidl) note(ctx, type, 'getmail kept no record of what it delivered from this mailbox (no oldmail file), so there is nothing to import; pinchmail needs UIDL, which this server may lack (its first run then says so)');
  const ownDir = take(ctx, section, 'getmaildir');
  const seenFile = retriever.noUidl || !server?.value || !username?.value ? undefined : oldmailFile(ctx, ownDir, getmaildir, server.value, port ?? retriever.port, username.value);
  return { retriever, ...translatePassword(ctx, section!, account), ...(seenFile ? { seenFile } : {}) };
}

/**
 * The oldmail file as getmail names it (_retrieverbases.py, RetrieverSkeleton.initialize):
 * "oldmail-SERVER-PORT-USERNAME" with each run of / : ; < > | made one "-", in the
 * retriever's getmaildir (getmail's own, unless [retriever] sets one).
 */
function oldmailFile(ctx: Context, own: IniEntry | undefined, getmaildir: string, server: string, port: number, username: string): string | undefined {
  // Without it the import finds no UIDLs, which keeps the account out unless told it has delivered nothing.
  const dir = own ? pathValue(ctx, own, own.value, false) : getmaildir;
  if (dir === null) return undefined;
  return path.join(dir, `oldmail-${server}-${port}-${username}`.replace(/[/:;<>|]+/g, '-'));
}

/** getmail runs password_command only without a password (POP3RetrieverBase.initialize), and asks a key ring or the terminal without either. */
function translatePassword(ctx: Context, section: IniSection, account: Record<string, unknown>): Pick<Source, 'inlinePassword' | 'askedPassword'> {
  const password = take(ctx, section, 'password');
  const command = take(ctx, section, 'password_command');
  if (password && password.value !== '') {
    if (command) note(ctx, command, 'a password is given, so getmail never runs password_command');
    return { inlinePassword: password.value };
  }
  if (password) note(ctx, password, 'an empty password, which pinchmail cannot send');
  const argv = command ? pythonTuple(command.value) : [];
  if (argv === null) refused(ctx, command!, 'not a Python tuple of strings');
  // Run directly, not through a shell, as getmail's run_command does.
  else if (argv.length) {
    account.password = { command: argv };
    return {};
  }
  const netrc = ctx.ini.sections.has('options') ? optionEntries(ctx.ini).get('use_netrc') : undefined;
  return { askedPassword: netrc && pythonBool(netrc.value) ? 'getmail read its password from ~/.netrc (use_netrc)' : 'getmail asks a key ring or the terminal for its password' };
}

/**
 * getmail checks a certificate only when given ca_certs (then against them, and the name
 * against ssl_cert_hostname or the server), and pins it with ssl_fingerprints either way.
 */
function translateTls(ctx: Context, section: IniSection, type: IniEntry): Record<string, unknown> {
  const tlsOptions: Record<string, unknown> = {};
  const ca = take(ctx, section, 'ca_certs');
  const caFile = ca && pathValue(ctx, ca, ca.value);
  if (caFile) tlsOptions.ca = caFile;
  const hostname = take(ctx, section, 'ssl_cert_hostname');
  if (hostname?.value) tlsOptions.servername = hostname.value;
  const pins = take(ctx, section, 'ssl_fingerprints');
  const fingerprints = pins ? pythonTuple(pins.value) : [];
  const normalized = fingerprints?.map((f) => f.toLowerCase().replaceAll(':', ''));
  if (!normalized || normalized.some((f) => !/^[0-9a-f]{64}$/.test(f))) refused(ctx, pins!, 'ssl_fingerprints must be a tuple of SHA-256 hashes in hex');
  else if (normalized[0]) {
    tlsOptions.fingerprint = `sha256:${normalized[0].toUpperCase().match(/../g)!.join(':')}`;
    if (normalized.length > 1) note(ctx, pins!, 'pinchmail pins one certificate: it accepts the first of these only');
  }
  if (!ca && !tlsOptions.fingerprint) {
    note(ctx, type, "getmail checks no certificate without ca_certs; pinchmail checks the server's against the system's CAs, so a self-signed one fails its first run: pin it with \"tlsOptions\": { \"fingerprint\" }, which that error prints");
  }
  return tlsOptions;
}

/** [options] as getmail sees them: its [DEFAULT] section counts, but only when there is an [options]. */
function optionEntries(ini: Ini): Map<string, IniEntry> {
  const options = ini.sections.get('options');
  return options ? new Map([...(ini.defaults?.entries ?? []), ...options.entries]) : new Map();
}

function translateOptions(ctx: Context, account: Record<string, unknown>, delivery: Delivery | null): void {
  const entries = optionEntries(ctx.ini);
  const anchor = ctx.ini.sections.get('options') ?? ctx.ini.sections.get('retriever')!;
  const { flags, numbers } = readOptions(ctx, entries);
  /** A note on the option's line, or, where getmail's default does it, on the section's. */
  const said = (key: string, why: string, byDefault: string): void => {
    const e = entries.get(key);
    note(ctx, e ?? anchor, e ? why : `${byDefault}, ${why}`);
  };
  const [del, deleteAfter] = [flags.delete!, numbers.delete_after!];
  // getmail deletes a message delivered with delete, or first seen delete_after days ago (a negative count: at once).
  account.retention = del || deleteAfter < 0 ? '0' : deleteAfter > 0 && deleteAfter <= MAX_RETENTION_DAYS ? `${deleteAfter}d` : 'never';
  if (del && deleteAfter) note(ctx, entries.get('delete_after')!, 'delete deletes every message once delivered, before this');
  if (flags.read_all && !del) said('read_all', 'getmail delivers every message on the server again at each run, as nothing deletes them; pinchmail delivers each message once (none its oldmail file lists)', 'by default (read_all)');
  const biggerThan = numbers.delete_bigger_than!;
  if (biggerThan > 0 && account.retention !== '0') note(ctx, entries.get('delete_bigger_than')!, `getmail deletes a message over ${biggerThan} bytes once delivered; pinchmail keeps it as long as the others ("retention"), and a "kill" rule would delete it unread`);
  if (numbers.max_messages_per_session! > 0) account.maxMessagesPerRun = Math.min(numbers.max_messages_per_session!, 10_000_000);
  if (numbers.max_bytes_per_session! > 0) account.maxBytesPerRun = String(numbers.max_bytes_per_session);
  // getmail hands LMTP the message as retrieved; its other destinations get these headers added.
  if (delivery?.addsHeaders && flags.delivered_to) said('delivered_to', 'getmail adds a Delivered-To header; pinchmail delivers a message as the server holds it', 'by default (delivered_to)');
  if (delivery?.addsHeaders && flags.received) said('received', 'getmail adds a Received header; pinchmail delivers a message as the server holds it', 'by default (received)');
  // to_oldmail_on_each_mail needs nothing: pinchmail records each delivery as it happens.
  for (const [key, why] of Object.entries(OPTION_NOT_TRANSLATED)) {
    const e = entries.get(key);
    // A flag set false asks for what pinchmail does anyway.
    if (e && flags[key] !== false) note(ctx, e, why);
  }
  if (delivery) placeDelivery(account, delivery.targets, numbers.max_message_size!);
}

/** Every option getmail reads, with its default: a value it cannot read makes it refuse the file. */
function readOptions(ctx: Context, entries: Map<string, IniEntry>): { flags: Record<string, boolean>; numbers: Record<string, number> } {
  const flags: Record<string, boolean> = {};
  const numbers: Record<string, number> = {};
  for (const key of [...BOOL_OPTIONS, ...INT_OPTIONS, ...STR_OPTIONS]) {
    const e = entries.get(key);
    if (e) ctx.read.add(e);
    if (BOOL_OPTIONS.includes(key)) {
      const b = e ? pythonBool(e.value) : ['read_all', 'delivered_to', 'received'].includes(key);
      if (b === null) refused(ctx, e!, `option ${key} must be a boolean`);
      flags[key] = b ?? false;
    } else if (INT_OPTIONS.includes(key)) {
      const n = e ? pythonInt(e.value, 'int()') : 0;
      if (n === null) refused(ctx, e!, `option ${key} must be an integer`);
      numbers[key] = n ?? 0;
    }
  }
  return { flags, numbers };
}

/** [filter-*] sections: getmail runs each message through them before delivering it. */
function listFilters(ctx: Context): void {
  for (const section of ctx.ini.sections.values()) {
    if (!section.name.toLowerCase().startsWith('filter')) continue;
    const type = section.entries.get('type')?.value ?? '?';
    note(ctx, section, `pinchmail runs no filter (${type}) before delivering: messages reach the delivery unfiltered; a "command" target can run the filter first`);
    for (const e of section.entries.values()) ctx.read.add(e);
  }
}

/** What getmail itself ignores: unknown parameters and options, sections it never reads, [DEFAULT] outside [options]. */
function listLeftovers(ctx: Context): void {
  const used = new Set(['retriever', 'destination', 'options']);
  for (const section of ctx.ini.sections.values()) {
    const left = [...section.entries.values()].filter((e) => !ctx.read.has(e));
    if (!used.has(section.name) && !section.name.toLowerCase().startsWith('filter')) {
      if (left.length === section.entries.size) {
        note(ctx, section, 'getmail does not read this section');
        continue;
      }
    }
    const owner = section.name === 'options' ? null : (section.entries.get('type')?.value ?? section.name);
    for (const e of left) note(ctx, e, owner ? `getmail's ${owner} takes no "${e.key}" and ignores it` : 'not a getmail option; getmail ignores it');
  }
  for (const e of ctx.ini.defaults?.entries.values() ?? []) {
    if (!ctx.read.has(e)) note(ctx, e, 'getmail reads [DEFAULT] for [options] only, and this is no option there');
  }
}

/**
 * An oldmail file (RetrieverSkeleton.write_oldmailfile): a line "UIDL\0SECONDS" per message
 * delivered and still on the server, SECONDS when getmail first delivered it (a POP3 UIDL's
 * "/" written as "-"). As getmail reads it (read_oldmailfile), blank lines are skipped and a
 * UIDL given twice keeps its last time; a line of another shape is a problem, the rest is read.
 */
export function parseGetmailOldmail(text: string, file: string): { uidls: SeenUidl[]; problems: Untranslated[] } {
  const seen = new Map<string, number>();
  const problems: Untranslated[] = [];
  text.split(/\r\n|\r|\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const nul = line.indexOf('\0');
    const seconds = nul > 0 ? pythonInt(line.slice(nul + 1), 'int()') : null;
    if (seconds === null) {
      problems.push({ file, line: i + 1, text: line.replaceAll('\0', '\\0'), why: 'not "UIDL\\0SECONDS" as getmail writes it; getmail skips it too' });
      return;
    }
    seen.set(line.slice(0, nul), seconds * 1000);
  });
  return { uidls: [...seen].map(([uidl, firstSeen]) => ({ uidl, firstSeen })), problems };
}

/**
 * Where getmail looks (/usr/bin/getmail): $XDG_CONFIG_HOME/getmail (~/.config/getmail) if
 * it exists, else ~/.getmail. Its rc files: every getmailrc* there (getmail reads
 * getmailrc by default, others given with --rcfile) but editor backups ending in "~"; with
 * none, what getmail reads then: every file but oldmail-*, *.json and dot files. Sorted;
 * none when the directory is missing.
 */
export function getmailRcFiles(home: string, env: NodeJS.ProcessEnv): { getmaildir: string; files: string[] } {
  const xdg = path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'getmail');
  const getmaildir = isDirectory(xdg) ? xdg : path.join(home, '.getmail');
  let names: string[];
  try {
    names = readdirSync(getmaildir).filter((n) => isFile(path.join(getmaildir, n)));
  } catch {
    return { getmaildir, files: [] };
  }
  const rcs = names.filter((n) => n.startsWith('getmailrc') && !n.endsWith('~'));
  const chosen = rcs.length ? rcs : names.filter((n) => !n.startsWith('oldmail-') && !n.endsWith('.json') && !n.startsWith('.'));
  return { getmaildir, files: chosen.sort().map((n) => path.join(getmaildir, n)) };
}

const isDirectory = (p: string): boolean => statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
const isFile = (p: string): boolean => statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
