/** fetchmail's rc file as tokens. Lexer: rcfile_l.l, longest match first, ties to the earlier rule, as flex does. */

export type TokenKind = 'keyword' | 'authtype' | 'proto' | 'string' | 'number' | 'map';

export interface Token {
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

/**
 * Keywords as whole words (a longer word is a string: flex's longest match), each with every
 * spelling flex's rule takes ("auth", "authenticate", "preauth", "preauthenticate") and the
 * state it enters: looked up in one step, where trying each rule's pattern took a hundred.
 */
const KEYWORD_RULES: [string[], string, TokenKind, LexState?][] = [
  ...['set', 'logfile', 'idfile', 'pidfile', 'daemon', 'syslog', 'invisible', 'showdots', 'postmaster', 'bouncemail', 'spambounce', 'softbounce', 'warnings', 'tracepolls', 'defaults', 'poll', 'skip', 'via', 'aka', 'service', 'port', 'interval', 'timeout', 'envelope', 'qvirtual', 'principal', 'esmtpname', 'esmtppassword', 'bad-header', 'accept', 'reject', 'fetchdomains', 'smtpaddress', 'smtpname', 'antispam', 'mda', 'bsmtp', 'lmtp', 'interface', 'monitor', 'plugin', 'plugout', 'batchlimit', 'fetchlimit', 'fetchsizelimit', 'fastuidl', 'expunge', 'properties', 'here', 'there', 'no', 'keep', 'flush', 'limitflush', 'fetchall', 'rewrite', 'forcecr', 'stripcr', 'dropstatus', 'dropdelivered', 'idle', 'dns', 'uidl', 'ssl', 'sslkey', 'sslcert', 'sslproto', 'sslcertck', 'sslcertfile', 'sslcertpath', 'sslcommonname', 'sslfingerprint', 'checkalias', 'limit'].map(
    (k): [string[], string, TokenKind] => [[k], k, 'keyword'],
  ),
  [['server'], 'poll', 'keyword'],
  [['local', 'localdomains'], 'localdomains', 'keyword'],
  [['proto', 'protocol'], 'protocol', 'keyword'],
  [['auth', 'authenticate', 'preauth', 'preauthenticate'], 'auth', 'keyword', 'auth'],
  [['any'], 'any', 'authtype', 'initial'],
  [['gssapi'], 'gssapi', 'authtype', 'initial'],
  [['kerberos_v4', 'kerberos4', 'kerberos'], 'kerberos_v4', 'authtype', 'initial'],
  [['kerberos_v5', 'kerberos5'], 'kerberos_v5', 'authtype', 'initial'],
  [['ssh'], 'ssh', 'authtype', 'initial'],
  [['external'], 'external', 'authtype', 'initial'],
  [['otp', 'opie'], 'otp', 'authtype', 'initial'],
  [['cram', 'cram-md5'], 'cram-md5', 'authtype', 'initial'],
  [['msn'], 'msn', 'authtype', 'initial'],
  [['ntlm'], 'ntlm', 'authtype', 'initial'],
  [['user', 'username'], 'user', 'keyword', 'name'],
  [['folder', 'folders'], 'folder', 'keyword'],
  [['smtp', 'smtphost'], 'smtphost', 'keyword'],
  [['pre', 'preconnect'], 'preconnect', 'keyword'],
  [['post', 'postconnect'], 'postconnect', 'keyword'],
  [['is'], 'is', 'keyword', 'name'],
  [['to'], 'to', 'keyword', 'name'],
  [['pass8', 'pass8bits'], 'pass8bits', 'keyword'],
  [['mimedec', 'mimedecode'], 'mimedecode', 'keyword'],
  [['auto', 'AUTO', 'pop2', 'POP2', 'sdps', 'SDPS', 'pop3', 'POP3', 'imap', 'IMAP', 'apop', 'APOP', 'rpop', 'RPOP', 'etrn', 'ETRN', 'odmr', 'ODMR', 'kpop', 'KPOP'], '', 'proto'],
];
/** Each spelling's rule; where two rules took one spelling, the earlier (flex's tie). */
const KEYWORDS = new Map<string, [string, TokenKind, LexState?]>();
for (const [spellings, ...rule] of KEYWORD_RULES) for (const w of spellings) if (!KEYWORDS.has(w)) KEYWORDS.set(w, rule);

/** Words the lexer splits into "no" and the rest ("nokeep" is "no keep"). */
const NO_WORDS = /^no(bouncemail|uidl|checkalias|dns|envelope|keep|flush|limitflush|fetchall|rewrite|forcecr|stripcr|pass8(bits)?|dropstatus|dropdelivered|mimedec(ode)?|spambounce|idle)$/;
const NOISE = new Set(['with', 'and', 'has', 'wants', 'options']);
/** An unquoted word: anything up to a blank or one of = ; : , */
const WORD = /[^=;:, \t\r\n]+/y;

/** The digits an escape takes, each matched where it stands (sticky): \xhh, \0oo, \ddd. */
const HEX_DIGITS = /[0-9a-fA-F]{0,2}/y;
const OCTAL_DIGITS = /[0-7]{0,3}/y;
const DECIMAL_DIGITS = /[0-9]{0,3}/y;

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
      const [digits, base, skip] = c === 'x' || c === 'X' ? [HEX_DIGITS, 16, 2] : c === '0' ? [OCTAL_DIGITS, 8, 1] : [DECIMAL_DIGITS, 10, 1];
      digits.lastIndex = i + skip;
      const m = digits.exec(text)![0];
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
export function lex(text: string): Token[] {
  const tokens: Token[] = [];
  let state: LexState = 'initial';
  let line = 1;
  let i = 0;
  /** Whether a newline follows `i` is whether the last newline is past it: asked at each "#", it is looked for once. */
  const lastNewline = text.lastIndexOf('\n');
  const push = (kind: TokenKind, value: string, raw: string, length = raw.length): void => void tokens.push({ kind, value, raw, line, start: i, end: i + length });
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === ';' || c === ':' || c === ',') {
      i++;
    } else if (c === '\n') {
      line++;
      i++;
    } else if ((c === '#' && lastNewline > i) || (c === '\\' && text[i + 1] === '\n')) {
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
  const keyword = KEYWORDS.get(word);
  if (keyword) {
    const [value, kind, next] = keyword;
    push(kind, kind === 'proto' ? word.toUpperCase() : value, word);
    return next ?? state;
  }
  if (/^-?[0-9]+$/.test(word)) push('number', word, word);
  else push('string', unescape(word), word);
  return state;
}
