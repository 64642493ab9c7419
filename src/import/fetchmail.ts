/**
 * fetchmail's files: ~/.fetchmailrc (accounts) and ~/.fetchids (UIDLs), read as fetchmail
 * 6.4 reads them (rcfile_l.l, rcfile_y.y, fetchmail.c's load_params and optmerge, uid.c).
 * The rc file is free-form tokens, newlines meaning nothing: `set` statements, then entries
 * `poll|skip HOST server-options user-descriptions-and-options`, a first `defaults` entry
 * filling in what later entries leave unset. Each user of an entry is one pinchmail account.
 */
import path from 'node:path';
import { accountName, type ImportedAccount, type SeenUidl, type Untranslated } from './model.js';

// ---------------------------------------------------------------------------------------
// Lexer: rcfile_l.l, longest match first, ties to the earlier rule, as flex does.
// ---------------------------------------------------------------------------------------

type TokenKind = 'keyword' | 'authtype' | 'proto' | 'string' | 'number' | 'map';

interface Token {
  kind: TokenKind;
  /** A keyword's canonical name ("protocol" for proto), a string's text with escapes done. */
  value: string;
  /** As the file has it, for "not translated" lines. */
  raw: string;
  line: number;
  /** Where it is in the file: "not translated" lines quote the file from an option's first token to its last. */
  start: number;
  end: number;
}

/** The lexer's start conditions: NAME makes the next word a string whatever it spells, AUTH reads "password" as a login method. */
type LexState = 'initial' | 'name' | 'auth';

/** Keywords as whole words (a longer word is a string: flex's longest match), with the state each one enters. */
const KEYWORDS: [RegExp, string, TokenKind, LexState?][] = [
  ...['set', 'logfile', 'idfile', 'pidfile', 'daemon', 'syslog', 'invisible', 'showdots', 'postmaster', 'bouncemail', 'spambounce', 'softbounce', 'warnings', 'tracepolls', 'defaults', 'poll', 'skip', 'via', 'aka', 'service', 'port', 'interval', 'timeout', 'envelope', 'qvirtual', 'principal', 'esmtpname', 'esmtppassword', 'bad-header', 'accept', 'reject', 'fetchdomains', 'smtpaddress', 'smtpname', 'antispam', 'mda', 'bsmtp', 'lmtp', 'interface', 'monitor', 'plugin', 'plugout', 'batchlimit', 'fetchlimit', 'fetchsizelimit', 'fastuidl', 'expunge', 'properties', 'here', 'there', 'no', 'keep', 'flush', 'limitflush', 'fetchall', 'rewrite', 'forcecr', 'stripcr', 'dropstatus', 'dropdelivered', 'idle', 'dns', 'uidl', 'ssl', 'sslkey', 'sslcert', 'sslproto', 'sslcertck', 'sslcertfile', 'sslcertpath', 'sslcommonname', 'sslfingerprint', 'checkalias', 'limit'].map(
    (k): [RegExp, string, TokenKind] => [new RegExp(`^${k.replace('-', '\\-')}$`), k, 'keyword'],
  ),
  [/^server$/, 'poll', 'keyword'],
  [/^local(domains)?$/, 'localdomains', 'keyword'],
  [/^proto(col)?$/, 'protocol', 'keyword'],
  [/^(pre)?auth(enticate)?$/, 'auth', 'keyword', 'auth'],
  [/^any$/, 'any', 'authtype', 'initial'],
  [/^gssapi$/, 'gssapi', 'authtype', 'initial'],
  [/^kerberos(_v)?4$|^kerberos$/, 'kerberos_v4', 'authtype', 'initial'],
  [/^kerberos(_v)?5$/, 'kerberos_v5', 'authtype', 'initial'],
  [/^ssh$/, 'ssh', 'authtype', 'initial'],
  [/^external$/, 'external', 'authtype', 'initial'],
  [/^(otp|opie)$/, 'otp', 'authtype', 'initial'],
  [/^cram(-md5)?$/, 'cram-md5', 'authtype', 'initial'],
  [/^msn$/, 'msn', 'authtype', 'initial'],
  [/^ntlm$/, 'ntlm', 'authtype', 'initial'],
  [/^user(name)?$/, 'user', 'keyword', 'name'],
  [/^folders?$/, 'folder', 'keyword'],
  [/^smtp(host)?$/, 'smtphost', 'keyword'],
  [/^pre(connect)?$/, 'preconnect', 'keyword'],
  [/^post(connect)?$/, 'postconnect', 'keyword'],
  [/^is$/, 'is', 'keyword', 'name'],
  [/^to$/, 'to', 'keyword', 'name'],
  [/^pass8(bits)?$/, 'pass8bits', 'keyword'],
  [/^mimedec(ode)?$/, 'mimedecode', 'keyword'],
  [/^(auto|AUTO|pop2|POP2|sdps|SDPS|pop3|POP3|imap|IMAP|apop|APOP|rpop|RPOP|etrn|ETRN|odmr|ODMR|kpop|KPOP)$/, '', 'proto'],
];

/** Words the lexer splits into "no" and the rest ("nokeep" is "no keep"). */
const NO_WORDS = /^no(bouncemail|uidl|checkalias|dns|envelope|keep|flush|limitflush|fetchall|rewrite|forcecr|stripcr|pass8(bits)?|dropstatus|dropdelivered|mimedec(ode)?|spambounce|idle)$/;
const NOISE = new Set(['with', 'and', 'has', 'wants', 'options']);
/** An unquoted word: anything up to a blank or one of = ; : , */
const WORD = /[^=;:, \t\r\n]+/y;

