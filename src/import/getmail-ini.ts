/**
 * getmail6's rc files as Python reads them: the INI text through configparser's
 * RawConfigParser (Python 3.11, getmail's defaults: `=` and `:` delimiters, `#` and `;`
 * comments on lines of their own, keys lower-cased, no interpolation, strict), and the
 * values getmail then evaluates as Python (tuples of strings, integers, booleans, paths);
 * and the bookkeeping of a translation: what is said about each line, what was read.
 */
import path from 'node:path';
import { own, type Untranslated } from './model.js';

/** One `key = value`: the value as configparser joins its lines, and where it starts. */
export interface IniEntry {
  key: string;
  value: string;
  line: number;
  /** Its first line, trimmed, for "not translated". */
  text: string;
}

export interface IniSection {
  name: string;
  line: number;
  text: string;
  entries: Map<string, IniEntry>;
}

/** A line configparser refuses: getmail then refuses the whole file. */
export interface IniError {
  line: number;
  text: string;
  why: string;
}

export interface Ini {
  /** In the file's order; [DEFAULT] is not among them. */
  sections: Map<string, IniSection>;
  defaults: IniSection | null;
  errors: IniError[];
}

/** configparser's SECTCRE: `[` anything `]` (the last `]`). Anchored, one backtracking pass: linear. */
const SECTION = /^\[(.+)\]/;
/** What JavaScript's `.` does not match: the value configparser's OPTCRE reads may hold none of them. */
const LINE_END = /[\n\r\u2028\u2029]/;
const isLineEnd = (c: number): boolean => c === 10 || c === 13 || c === 0x2028 || c === 0x2029;
/** JavaScript's \s, by character code. */
const isSpace = (c: number): boolean =>
  c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
/** What a key line holds (`key`, as spelled; an empty one is no option) as configparser's OPTCRE reads it. */
interface OptionLine {
  key: string;
  value: string;
}

/**
 * configparser's OPTCRE (here as the regex /^(.*?)\s*([=:])\s*(.*)$/ read it): the key up
 * to the first `=` or `:` whose value runs to the end, blanks around the delimiter dropped.
 * In one pass over the line, where the regex backtracked quadratically over a run of blanks.
 */
export function readOption(line: string): OptionLine | null {
  // Where the first and the last line end are (none, as a rule: the file was split at \r and \n).
  let firstEnd = line.search(LINE_END);
  let lastEnd = firstEnd;
  if (firstEnd < 0) firstEnd = line.length;
  else for (let i = line.length - 1; i > firstEnd && lastEnd === firstEnd; i--) if (isLineEnd(line.charCodeAt(i))) lastEnd = i;
  /** Where the key ends: past its last non-blank so far. */
  let keyEnd = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 61 /* = */ || c === 58 /* : */) {
      // The key may hold no line end; nor may the value, or the regex tries the next delimiter.
      if (keyEnd > firstEnd) return null;
      let v = i + 1;
      while (v < line.length && isSpace(line.charCodeAt(v))) v++;
      if (v > lastEnd) return { key: line.slice(0, keyEnd), value: line.slice(v) };
    }
    if (!isSpace(c)) keyEnd = i + 1;
  }
  return null;
}

/** A key whose value may be a password ("password", "passwd", "password_command"): its value is never shown. */
export const secretKey = (key: string): boolean => key.toLowerCase().includes('pass');
export const MASK = '********';

/**
 * The sections of an rc file, as configparser's _read builds them. A line indented deeper
 * than the key line before it continues that value, even after blank lines (which become
 * empty lines of the value); a comment line is skipped without ending the value.
 */
