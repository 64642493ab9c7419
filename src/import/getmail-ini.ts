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

/** configparser's SECTCRE and OPTCRE: `[` anything `]` (the last `]`), and the first `=` or `:`. */
const SECTION = /^\[(.+)\]/;
const OPTION = /^(.*?)\s*([=:])\s*(.*)$/;

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
    if (!section) {
      errors.push({ line, text: trimmed, why: 'a line before the first [section] (configparser\'s MissingSectionHeaderError)' });
      return;
    }
    const option = OPTION.exec(trimmed);
    // As configparser, a line it cannot read leaves the value before it open.
    if (!option || option[1] === '') {
      errors.push({ line, text: trimmed, why: 'not "key = value" (configparser\'s ParsingError)' });
      return;
    }
    const key = option[1]!.toLowerCase();
    const id = `${section.name}\0${key}`;
    if (seen.has(id)) errors.push({ line, text: trimmed, why: `"${key}" a second time in [${section.name}] (configparser's DuplicateOptionError)` });
    seen.add(id);
    entry = { parts: [option[3]!], entry: { key, value: '', line, text: trimmed } };
    values.push(entry);
    section.entries.set(key, entry.entry);
  });
  for (const { parts, entry } of values) entry.value = parts.join('\n').trimEnd();
  return { sections, defaults, errors };
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

/** A reader of the few Python expressions getmailrc files hold; it throws on anything else. */
class PyReader {
  private at = 0;
  constructor(private readonly text: string) {}

  /** Items separated by commas: a tuple if there is a comma, else the one item. */
  list(top: boolean): PyValue {
    const items: PyValue[] = [];
    let comma = false;
    while (this.peek() !== ')' && this.peek() !== '') {
      items.push(this.item());
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

  private item(): PyValue {
    const c = this.peek();
    if (c === '(') {
      this.at++;
      const inner = this.list(false);
      if (this.peek() !== ')') throw new Error('unclosed (');
      this.at++;
      return inner;
    }
    const number = /^(0|[1-9](_?\d)*)(?![\w.])/.exec(this.text.slice(this.at));
    if (number) {
      this.at += number[0].length;
      return { str: number[0].replaceAll('_', '') };
    }
    // Adjacent string literals are one string.
    let str = this.string();
    while (/^[rRuU]?['"]/.test(this.peekRest())) str += this.string();
    return { str };
  }

  private string(): string {
    this.peek();
    const m = /^([rRuU]?)('''|"""|'|")/.exec(this.text.slice(this.at));
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
    const octal = /^[0-7]{1,3}/.exec(this.text.slice(this.at - 1));
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
      const rest = this.text.slice(this.at);
      const skip = /^(?:[ \t\f\n]+|\\\n|#[^\n]*)/.exec(rest);
      if (!skip) return rest[0] ?? '';
      this.at += skip[0].length;
    }
  }

  private peekRest(): string {
    this.peek();
    return this.text.slice(this.at);
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
  blockers: string[];
}

type At = { line: number; text: string };
export const note = (ctx: Context, at: At, why: string): void => void ctx.untranslated.push({ file: ctx.file, line: at.line, text: at.text, why });
export const block = (ctx: Context, why: string): void => void (ctx.blockers.includes(why) || ctx.blockers.push(why));
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

export function expandUserVars(value: string, home: string): string | null {
  let unknown = false;
  const vars = value.replace(/\$(\w+|\{[^}]*\})/g, (whole, name: string) => {
    if (name.replace(/^\{|\}$/g, '') === 'HOME') return home;
    unknown = true;
    return whole;
  });
  if (unknown || /^~[^/]/.test(vars)) return null;
  return vars.startsWith('~') ? home.replace(/\/+$/, '') + vars.slice(1) || '/' : vars;
}