/** fetchmail's escapes(): \n \t \b \r \\, \ before a newline joins lines, \xhh, \0oo (octal, the 0 one of 3 digits), \ddd (decimal), \c is c. */
function unescape(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; ) {
    if (text[i] !== '\\' || i + 1 >= text.length) {
      if (text[i] !== '\\') out += text[i];
      i++;
      continue;
    }
    const c = text[i + 1]!;
    if (/[0-9xX]/.test(c)) {
      const [digits, base, skip] = c === 'x' || c === 'X' ? [/^[0-9a-fA-F]{0,2}/, 16, 2] : c === '0' ? [/^[0-7]{0,3}/, 8, 1] : [/^[0-9]{0,3}/, 10, 1];
      const m = digits.exec(text.slice(i + skip))![0];
      out += String.fromCharCode(m ? parseInt(m, base) % 256 : 0);
      i += skip + m.length;
      continue;
    }
    if (c !== '\n') out += ({ n: '\n', t: '\t', b: '\b', r: '\r' } as Record<string, string>)[c] ?? c;
    i += 2;
  }
  // fetchmail's strings are C strings: an escaped NUL ends one.
  return out.split('\0')[0]!;
}

/** The tokens of an rc file, noise words and punctuation dropped. */
function lex(text: string): Token[] {
  const tokens: Token[] = [];
  let state: LexState = 'initial';
  let line = 1;
  let i = 0;
  const push = (kind: TokenKind, value: string, raw: string, length = raw.length): void => void tokens.push({ kind, value, raw, line, start: i, end: i + length });
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === ';' || c === ':' || c === ',') {
      i++;
    } else if (c === '\n') {
      line++;
      i++;
    } else if ((c === '#' && text.includes('\n', i)) || (c === '\\' && text[i + 1] === '\n')) {
      // A comment runs to the end of its line; one at the end of a file with no newline is a word, as in flex.
      i = text.indexOf('\n', i);
    } else if (c === '=') {
      push('map', '=', '=');
      state = 'name';
      i++;
    } else {
      WORD.lastIndex = i;
      const word = WORD.exec(text)?.[0] ?? c;
      const close = c === '"' || c === "'" ? text.indexOf(c, i + 1) : -1;
      if (close > 0 && close - i + 1 >= word.length) {
        // A quoted string, unless the unquoted word from the same place is longer ("a\"b" is a word).
        const raw = text.slice(i, close + 1);
        push('string', unescape(raw.slice(1, -1)), raw);
        line += raw.split('\n').length - 1;
        state = 'initial';
        i = close + 1;
        continue;
      }
      state = lexWord(word, state, push);
      i += word.length;
    }
  }
  return tokens;
}

/** One unquoted word as a token (or none, for a noise word); the lexer's state after it. */
function lexWord(word: string, state: LexState, push: (kind: TokenKind, value: string, raw: string, length?: number) => void): LexState {
  if (state === 'name') {
    push('string', unescape(word), word);
    return 'initial';
  }
  if (NO_WORDS.test(word)) {
    // "nokeep" is NO, then "keep" read again (flex's yyless(2)); the file's spelling stays on NO.
    push('keyword', 'no', word);
    return lexWord(word.slice(2), state, (kind, value) => push(kind, value, '', word.length));
  }
  if (state === 'auth' && word === 'password') {
    push('authtype', 'password', word);
    return 'initial';
  }
  if (NOISE.has(word)) return state;
  // "pass" and "password" are keywords everywhere but after "auth".
  if (/^pass(word)?$/.test(word) && state !== 'auth') {
    push('keyword', 'password', word);
    return 'name';
  }
  const keyword = KEYWORDS.find(([re]) => re.test(word));
  if (keyword) {
    const [, value, kind, next] = keyword;
    push(kind, kind === 'proto' ? word.toUpperCase() : value, word);
    return next ?? state;
  }
  if (/^-?[0-9]+$/.test(word)) push('number', word, word);
  else push('string', unescape(word), word);
  return state;
}

// ---------------------------------------------------------------------------------------
// Parser: rcfile_y.y's statements, entries and options.
// ---------------------------------------------------------------------------------------

type OptValue = string | number | boolean | string[];

/** One option as the file has it: fetchmail's value, and where it is for "not translated". */
interface Opt {
  key: string;
  value: OptValue;
  line: number;
  text: string;
}

interface UserEntry {
  line: number;
  text: string;
  /** Every option of this user, "user" (the login) and "localnames" (is/to) among them; a key may repeat. */
  options: Opt[];
}

interface Entry {
  verb: 'poll' | 'skip' | 'defaults';
  name: string;
  line: number;
  text: string;
  server: Opt[];
  users: UserEntry[];
}

/** A line fetchmail itself would refuse: the file does not parse there. */
class RcSyntaxError extends Error {
  constructor(
    readonly token: Token | undefined,
    readonly why: string,
  ) {
    super(why);
  }
}

/** Options whose argument is a secret: shown as ******** in any line printed. */
const SECRET = new Set(['password', 'esmtppassword']);

const SERVER_STRING = new Set(['via', 'principal', 'esmtpname', 'esmtppassword', 'qvirtual', 'interface', 'monitor', 'plugin', 'plugout']);
const SERVER_NUMBER = new Set(['port', 'interval', 'timeout']);
const SERVER_LIST = new Set(['aka', 'localdomains']);
const SERVER_FLAGS = new Set(['uidl', 'checkalias', 'dns', 'tracepolls']);
const SERVER_NO = new Set(['uidl', 'checkalias', 'dns', 'envelope', 'tracepolls']);
const USER_STRING = new Set(['password', 'smtpaddress', 'smtpname', 'mda', 'bsmtp', 'preconnect', 'postconnect', 'sslkey', 'sslcert', 'sslproto', 'sslcertfile', 'sslcertpath', 'sslcommonname', 'sslfingerprint', 'properties']);
const USER_LIST = new Set(['folder', 'smtphost', 'fetchdomains']);
const USER_NUMBER = new Set(['limit', 'warnings', 'fetchlimit', 'fetchsizelimit', 'fastuidl', 'batchlimit', 'expunge']);
const USER_FLAGS = new Set(['keep', 'flush', 'limitflush', 'fetchall', 'rewrite', 'forcecr', 'stripcr', 'pass8bits', 'dropstatus', 'dropdelivered', 'mimedecode', 'idle', 'ssl', 'sslcertck']);
const STATEMENT_START = new Set(['set', 'poll', 'skip', 'defaults']);