export function readIni(text: string): Ini {
  const sections = new Map<string, IniSection>();
  let defaults: IniSection | null = null;
  const errors: IniError[] = [];
  /** configparser's elements_added: sections and keys read, for its strict mode's duplicate checks. */
  const seen = new Set<string>();
  let section: IniSection | null = null;
  /** Every value's lines, joined once the file is read (configparser's _join_multiline_values). */
  const values: { parts: string[]; entry: IniEntry }[] = [];
  let entry: { parts: string[]; entry: IniEntry } | null = null;
  let indentLevel = 0;
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    const comment = trimmed.startsWith('#') || trimmed.startsWith(';');
    if (comment || trimmed === '') {
      if (!comment && entry) entry.parts.push('');
      return;
    }
    const indent = raw.search(/\S/);
    if (section && entry && indent > indentLevel) {
      entry.parts.push(trimmed);
      return;
    }
    indentLevel = indent;
    const header = SECTION.exec(trimmed);
    if (header) {
      const name = header[1]!;
      if (name === 'DEFAULT') section = defaults ??= { name, line, text: trimmed, entries: new Map() };
      else {
        if (seen.has(name)) errors.push({ line, text: trimmed, why: `section [${name}] a second time (configparser's DuplicateSectionError)` });
        section = sections.get(name) ?? { name, line, text: trimmed, entries: new Map() };
        sections.set(name, section);
        seen.add(name);
      }
      entry = null;
      return;
    }
    const option = readOption(trimmed);
    if (!section) {
      errors.push({ line, text: shownLine(trimmed, option, false), why: 'a line before the first [section] (configparser\'s MissingSectionHeaderError)' });
      return;
    }
    // As configparser, a line it cannot read leaves the value before it open.
    if (!option || option.key === '') {
      errors.push({ line, text: shownLine(trimmed, null, entry !== null && secretKey(entry.entry.key)), why: 'not "key = value" (configparser\'s ParsingError)' });
      return;
    }
    const key = option.key.toLowerCase();
    const id = `${section.name}\0${key}`;
    const text = shownLine(trimmed, option, false);
    if (seen.has(id)) errors.push({ line, text, why: `"${key}" a second time in [${section.name}] (configparser's DuplicateOptionError)` });
    seen.add(id);
    entry = { parts: [option.value], entry: { key, value: '', line, text } };
    values.push(entry);
    section.entries.set(key, entry.entry);
  });
  for (const { parts, entry } of values) entry.value = parts.join('\n').trimEnd();
  return { sections, defaults, errors };
}

/**
 * A line as "not translated" shows it: never a password. A key line whose key holds "pass"
 * shows the key alone; a line configparser cannot read shows nothing after a word holding
 * "pass", and nothing at all within a password's value (`inSecret`: it may be a piece of it).
 */
function shownLine(trimmed: string, option: OptionLine | null, inSecret: boolean): string {
  if (inSecret) return MASK;
  if (option && option.key !== '') return secretKey(option.key) ? `${option.key} = ${MASK}` : trimmed;
  const at = trimmed.toLowerCase().indexOf('pass');
  if (at < 0) return trimmed;
  const wordEnd = trimmed.slice(at).search(/[\s=:]/);
  return wordEnd < 0 ? trimmed : `${trimmed.slice(0, at + wordEnd)} ${MASK}`;
}

/** configparser's getboolean and getmail's eval_bool, which take the same words. */
const BOOLEANS: Record<string, boolean> = { '1': true, yes: true, true: true, on: true, '0': false, no: false, false: false, off: false };

export function pythonBool(text: string): boolean | null {
  return own(BOOLEANS, text.toLowerCase()) ?? null;
}

/**
 * An integer as getmail reads it: options through int() (`"0995"`, `"+7"`, `"1_000"`), a
 * retriever's parameters through eval() (a Python literal: no leading zeros). Anything
 * else getmail either refuses or evaluates to something this does not try to follow.
 */
export function pythonInt(text: string, how: 'int()' | 'eval()'): number | null {
  const t = text.trim();
  const ok = how === 'int()' ? /^[+-]?\d+(_\d+)*$/.test(t) : /^(0(_?0)*|[1-9](_?\d)*)$/.test(t);
  return ok ? Number(t.replaceAll('_', '')) : null;
}

type PyValue = { str: string } | { tuple: PyValue[] };

/**
 * A tuple as getmail's ConfTupleOfStrings takes it: eval() of a Python tuple (parentheses
 * optional, a trailing comma allowed, the empty value as `()`), each item as str() gives it.
 * Only string literals and decimal integers are read: null for anything else, and for a
 * value that is no tuple (`('a')` is a string), which getmail refuses.
 */
export function pythonTuple(text: string): string[] | null {
  if (text.trim() === '') return [];
  const reader = new PyReader(text);
  try {
    const value = reader.list(true);
    reader.end();
    if (!('tuple' in value)) return null;
    const items = value.tuple.map((v) => ('str' in v ? v.str : null));
    return items.every((s): s is string => s !== null) ? items : null;
  } catch {
    return null;
  }
}

