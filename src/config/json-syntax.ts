import { COMMENT_KEY, childPath } from './shape.js';

/**
 * Where a JSON text first goes wrong, as line and column. JSON.parse in Node 20 names
 * a position for some errors and not for others; this scanner, run only after
 * JSON.parse has failed, always does.
 */
export interface JsonSyntaxProblem {
  line: number;
  column: number;
  message: string;
}

/** A key given twice in one object: JSON.parse keeps the last without a word. */
export interface DuplicateKey {
  /** JSON path of the key, such as `accounts[0].retention`. */
  path: string;
  line: number;
  column: number;
}

export function findJsonSyntaxError(text: string): JsonSyntaxProblem | null {
  const found = scan(text, null);
  return 'message' in found ? found : null;
}

/** The first key that an object of `text` (valid JSON) gives twice, or null. */
export function findDuplicateKey(text: string): DuplicateKey | null {
  let duplicate: DuplicateKey | null = null;
  scan(text, (path, offset) => {
    duplicate ??= { path, ...lineAndColumn(text, offset) };
  });
  return duplicate;
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  return { line: before.split('\n').length, column: offset - before.lastIndexOf('\n') };
}

/**
 * One pass over a JSON text: where it first goes wrong, and (through `onDuplicate`) each
 * key an object gives a second time, with its JSON path.
 */
function scan(text: string, onDuplicate: ((path: string, offset: number) => void) | null): JsonSyntaxProblem | { ok: true } {
  let i = 0;
  const fail = (message: string): never => {
    throw Object.assign(new Error(message), { offset: i });
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const describe = (): string => (i >= text.length ? 'end of file' : JSON.stringify(text[i]));
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(`unexpected ${describe()}`);
  };
  const str = (): void => {
    i++;
    while (i < text.length && text[i] !== '"') {
      const c = text.charCodeAt(i);
      if (c < 0x20) fail('control character in string (use \\n or \\t)');
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail('bad \\u escape');
          i += 5;
          continue;
        }
        if (!'"\\/bfnrt'.includes(text[i] ?? '')) fail(`bad escape \\${text[i] ?? ''}`);
      }
      i++;
    }
    if (i >= text.length) fail('unterminated string');
    i++;
  };
  const num = (): void => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i));
    if (!m) fail(`unexpected ${describe()}`);
    i += m![0].length;
  };
  const value = (path: string): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      const keys = new Set<string>();
      for (;;) {
        ws();
        if (text[i] !== '"') fail(text[i] === '}' ? 'trailing comma before "}"' : `expected a "quoted" key, got ${describe()}`);
        const start = i;
        str();
        const key = onDuplicate ? (JSON.parse(text.slice(start, i)) as string) : '';
        const at = childPath(path, key);
        // Comments ("//" keys) may repeat: they are ignored anyway.
        if (onDuplicate && keys.has(key) && !COMMENT_KEY.test(key)) onDuplicate(at, start);
        keys.add(key);
        ws();
        if (text[i] !== ':') fail(`expected ":" after the key, got ${describe()}`);
        i++;
        value(at);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail(`expected "," or "}", got ${describe()}`);
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        value(childPath(path, n));
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === ']') fail('trailing comma before "]"');
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail(`expected "," or "]", got ${describe()}`);
      }
    }
    if (c === '"') return str();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return num();
    fail(c === undefined ? 'unexpected end of file' : `unexpected ${describe()}`);
  };
  try {
    value('');
    ws();
    if (i < text.length) fail(`unexpected ${describe()} after the end of the document`);
    return { ok: true };
  } catch (err) {
    return { ...lineAndColumn(text, (err as { offset?: number }).offset ?? i), message: (err as Error).message };
  }
}