const EXPECTED: Record<TokenKind, string> = { number: 'a number', string: 'a string', proto: 'a protocol', authtype: 'a login method', keyword: 'a keyword', map: '"="' };

/** Reads tokens in order; each method takes what one grammar rule takes, or throws RcSyntaxError. */
class Cursor {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly source: string,
  ) {}

  /** The file's text from the first token to the last, on one line; a secret argument as ********. */
  text(tokens: Token[]): string {
    const first = tokens[0]!;
    if (SECRET.has(first.value) && first.kind === 'keyword' && tokens.length > 1) return `${first.raw} ********`;
    return this.source.slice(first.start, tokens.at(-1)!.end).replace(/\s+/g, ' ');
  }

  opt(key: string, value: OptValue, tokens: Token[]): Opt {
    return { key, value, line: tokens[0]!.line, text: this.text(tokens) };
  }

  get position(): number {
    return this.i;
  }

  peek(offset = 0): Token | undefined {
    return this.tokens[this.i + offset];
  }

  next(): Token {
    const t = this.tokens[this.i];
    if (!t) throw new RcSyntaxError(undefined, 'the file ends in the middle of an option');
    this.i++;
    return t;
  }

  isKeyword(value: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t?.kind === 'keyword' && t.value === value;
  }

  atStatement(): boolean {
    const t = this.peek();
    return !t || (t.kind === 'keyword' && STATEMENT_START.has(t.value));
  }

  expect(kind: TokenKind, after: Token): Token {
    const t = this.peek();
    if (t?.kind !== kind) {
      // What stands where a password should is likely the password: never printed.
      const shown = t && SECRET.has(after.value) ? { ...t, raw: '********' } : t;
      throw new RcSyntaxError(shown, `${EXPECTED[kind]} should follow "${after.raw}"`);
    }
    return this.next();
  }

  /** One or more strings (aka, folder, smtphost lists). */
  strings(after: Token): Token[] {
    const list = [this.expect('string', after)];
    while (this.peek()?.kind === 'string') list.push(this.next());
    return list;
  }

  /** Skips what follows a syntax error up to the next statement, past the one that failed at `start`. */
  resync(start: number): void {
    if (this.i === start) this.i++;
    while (!this.atStatement()) this.i++;
  }
}

/** What an rc file holds: `set` statements and entries, and the places fetchmail would refuse it. */
interface RcFile {
  sets: Opt[];
  entries: Entry[];
  errors: { token: Token | undefined; why: string }[];
}

function parseRc(tokens: Token[], source: string): RcFile {
  const c = new Cursor(tokens, source);
  const rc: RcFile = { sets: [], entries: [], errors: [] };
  while (c.peek()) {
    const start = c.position;
    try {
      if (c.isKeyword('set')) rc.sets.push(parseSet(c));
      else if (c.isKeyword('poll') || c.isKeyword('skip') || c.isKeyword('defaults')) rc.entries.push(parseEntry(c));
      else throw new RcSyntaxError(c.peek(), '"poll", "skip", "defaults" or "set" should come here');
    } catch (err) {
      if (!(err instanceof RcSyntaxError)) throw err;
      rc.errors.push({ token: err.token, why: err.why });
      c.resync(start);
    }
  }
  return rc;
}

/** `set NAME [=] VALUE` or `set [no] FLAG`. */
function parseSet(c: Cursor): Opt {
  const set = c.next();
  const no = c.isKeyword('no') ? [c.next()] : [];
  const name = c.next();
  const withValue = ['logfile', 'idfile', 'pidfile', 'postmaster', 'properties', 'daemon'];
  if (name.kind !== 'keyword' || (no.length && withValue.includes(name.value))) throw new RcSyntaxError(name, 'not a global option fetchmail knows');
  if (!withValue.includes(name.value)) {
    if (!['bouncemail', 'spambounce', 'softbounce', 'syslog', 'invisible', 'showdots'].includes(name.value)) throw new RcSyntaxError(name, 'not a global option fetchmail knows');
    return c.opt(name.value, no.length === 0, [set, ...no, name]);
  }
  const map = c.peek()?.kind === 'map' ? [c.next()] : [];
  const arg = c.expect(name.value === 'daemon' ? 'number' : 'string', name);
  return c.opt(name.value, name.value === 'daemon' ? Number(arg.value) : arg.value, [set, name, ...map, arg]);
}

/** `poll|skip HOST` or `defaults`, its server options, then its users. */
function parseEntry(c: Cursor): Entry {
  const verb = c.next();
  const name = verb.value === 'defaults' ? verb : c.expect('string', verb);
  const entry: Entry = { verb: verb.value as Entry['verb'], name: verb.value === 'defaults' ? 'defaults' : name.value, line: verb.line, text: c.text([verb, name]), server: [], users: [] };
  for (let opt = serverOption(c); opt; opt = serverOption(c)) entry.server.push(opt);
  if (c.isKeyword('user')) {
    while (c.isKeyword('user')) entry.users.push(userOptions(c, userDescription(c)));
  } else if (isUserOption(c)) {
    // Options with no "user": one user, logging in as whoever runs fetchmail.
    entry.users.push(userOptions(c, { line: c.peek()!.line, text: entry.text, options: [] }));
  }
  if (!c.atStatement()) {
    const saved = c.peek();
    if (serverOption(c)) throw new RcSyntaxError(saved, 'a server option after user options');
    throw new RcSyntaxError(saved, 'not an option fetchmail knows here');
  }
  return entry;
}