/** Python's tokenizer refuses more parentheses open at once (MAXLEVEL, "too many nested parentheses"). */
const MAX_NESTING = 200;
/** The tokens PyReader reads, each matched where it stands (sticky): no copy of the rest of the text. */
const NUMBER = /(0|[1-9](_?\d)*)(?![\w.])/y;
const STRING_START = /([rRuU]?)('''|"""|'|")/y;
const OCTAL = /[0-7]{1,3}/y;
const BLANKS = /(?:[ \t\f\n]+|\\\n|#[^\n]*)/y;

/** `re` (sticky) matched at `at` of `text`. */
function matchAt(re: RegExp, text: string, at: number): RegExpExecArray | null {
  re.lastIndex = at;
  return re.exec(text);
}

/** A reader of the few Python expressions getmailrc files hold; it throws on anything else. */
class PyReader {
  private at = 0;
  constructor(private readonly text: string) {}

  /** Items separated by commas: a tuple if there is a comma, else the one item. */
  list(top: boolean, depth = 0): PyValue {
    const items: PyValue[] = [];
    let comma = false;
    while (this.peek() !== ')' && this.peek() !== '') {
      items.push(this.item(depth));
      if (this.peek() !== ',') break;
      this.at++;
      comma = true;
    }
    if (!top && items.length === 0) return { tuple: [] };
    if (items.length === 0) throw new Error('empty');
    return comma ? { tuple: items } : items[0]!;
  }

  end(): void {
    if (this.peek() !== '') throw new Error('trailing text');
  }

  private item(depth: number): PyValue {
    const c = this.peek();
    if (c === '(') {
      if (depth >= MAX_NESTING) throw new Error('too many nested parentheses');
      this.at++;
      const inner = this.list(false, depth + 1);
      if (this.peek() !== ')') throw new Error('unclosed (');
      this.at++;
      return inner;
    }
    const number = matchAt(NUMBER, this.text, this.at);
    if (number) {
      this.at += number[0].length;
      return { str: number[0].replaceAll('_', '') };
    }
    // Adjacent string literals are one string.
    let str = this.string();
    while (this.atString()) str += this.string();
    return { str };
  }

  private string(): string {
    this.peek();
    const m = matchAt(STRING_START, this.text, this.at);
    if (!m) throw new Error('not a string');
    const raw = /r/i.test(m[1]!);
    const quote = m[2]!;
    this.at += m[0].length;
    let out = '';
    for (;;) {
      if (this.at >= this.text.length) throw new Error('unterminated string');
      if (this.text.startsWith(quote, this.at)) {
        this.at += quote.length;
        return out;
      }
      const c = this.text[this.at++]!;
      if (c === '\n' && quote.length === 1) throw new Error('newline in string');
      if (c !== '\\') out += c;
      else if (raw) out += c + (this.text[this.at++] ?? '');
      else out += this.escape();
    }
  }

  /** What follows a backslash in a (non-raw) Python string. */
  private escape(): string {
    const c = this.text[this.at++] ?? '';
    const simple: Record<string, string> = { '\n': '', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
    if (c in simple) return simple[c]!;
    const octal = matchAt(OCTAL, this.text, this.at - 1);
    if (octal) {
      this.at += octal[0].length - 1;
      return String.fromCodePoint(parseInt(octal[0], 8));
    }
    const width = { x: 2, u: 4, U: 8 }[c];
    if (width) {
      const hex = this.text.slice(this.at, this.at + width);
      if (!new RegExp(`^[0-9A-Fa-f]{${width}}$`).test(hex)) throw new Error('bad escape');
      this.at += width;
      return String.fromCodePoint(parseInt(hex, 16));
    }
    if (c === 'N') throw new Error('named escapes are not read');
    // Python keeps an unknown escape as it is.
    return `\\${c}`;
  }

  /** The next character past blanks, line continuations and comments ('' at the end). */
  private peek(): string {
    for (;;) {
      const skip = matchAt(BLANKS, this.text, this.at);
      // An empty match (a comment's lone "#" cannot be one) would not move on.
      if (!skip || skip[0] === '') return this.text[this.at] ?? '';
      this.at += skip[0].length;
    }
  }

  /** A string literal starts at the next token (what Python reads as adjacent strings). */
  private atString(): boolean {
    this.peek();
    return matchAt(STRING_START, this.text, this.at) !== null;
  }
}

/** The translation of one rc file under way: what is said about its lines, and what keeps it out of the config. */
export interface Context {
  file: string;
  home: string;
  ini: Ini;
  untranslated: Untranslated[];
  /** Entries dealt with (translated or listed): the rest are listed at the end as ignored. */
  read: Set<IniEntry>;
  /** In the order first said; a Set, as each is said once however often it is found. */
  blockers: Set<string>;
}

type At = { line: number; text: string };
export const note = (ctx: Context, at: At, why: string): void => void ctx.untranslated.push({ file: ctx.file, line: at.line, text: at.text, why });
export const block = (ctx: Context, why: string): void => void ctx.blockers.add(why);
/** A value getmail cannot read: it refuses the whole file, so this account never ran as written. */
export function refused(ctx: Context, at: IniEntry, why: string): void {
  note(ctx, at, `getmail refuses this: ${why}`);
  block(ctx, `getmail itself refuses this file (line ${at.line}: ${why})`);
}

export function take(ctx: Context, section: IniSection | undefined, key: string): IniEntry | undefined {
  const entry = section?.entries.get(key);
  if (entry) ctx.read.add(entry);
  return entry;
}

/** A retriever's integer parameter, which getmail reads with eval(); undefined when absent or not usable. */
export function intParameter(ctx: Context, entry: IniEntry | undefined, min: number, max: number): number | undefined {
  if (!entry) return undefined;
  const n = pythonInt(entry.value, 'eval()');
  if (n === null) refused(ctx, entry, 'not an integer');
  else if (n < min || n > max) note(ctx, entry, `pinchmail takes ${min} to ${max} here`);
  else return n;
  return undefined;
}

export function boolParameter(ctx: Context, entry: IniEntry | undefined): boolean {
  if (!entry) return false;
  const b = pythonBool(entry.value);
  if (b === null) refused(ctx, entry, 'not a boolean (true, false, yes, no, on, off, 1, 0)');
  return b ?? false;
}

/**
 * A path as getmail's expand_user_vars makes it ($VAR and ${VAR}, then ~), absolute; null,
 * said so and keeping the account out, where that needs more than $HOME and ~ or is relative.
 */
export function pathValue(ctx: Context, at: IniEntry, value: string, blocking = true): string | null {
  const expanded = expandUserVars(value, ctx.home);
  const why =
    expanded === null
      ? 'getmail expands this from its environment (a variable other than $HOME, or ~user): write the path it stands for'
      : !path.isAbsolute(expanded)
        ? 'a relative path, which getmail takes from the directory it runs in: write it in full'
        : null;
  if (why === null) return expanded;
  note(ctx, at, why);
  if (blocking) block(ctx, `its "${at.key}" is a path this import cannot make absolute`);
  return null;
}

/**
 * `$NAME` (the longest run of [A-Za-z0-9_]) and `${NAME}` (to the first `}`), left to right,
 * as the regex /\$(\w+|\{[^}]*\})/g finds them; only HOME is known. One pass: the next `}`
 * is looked for again only once passed, where the regex looked for it from every `${`.
 */
export function expandUserVars(value: string, home: string): string | null {
  let vars = '';
  let copied = 0;
  /** The first `}` at or after where it was last looked for; -1: none from there on. */
  let close = -2;
  for (let at = value.indexOf('$'); at >= 0; at = value.indexOf('$', at)) {
    let end = at + 1;
    while (end < value.length && isWordChar(value.charCodeAt(end))) end++;
    let name: string | null = end > at + 1 ? value.slice(at + 1, end) : null;
    if (name === null && value[at + 1] === '{') {
      if (close !== -1 && close < at + 2) close = value.indexOf('}', at + 2);
      if (close !== -1) [name, end] = [value.slice(at + 2, close), close + 1];
    }
    if (name === null) {
      // No variable here: the search goes on from the next character, as the regex's.
      at++;
      continue;
    }
    if (name !== 'HOME') return null;
    vars += value.slice(copied, at) + home;
    copied = at = end;
  }
  vars += value.slice(copied);
  if (/^~[^/]/.test(vars)) return null;
  if (!vars.startsWith('~')) return vars;
  let homeEnd = home.length;
  while (homeEnd > 0 && home[homeEnd - 1] === '/') homeEnd--;
  return home.slice(0, homeEnd) + vars.slice(1) || '/';
}

/** JavaScript's \w: [A-Za-z0-9_]. */
const isWordChar = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
