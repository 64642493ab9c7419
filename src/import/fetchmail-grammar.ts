/**
 * Parser: rcfile_y.y's statements, entries and options. Tokens to entries, each option as
 * the file has it: what pinchmail makes of them is fetchmail-translate.ts's.
 */
import type { Token, TokenKind } from './fetchmail-lexer.js';

export type OptValue = string | number | boolean | string[];

/** One option as the file has it: fetchmail's value, and where it is for "not translated". */
export interface Opt {
  key: string;
  value: OptValue;
  line: number;
  text: string;
}

export interface UserEntry {
  line: number;
  text: string;
  /** Every option of this user, "user" (the login) and "localnames" (is/to) among them; a key may repeat. */
  options: Opt[];
}

export interface Entry {
  verb: 'poll' | 'skip' | 'defaults';
  name: string;
  line: number;
  text: string;
  server: Opt[];
  users: UserEntry[];
}

/**
 * A line fetchmail itself would refuse: the file does not parse there. Thrown to unwind to
 * parseRc, which takes it; not an Error, whose stack trace, captured at each of a hostile
 * file's many syntax errors, cost more than all the rest of reading it.
 */
class RcSyntaxError {
  constructor(
    readonly token: Token | undefined,
    readonly why: string,
  ) {}
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
  /** Each token's place, for shown(): made at the first syntax error, where looking each up was a scan of them all. */
  private places: Map<Token, number> | null = null;
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

  /**
   * The token as a syntax error may show it. A word right after a password's on its line
   * may be a piece of it (the lexer splits an unquoted password at a blank, ":" or ","), so
   * it is never shown; a keyword there is not a piece of one.
   */
  shown(token: Token): Token {
    if (token.kind === 'keyword') return token;
    this.places ??= new Map(this.tokens.map((t, j) => [t, j]));
    // A token not among them (one expect() has already masked) has nothing before it to look at.
    for (let j = (this.places.get(token) ?? -1) - 1; j >= 0 && this.tokens[j]!.line === token.line; j--) {
      const t = this.tokens[j]!;
      if (t.kind === 'keyword') return SECRET.has(t.value) ? { ...token, raw: '********' } : token;
    }
    return token;
  }

  /** Skips what follows a syntax error up to the next statement, past the one that failed at `start`. */
  resync(start: number): void {
    if (this.i === start) this.i++;
    while (!this.atStatement()) this.i++;
  }
}

/** What an rc file holds: `set` statements and entries, and the places fetchmail would refuse it. */
export interface RcFile {
  sets: Opt[];
  entries: Entry[];
  errors: { token: Token | undefined; why: string }[];
}

export function parseRc(tokens: Token[], source: string): RcFile {
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
      rc.errors.push({ token: err.token && c.shown(err.token), why: err.why });
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