/** One server option, or null when the next token starts none. */
function serverOption(c: Cursor): Opt | null {
  const t = c.peek();
  if (!t || t.kind !== 'keyword') return null;
  const k = t.value;
  if (k === 'no' && c.peek(1)?.kind === 'keyword' && SERVER_NO.has(c.peek(1)!.value)) {
    const no = c.next();
    const what = c.next();
    return c.opt(what.value, false, [no, what]);
  }
  if (SERVER_FLAGS.has(k)) return c.opt(k, true, [c.next()]);
  if (SERVER_STRING.has(k)) {
    c.next();
    const arg = c.expect('string', t);
    return c.opt(k, arg.value, [t, arg]);
  }
  if (SERVER_NUMBER.has(k)) {
    c.next();
    const arg = c.expect('number', t);
    return c.opt(k, Number(arg.value), [t, arg]);
  }
  if (SERVER_LIST.has(k)) {
    c.next();
    const args = c.strings(t);
    return c.opt(k, args.map((a) => a.value), [t, ...args]);
  }
  return serverOptionWithForms(c, t);
}

/** Server options whose argument takes more than one form. */
function serverOptionWithForms(c: Cursor, t: Token): Opt | null {
  const k = t.value;
  if (k === 'service') {
    c.next();
    const arg = c.peek()?.kind === 'number' ? c.next() : c.expect('string', t);
    // "port" and "service" set one field: the later wins.
    return c.opt('port', arg.value, [t, arg]);
  }
  if (k === 'protocol') {
    c.next();
    const arg = c.expect('proto', t);
    return c.opt(k, arg.value, [t, arg]);
  }
  if (k === 'auth') {
    c.next();
    const arg = c.expect('authtype', t);
    return c.opt(k, arg.value, [t, arg]);
  }
  if (k === 'envelope') {
    c.next();
    const count = c.peek()?.kind === 'number' ? [c.next()] : [];
    const arg = c.expect('string', t);
    return c.opt(k, arg.value, [t, ...count, arg]);
  }
  if (k === 'bad-header') {
    c.next();
    const arg = c.next();
    if (arg.kind !== 'keyword' || (arg.value !== 'accept' && arg.value !== 'reject')) throw new RcSyntaxError(arg, '"accept" or "reject" should follow "bad-header"');
    return c.opt(k, arg.value, [t, arg]);
  }
  return null;
}

/** `user NAME [there]` (the login) or `user LOCAL... here` (local names; the login then comes from "is NAME there"). */
function userDescription(c: Cursor): UserEntry {
  const user = c.next();
  const names = mappings(c, user);
  const entry: UserEntry = { line: user.line, text: c.text([user, ...names.tokens]), options: [] };
  if (c.isKeyword('here')) {
    const here = c.next();
    entry.options.push(c.opt('localnames', names.values, [user, ...names.tokens, here]));
  } else if (names.values.length === 1 && names.tokens.length === 1) {
    const there = c.isKeyword('there') ? [c.next()] : [];
    entry.options.push(c.opt('user', names.values[0]!, [user, ...names.tokens, ...there]));
  } else {
    throw new RcSyntaxError(c.peek(), '"here" should follow several names');
  }
  return entry;
}

/** NAME or SERVERNAME=LOCALNAME, one or more; a mapping is kept as "a=b". */
function mappings(c: Cursor, after: Token): { values: string[]; tokens: Token[] } {
  const values: string[] = [];
  const tokens: Token[] = [];
  do {
    const name = c.expect('string', after);
    tokens.push(name);
    if (c.peek()?.kind === 'map') {
      const map = c.next();
      const local = c.expect('string', map);
      tokens.push(map, local);
      values.push(`${name.value}=${local.value}`);
    } else {
      values.push(name.value);
    }
  } while (c.peek()?.kind === 'string');
  return { values, tokens };
}

function isUserOption(c: Cursor): boolean {
  const t = c.peek();
  if (t?.kind !== 'keyword') return false;
  if (t.value === 'no') return c.peek(1)?.kind === 'keyword' && USER_FLAGS.has(c.peek(1)!.value);
  return ['to', 'is', 'lmtp', 'antispam'].includes(t.value) || USER_STRING.has(t.value) || USER_LIST.has(t.value) || USER_NUMBER.has(t.value) || USER_FLAGS.has(t.value);
}

/** A user's options, up to the next user, entry or statement. */
function userOptions(c: Cursor, user: UserEntry): UserEntry {
  while (isUserOption(c)) user.options.push(userOption(c));
  return user;
}

function userOption(c: Cursor): Opt {
  const t = c.next();
  const k = t.value;
  if (k === 'is' || k === 'to') {
    const names = mappings(c, t);
    if (k === 'is' && c.isKeyword('there') && names.tokens.length === 1) return c.opt('user', names.values[0]!, [t, ...names.tokens, c.next()]);
    const here = c.isKeyword('here') ? [c.next()] : [];
    return c.opt('localnames', names.values, [t, ...names.tokens, ...here]);
  }
  if (k === 'no') {
    const what = c.next();
    return c.opt(what.value, false, [t, what]);
  }
  if (USER_FLAGS.has(k) || k === 'lmtp') return c.opt(k, true, [t]);
  if (USER_STRING.has(k)) {
    const arg = c.expect('string', t);
    return c.opt(k, arg.value, [t, arg]);
  }
  if (USER_NUMBER.has(k)) {
    const arg = c.expect('number', t);
    return c.opt(k, Number(arg.value), [t, arg]);
  }
  if (k === 'antispam') {
    const codes = [c.expect('number', t)];
    while (c.peek()?.kind === 'number') codes.push(c.next());
    return c.opt(k, codes.map((n) => n.value), [t, ...codes]);
  }
  const args = c.strings(t);
  return c.opt(k, args.map((a) => a.value), [t, ...args]);
}

// ---------------------------------------------------------------------------------------
// Translation: one fetchmail user (its entry's and the defaults' options merged) to one account.
// ---------------------------------------------------------------------------------------

/** Options fetchmail keeps as lists: a later one adds to an earlier one, and defaults apply only to an entry with none. */
const LIST_KEYS = new Set(['aka', 'localdomains', 'folder', 'smtphost', 'fetchdomains', 'localnames', 'antispam']);

/**
 * One user's options as fetchmail's optmerge leaves them: the user's own, then its entry's
 * server options, then the defaults entry's, each key from the first layer that sets it.
 */
class Settings {
  private readonly byKey = new Map<string, Opt[]>();
  constructor(layers: Opt[][]) {
    for (const layer of layers) {
      const own = new Map<string, Opt[]>();
      for (const opt of layer) own.set(opt.key, LIST_KEYS.has(opt.key) ? [...(own.get(opt.key) ?? []), opt] : [opt]);
      for (const [key, opts] of own) if (!this.byKey.has(key)) this.byKey.set(key, opts);
    }
  }

  opt(key: string): Opt | undefined {
    return this.byKey.get(key)?.at(-1);
  }

  value(key: string): OptValue | undefined {
    return this.opt(key)?.value;
  }

  list(key: string): string[] {
    return (this.byKey.get(key) ?? []).flatMap((o) => o.value as string[]);
  }

  all(): Opt[] {
    return [...this.byKey.values()].flat();
  }
}

/** What translating one user needs besides its options. */
interface Context {
  file: string;
  /** Where relative paths in the rc file start: its directory (fetchmail's prependdir). */
  rcDir: string;
  localUser: string | undefined;
  invisible: boolean;
  untranslated: Untranslated[];
}

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
  stripcr: (o) => (o.value ? AS_THE_SERVER_HOLDS_IT : null),
  pass8bits: (o) => (o.value ? AS_THE_SERVER_HOLDS_IT : null),
  dropstatus: (o) => (o.value ? AS_THE_SERVER_HOLDS_IT : null),
  dropdelivered: (o) => (o.value ? AS_THE_SERVER_HOLDS_IT : null),
  mimedecode: (o) => (o.value ? AS_THE_SERVER_HOLDS_IT : null),
  idle: (o) => (o.value ? 'IDLE is IMAP\'s; pinchmail polls' : null),
  warnings: () => 'pinchmail mails no warnings about oversized messages',
  fetchsizelimit: () => 'pinchmail lists every size and UIDL once per run',
  fastuidl: () => 'pinchmail lists every size and UIDL once per run',
  batchlimit: () => 'pinchmail has no limit of messages per SMTP connection',
  expunge: () => 'pinchmail has no such setting',
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

/** Options that only SMTP/LMTP delivery reads: unused when fetchmail delivers to an mda or a BSMTP file. */
const SMTP_ONLY = ['smtphost', 'lmtp', 'smtpaddress', 'smtpname'];

/**
 * Every user of every poll and skip entry of `text` (an rc file at `file`), translated;
 * what does not translate is in `untranslated`, in the file's order. `localUser` is who
 * runs fetchmail (its FETCHMAILUSER, USER, LOGNAME or login name): the login and the local
 * recipient of a user that names none. `idfile` is the UIDLs file a `set idfile` names.
 */
export function parseFetchmailrc(
  text: string,
  file: string,
  home: string,
  localUser?: string,
): { accounts: ImportedAccount[]; untranslated: Untranslated[]; idfile?: string } {
  const untranslated: Untranslated[] = [];
  const rc = parseRc(lex(text), text);
  for (const { token, why } of rc.errors) {
    untranslated.push({ file, line: token?.line ?? text.split('\n').length, text: token?.raw ?? '', why: `${why}: a syntax error, at which fetchmail refuses the whole file; the import leaves out the entry or statement it is in` });
  }
  const rcDir = path.dirname(expandTilde(file, home));
  const ctx: Context = { file, rcDir, localUser, invisible: rc.sets.some((s) => s.key === 'invisible' && s.value === true), untranslated };
  const idfile = globals(rc.sets, ctx);
  const entries = usableEntries(rc.entries, ctx);
  const defaults = rc.entries[0]?.verb === 'defaults' ? rc.entries[0] : undefined;
  const defaultLayers = defaults ? [defaults.users[0]?.options ?? [], defaults.server] : [];
  const accounts = entries.flatMap((entry) =>
    (entry.users.length ? entry.users : [{ line: entry.line, text: entry.text, options: [] }]).map((user) =>
      translate(entry, user, new Settings([user.options, entry.server, ...defaultLayers]), entry.users.length > 1, ctx),
    ),
  );
  return { accounts, untranslated: untranslated.sort((a, b) => a.line - b.line), ...(idfile === undefined ? {} : { idfile }) };
}

/** The poll and skip entries; a defaults entry anywhere but first is one fetchmail refuses. */
function usableEntries(entries: Entry[], ctx: Context): Entry[] {
  for (const [i, e] of entries.entries()) {
    if (e.verb === 'defaults' && i > 0) ctx.untranslated.push({ file: ctx.file, line: e.line, text: e.text, why: 'fetchmail refuses a "defaults" entry that is not the first; its options are not applied' });
  }
  return entries.filter((e) => e.verb !== 'defaults');
}

/** `set` statements: the idfile they name, and a line for each of the others. */
function globals(sets: Opt[], ctx: Context): string | undefined {
  let idfile: string | undefined;
  for (const s of sets) {
    if (s.key === 'idfile') idfile = prependDir(String(s.value), ctx.rcDir);
    const why = GLOBAL_WHY[s.key]?.(s);
    if (why) ctx.untranslated.push({ file: ctx.file, line: s.line, text: s.text, why });
  }
  return idfile;
}

const GLOBAL_WHY: Record<string, (s: Opt) => string | null> = {
  daemon: (s) => `pinchmail daemon polls each account every "every" (default 5m); fetchmail's interval is "every": "${s.value}s"`,
  logfile: () => 'pinchmail logs to stderr (the journal, under systemd)',
  syslog: (s) => (s.value ? 'pinchmail logs to stderr (the journal, under systemd)' : null),
  pidfile: () => 'pinchmail locks each account itself and writes no PID file',
  postmaster: () => 'pinchmail sends no mail of its own (bounces, warnings)',
  bouncemail: () => 'pinchmail sends no bounces; "onFailure" takes a message a target keeps refusing',
  spambounce: (s) => (s.value ? 'pinchmail sends no bounces; "onFailure" takes a message a target keeps refusing' : null),
  softbounce: () => '"onFailure" decides what becomes of a message a target keeps refusing',
  showdots: (s) => (s.value ? 'pinchmail shows its own progress on a terminal' : null),
  properties: () => 'fetchmail itself ignores it',
  // invisible only changes the header note below; idfile is returned to the caller.
  invisible: () => null,
  idfile: () => null,
};

/** fetchmail's prependdir: a relative path is relative to the rc file's directory. */
const prependDir = (file: string, dir: string): string => (file === '' || file.startsWith('/') || file === '-' ? file : path.join(dir, file));
const expandTilde = (file: string, home: string): string => (file === '~' ? home : file.startsWith('~/') ? path.join(home, file.slice(2)) : file);

/** Protocols pinchmail can poll: fetchmail's POP3 and its variants that are POP3 with a password. */
const POP3_PROTOCOLS = new Set(['POP3', 'AUTO', 'APOP', 'SDPS']);

/** fetchmail's auth values pinchmail has; the others are logins pinchmail does not do. */
const AUTH: Record<string, string> = { any: 'auto', password: 'user', 'cram-md5': 'cram-md5' };

function translate(entry: Entry, user: UserEntry, s: Settings, severalUsers: boolean, ctx: Context): ImportedAccount {
  const login = (s.value('user') as string | undefined) ?? ctx.localUser;
  const name = accountName(severalUsers && login ? `${login}@${entry.name}` : entry.name);
  const skip = (opt: Opt | undefined, why: string): void => {
    if (opt) ctx.untranslated.push({ file: ctx.file, line: opt.line, text: opt.text, why: `account ${name}: ${why}` });
  };
  const problems: string[] = [];
  const host = (s.value('via') as string | undefined) ?? entry.name;
  const account: Record<string, unknown> = { name };
  if (entry.verb === 'skip') account.enabled = false;
  account.host = host;
  server(s, account, problems, skip);
  tls(s, account, ctx, skip);
  const password = credentials(login, s.value('password') as string | undefined, account, problems);
  // fetchmail deletes what it delivered unless told to keep it.
  account.retention = s.value('keep') === true ? 'never' : '0';
  perRun(s, account, skip);
  const lmtpPort = lmtpOnSmtpPort(s);
  if (lmtpPort) problems.push(`fetchmail itself refuses it: LMTP to ${lmtpPort}, on the SMTP port`);
  const deliver = delivery(s, ctx, skip);
  if (deliver.target) {
    const route = limitRules(s, deliver.target);
    if (route) account.route = route;
    else account.deliver = deliver.target;
  } else {
    problems.push(deliver.why!);
  }
  notes(entry, user, s, ctx, skip);
  unlisted(s, skip);
  const incomplete = problems.length ? problems.join('; ') : undefined;
  return { name, account, ...(password === undefined ? {} : { inlinePassword: password }), ...(incomplete ? { incomplete } : {}) };
}

/** The login and the password; a missing or unsendable one is a reason the account cannot go in. */
function credentials(login: string | undefined, password: string | undefined, account: Record<string, unknown>, problems: string[]): string | undefined {
  if (login) account.user = login;
  else problems.push(login === '' ? 'its user name is empty' : 'it names no user (fetchmail logs in as whoever runs it)');
  if (password === undefined) problems.push('it has no password (fetchmail reads it from ~/.netrc or asks for it)');
  else if (/[\r\n\0]/.test(password)) problems.push('its password holds a line break or NUL, which no POP3 command can carry');
  return password;
}

/** fetchlimit (0 or less: no limit) as maxMessagesPerRun; limitflush alone, which does nothing. */
function perRun(s: Settings, account: Record<string, unknown>, skip: (o: Opt | undefined, why: string) => void): void {
  const fetchlimit = s.value('fetchlimit') as number | undefined;
  if (fetchlimit !== undefined && fetchlimit > 0 && fetchlimit <= 10_000_000) account.maxMessagesPerRun = fetchlimit;
  else if (fetchlimit !== undefined && fetchlimit > 0) skip(s.opt('fetchlimit'), 'more than pinchmail\'s "maxMessagesPerRun" allows (10000000)');
  if (s.value('limitflush') === true && !(Number(s.value('limit')) > 0)) skip(s.opt('limitflush'), 'it acts only with "limit"');
}

/** protocol, port and auth. */
function server(s: Settings, account: Record<string, unknown>, problems: string[], skip: (o: Opt | undefined, why: string) => void): void {
  const protocol = (s.value('protocol') as string | undefined) ?? 'AUTO';
  if (!POP3_PROTOCOLS.has(protocol)) problems.push(protocol === 'KPOP' || protocol === 'RPOP' ? `pinchmail has no ${protocol} login` : `pinchmail speaks POP3 only; fetchmail polls this with ${protocol}`);
  if (protocol === 'SDPS') skip(s.opt('protocol'), 'pinchmail speaks plain POP3: Demon\'s SDPS envelope extension is not used');
  const port = s.opt('port');
  if (port) {
    const n = /^[0-9]+$/.test(String(port.value)) ? Number(port.value) : SERVICES[String(port.value)];
    if (n !== undefined && n >= 1 && n <= 65535) account.port = n;
    else skip(port, 'not a port number pinchmail can use; the port stays its default');
  }
  const auth = s.opt('auth');
  if (protocol === 'APOP') {
    // proto APOP logs in with APOP whatever "auth" says (pop3.c).
    account.auth = 'apop';
  } else if (auth && AUTH[String(auth.value)]) {
    account.auth = AUTH[String(auth.value)];
  } else if (auth) {
    skip(auth, `pinchmail has no ${String(auth.value)} login; it chooses the strongest the server offers ("auth": "auto")`);
  }
  const timeout = s.opt('timeout');
  if (timeout && Number(timeout.value) > 0) account.timeout = `${timeout.value}s`;
  // fetchmail.c: 0 is unset and -1 its command line's "default": both 300 s; below that setitimer refuses the value, so no timeout at all.
  else if (timeout) skip(timeout, Number(timeout.value) >= -1 ? 'fetchmail reads it as its default, 300 seconds; pinchmail\'s default is 60s' : 'fetchmail then has no timeout; pinchmail always has one (default 60s)');
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
function tls(s: Settings, account: Record<string, unknown>, ctx: Context, skip: (o: Opt | undefined, why: string) => void): void {
  const ssl = s.value('ssl') === true;
  const proto = s.opt('sslproto');
  account.tls = ssl ? 'implicit' : proto?.value === '' ? 'none' : 'starttls';
  const hidesPassword = account.auth === 'cram-md5' || account.auth === 'apop';
  if (!ssl && proto?.value === '' && !hidesPassword) skip(proto, 'fetchmail sends the password in clear text here; so does pinchmail ("tls": "none"), but only with "allowPlaintext": true, to add by hand');
  else if (proto && VERSION_PINS[String(proto.value).toLowerCase()]) skip(proto, VERSION_PINS[String(proto.value).toLowerCase()]!);
  const options: Record<string, unknown> = {};
  const ca = s.value('sslcertfile') as string | undefined;
  if (ca) options.ca = prependDir(ca, ctx.rcDir);
  const commonName = s.value('sslcommonname') as string | undefined;
  if (commonName) options.servername = commonName;
  const certck = s.opt('sslcertck');
  if (certck?.value === false) {
    if (s.opt('sslfingerprint')) {
      // fetchmail trusted only the pinned certificate: "insecure" would trust any, so pinchmail checks until the SHA-256 pin is written.
      skip(certck, 'with sslfingerprint, fetchmail accepted only the pinned certificate; pinchmail checks the certificate until its SHA-256 pin is written');
    } else {
      options.insecure = true;
      if (!ssl && proto === undefined) skip(certck, 'without TLS checks fetchmail goes on in clear text when the server offers no STLS; pinchmail\'s "starttls" then fails instead');
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

/** Where fetchmail delivers: a BSMTP file first, else the mda, else SMTP (or LMTP) to the smtphost list (default localhost). */
function delivery(s: Settings, ctx: Context, skip: (o: Opt | undefined, why: string) => void): { target?: Record<string, unknown>; why?: string } {
  const viaCommand = s.opt('bsmtp') ?? s.opt('mda');
  const unused = viaCommand?.key === 'bsmtp' ? [...SMTP_ONLY, 'mda'] : viaCommand ? SMTP_ONLY : [];
  for (const key of unused) skip(s.opt(key), `unused: fetchmail delivers with ${viaCommand!.key}`);
  if (s.opt('bsmtp')) {
    skipLocalNames(s, skip, 'fetchmail delivers to a BSMTP file');
    return { why: 'pinchmail writes no BSMTP file' };
  }
  const mda = s.value('mda') as string | undefined;
  if (mda !== undefined) return mdaTarget(mda, s, ctx, skip);
  return transferTarget(s, ctx, skip);
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

function skipLocalNames(s: Settings, skip: (o: Opt | undefined, why: string) => void, why: string): void {
  for (const opt of s.all().filter((o) => o.key === 'localnames')) skip(opt, `${why}; the local names are not used`);
}

/**
 * mda "CMD": run as fetchmail runs it, through /bin/sh. %T and %s become the local name
 * in single quotes (its own single quotes made _), as fetchmail's sink.c does; that is
 * exact for a single-drop user only. %F (the envelope sender) has no equivalent.
 */
function mdaTarget(mda: string, s: Settings, ctx: Context, skip: (o: Opt | undefined, why: string) => void): { target?: Record<string, unknown>; why?: string } {
  if (/%F/.test(mda)) return { why: 'its mda takes the envelope sender (%F), which pinchmail does not put into a command line; the command can read it from the Return-Path header' };
  if (!/%[sT]/.test(mda)) {
    skipLocalNames(s, skip, 'the mda is given no recipient (%T)');
    return { target: { command: mda } };
  }
  const local = localName(s, ctx);
  if (!local.name) return { why: `its mda takes the recipient (%T), and ${local.why}` };
  return { target: { command: mda.replace(/%[sT]/g, `'${local.name.replaceAll("'", '_')}'`) } };
}

/** SMTP or LMTP to the first of the smtphost list, for the one local recipient fetchmail would name in RCPT TO. */
function transferTarget(s: Settings, ctx: Context, skip: (o: Opt | undefined, why: string) => void): { target?: Record<string, unknown>; why?: string } {
  const hunt = s.list('smtphost');
  const smtphost = s.opt('smtphost');
  const first = hunt[0] ?? 'localhost';
  if (hunt.length > 1) skip(smtphost, `pinchmail delivers to one server, ${first}; fetchmail tried ${hunt.slice(1).join(', ')} when it was down`);
  const server = transferServer(first, s.value('lmtp') === true);
  if (!server.address) return { why: server.why! };
  const local = localName(s, ctx);
  if (!local.name) return { why: `it forwards by ${server.kind.toUpperCase()}, and ${local.why}` };
  // sink.c's rcpt_address: a name with @ as it is; else smtpname; else NAME@smtpaddress, or @ the smtphost (localhost for a socket).
  const smtpname = s.value('smtpname') as string | undefined;
  const to = local.name.includes('@') ? local.name : (smtpname ?? `${local.name}@${(s.value('smtpaddress') as string | undefined) ?? server.domain}`);
  if (!/^[^\s<>]+$/.test(to)) return { why: `its recipient ${JSON.stringify(to)} is not one address pinchmail can send RCPT TO` };
  if (server.remote) skip(smtphost, `fetchmail speaks plain ${server.kind.toUpperCase()} to ${server.domain}; pinchmail requires STARTTLS to a host that is not loopback (add "tls": "none" to the target if it offers none)`);
  return { target: { [server.kind]: server.address, to } };
}

/** One smtphost entry ("host", "host/port" or "/socket", fetchmail's spelling) as pinchmail's address. */
function transferServer(entry: string, lmtp: boolean): { kind: 'smtp' | 'lmtp'; address?: string; domain?: string; remote?: boolean; why?: string } {
  // An absolute path is an LMTP socket, "lmtp" or not.
  if (entry.startsWith('/')) return { kind: 'lmtp', address: `unix:${entry}`, domain: 'localhost' };
  const kind = lmtp ? 'lmtp' : 'smtp';
  const slash = entry.lastIndexOf('/');
  const [host, portName] = slash >= 0 ? [entry.slice(0, slash), entry.slice(slash + 1) || 'smtp'] : [entry, 'smtp'];
  const port = /^[0-9]+$/.test(portName) ? Number(portName) : ({ smtp: 25, lmtp: 24 } as Record<string, number>)[portName];
  if (port === undefined || port < 1 || port > 65535) return { kind, why: `its smtphost ${entry} has a port pinchmail cannot use` };
  if (!/^[A-Za-z0-9.-]+$|^[0-9A-Fa-f:.]+$/.test(host)) return { kind, why: `its smtphost ${entry} is not a host pinchmail can connect to` };
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return { kind, address, domain: host, remote: !/^(localhost|127(\.[0-9]+){3}|::1)$/i.test(host) };
}

/** The smtphost entry fetchmail's load_params refuses with "lmtp": one not a socket, on port 25 or none (whatever delivers). */
function lmtpOnSmtpPort(s: Settings): string | undefined {
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
function limitRules(s: Settings, deliver: Record<string, unknown>): unknown[] | null {
  const limit = s.value('limit') as number | undefined;
  // 0 (and less) is no limit.
  if (limit === undefined || limit <= 0) return null;
  const verdict = s.value('limitflush') === true ? 'kill' : 'skip';
  return [{ match: { sizeOver: String(limit) }, [verdict]: true }, { match: 'all', deliver }];
}

/** What fetchmail does to every message that pinchmail does not: a Received header (unless set invisible), and rewrite (its default). */
function notes(entry: Entry, user: UserEntry, s: Settings, ctx: Context, skip: (o: Opt | undefined, why: string) => void): void {
  const changes = [
    ...(ctx.invisible ? [] : ['adds a Received header']),
    ...(s.value('rewrite') === false ? [] : [`qualifies server-local addresses in To, From, Cc, Bcc and Reply-To (rewrite${s.opt('rewrite') ? '' : ', its default'})`]),
  ];
  const rewrite = s.opt('rewrite');
  const at = rewrite?.value === true ? rewrite : { key: 'user', value: '', line: user.line, text: user.text };
  if (changes.length) skip(at, `fetchmail ${changes.join(' and ')}; pinchmail delivers a message as the server holds it`);
  // AUTO tries IMAP first: a mailbox fetchmail kept over IMAP has no UIDLs in .fetchids.
  if ((s.value('protocol') ?? 'AUTO') === 'AUTO' && s.value('keep') === true) {
    skip(s.opt('protocol') ?? { key: 'poll', value: '', line: entry.line, text: entry.text }, 'fetchmail\'s protocol AUTO tries IMAP first; if it kept this mailbox\'s mail over IMAP, .fetchids has no UIDLs for it and pinchmail delivers what is on the server again');
  }
}

/** A line for every option that neither translates nor is named in NOT_TRANSLATED. */
function unlisted(s: Settings, skip: (o: Opt | undefined, why: string) => void): void {
  for (const opt of s.all()) {
    const why = NOT_TRANSLATED[opt.key];
    if (why) {
      const text = why(opt);
      if (text) skip(opt, text);
    } else if (!TRANSLATED.has(opt.key)) {
      skip(opt, 'not an option pinchmail has');
    }
  }
}

// ---------------------------------------------------------------------------------------
// .fetchids: uid.c's initialize_saved_lists.
// ---------------------------------------------------------------------------------------

/**
 * A .fetchids file: one "USER@HOST UIDL" line per message fetchmail saw and left on the
 * server (HOST is the entry's via, else its poll name). As uid.c splits it: the user@host
 * part ends at the first space after the first @, and splits at its last @ (a user may
 * hold @ and spaces, a UIDL @); the UIDL ends at a blank. fetchmail matches user and host
 * case-insensitively, so lines differing only in case are one mailbox, spelled as first seen.
 */
export function parseFetchids(text: string, file: string): { entries: { user: string; host: string; uidls: SeenUidl[] }[]; problems: Untranslated[] } {
  const byKey = new Map<string, { user: string; host: string; uidls: SeenUidl[]; seen: Set<string> }>();
  const problems: Untranslated[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const [i, raw] of lines.entries()) {
    const line = raw.replace(/\r$/, '');
    const parsed = fetchidsLine(line);
    if (!parsed) {
      // fetchmail skips a line it cannot split; so does the import, saying so (a blank line it never writes, so says nothing).
      if (line.trim() !== '') problems.push({ file, line: i + 1, text: line, why: 'not a "USER@HOST UIDL" line; fetchmail ignores it too' });
      continue;
    }
    const key = `${parsed.user.toLowerCase()}@${parsed.host.toLowerCase()}`;
    const box = byKey.get(key) ?? { user: parsed.user, host: parsed.host, uidls: [], seen: new Set<string>() };
    byKey.set(key, box);
    if (box.seen.has(parsed.uidl)) continue;
    box.seen.add(parsed.uidl);
    // .fetchids records no times: each UIDL counts from the import.
    box.uidls.push({ uidl: parsed.uidl, firstSeen: null });
  }
  return { entries: [...byKey.values()].map(({ user, host, uidls }) => ({ user, host, uidls })), problems };
}

function fetchidsLine(line: string): { user: string; host: string; uidl: string } | null {
  const start = line.length - line.replace(/^[ \t]+/, '').length;
  const firstAt = line.indexOf('@', start);
  const space = firstAt < 0 ? -1 : line.indexOf(' ', firstAt);
  if (space < 0) return null;
  const userHost = line.slice(start, space).replace(/[ \t]+$/, '');
  const uidl = line.slice(space).replace(/^ +/, '').split(/[ \t]/)[0]!;
  const lastAt = userHost.lastIndexOf('@');
  const user = userHost.slice(0, lastAt);
  const host = userHost.slice(lastAt + 1);
  if (!uidl || !host) return null;
  return { user, host, uidl };
}
