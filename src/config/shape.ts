import { ConfigError } from '../errors.js';

/**
 * A tiny validation vocabulary that says every error the way an operator needs it
 * (`accounts[1].retention: expected a duration like "7d", got "seven"`) and that also
 * writes the JSON Schema editors use, so the two can never drift apart.
 */

export type JsonSchema = { [key: string]: unknown };

export interface Shape<T> {
  /** What a valid value looks like, in words: "a string", "a duration like \"7d\"". */
  readonly expected: string;
  parse(value: unknown, path: string): T;
  schema(): JsonSchema;
}

/** Keys that start with "//" are comments, allowed in any object and ignored. */
export const COMMENT_KEY = /^\/\//;

export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  const safe = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : JSON.stringify(key);
  if (path === '') return safe.startsWith('"') ? `[${safe}]` : safe;
  return safe.startsWith('"') ? `${path}[${safe}]` : `${path}.${safe}`;
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return JSON.stringify(shown);
  }
  return String(value);
}

export function mismatch(path: string, expected: string, value: unknown): ConfigError {
  return new ConfigError(path || '(top level)', `expected ${expected}, got ${describeValue(value)}`);
}

function withDescription(schema: JsonSchema, description?: string): JsonSchema {
  return description ? { description, ...schema } : schema;
}

export function string(
  options: { description?: string; pattern?: string; expected?: string; minLength?: number; check?: (s: string) => string | null } = {},
): Shape<string> {
  const pattern = options.pattern ? new RegExp(options.pattern) : null;
  const expected = options.expected ?? (options.minLength ? 'a non-empty string' : 'a string');
  return {
    expected,
    parse(value, path) {
      if (typeof value !== 'string') throw mismatch(path, expected, value);
      if (options.minLength && value.length < options.minLength) throw mismatch(path, expected, value);
      if (pattern && !pattern.test(value)) throw mismatch(path, expected, value);
      const problem = options.check?.(value);
      if (problem) throw new ConfigError(path, problem);
      return value;
    },
    schema: () =>
      withDescription(
        {
          type: 'string',
          ...(options.pattern ? { pattern: options.pattern } : {}),
          ...(options.minLength ? { minLength: options.minLength } : {}),
        },
        options.description,
      ),
  };
}

export function integer(options: { description?: string; min?: number; max?: number } = {}): Shape<number> {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options;
  const expected = options.min !== undefined && options.max !== undefined ? `an integer from ${min} to ${max}` : options.min !== undefined ? `an integer of at least ${min}` : 'an integer';
  return {
    expected,
    parse(value, path) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw mismatch(path, expected, value);
      return value;
    },
    schema: () =>
      withDescription(
        {
          type: 'integer',
          ...(options.min !== undefined ? { minimum: min } : {}),
          ...(options.max !== undefined ? { maximum: max } : {}),
        },
        options.description,
      ),
  };
}

export function boolean(options: { description?: string } = {}): Shape<boolean> {
  return {
    expected: 'true or false',
    parse(value, path) {
      if (typeof value !== 'boolean') throw mismatch(path, 'true or false', value);
      return value;
    },
    schema: () => withDescription({ type: 'boolean' }, options.description),
  };
}

export function oneOf<const T extends string>(values: readonly T[], options: { description?: string } = {}): Shape<T> {
  const expected = `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  return {
    expected,
    parse(value, path) {
      if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) throw mismatch(path, expected, value);
      return value as T;
    },
    schema: () => withDescription({ type: 'string', enum: [...values] }, options.description),
  };
}

export function array<T>(item: Shape<T>, options: { description?: string; minItems?: number } = {}): Shape<T[]> {
  const expected = options.minItems ? `a non-empty array of ${item.expected}` : `an array of ${item.expected}`;
  return {
    expected,
    parse(value, path) {
      if (!Array.isArray(value) || value.length < (options.minItems ?? 0)) throw mismatch(path, expected, value);
      return value.map((v, i) => item.parse(v, childPath(path, i)));
    },
    schema: () =>
      withDescription(
        { type: 'array', items: item.schema(), ...(options.minItems ? { minItems: options.minItems } : {}) },
        options.description,
      ),
  };
}

/** A shape with hand-written parsing and schema, for unions that need a clear error. */
export function custom<T>(spec: { expected: string; parse: (value: unknown, path: string) => T; schema: () => JsonSchema }): Shape<T> {
  return spec;
}

export interface Field<T, R extends boolean> {
  shape: Shape<T>;
  required: R;
}

export function required<T>(shape: Shape<T>): Field<T, true> {
  return { shape, required: true };
}

export function optional<T>(shape: Shape<T>): Field<T, false> {
  return { shape, required: false };
}

type Fields = Record<string, Field<unknown, boolean>>;
type ValueOf<F> = F extends Field<infer T, boolean> ? T : never;

/** The same fields, every one optional. */
export function allOptional<F extends Fields>(fields: F): { [K in keyof F]: Field<ValueOf<F[K]>, false> } {
  return Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, { shape: f.shape, required: false }])) as {
    [K in keyof F]: Field<ValueOf<F[K]>, false>;
  };
}
export type ObjectOf<F extends Fields> = {
  [K in keyof F as F[K] extends Field<unknown, true> ? K : never]: ValueOf<F[K]>;
} & {
  [K in keyof F as F[K] extends Field<unknown, true> ? never : K]?: ValueOf<F[K]>;
};

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = row[j]!;
      row[j] = next;
    }
  }
  return row[b.length]!;
}

export function suggest(key: string, known: readonly string[]): string {
  const best = known.map((k) => [k, distance(key, k)] as const).sort((x, y) => x[1] - y[1])[0];
  return best && best[1] <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean "${best[0]}"?)` : '';
}

/**
 * `value` as a JSON object whose keys, comments aside, are all in `allowed`; otherwise
 * the error that names the path, or the key, and what was expected there.
 */
export function objectWithKeys(value: unknown, path: string, expected: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw mismatch(path, expected, value);
  const input = value as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!COMMENT_KEY.test(key) && !allowed.includes(key)) throw new ConfigError(childPath(path, key), `unknown key${suggest(key, allowed)}`);
  }
  return input;
}

export function object<F extends Fields>(
  fields: F,
  options: { description?: string; extraKeys?: readonly string[]; expected?: string } = {},
): Shape<ObjectOf<F>> & { fields: F } {
  const allowed = [...Object.keys(fields), ...(options.extraKeys ?? [])];
  const expected = options.expected ?? 'an object';
  return {
    fields,
    expected,
    parse(value, path) {
      const input = objectWithKeys(value, path, expected, allowed);
      const out: Record<string, unknown> = {};
      for (const [key, field] of Object.entries(fields)) {
        if (input[key] === undefined) {
          if (field.required) throw new ConfigError(path || '(top level)', `missing required key "${key}" (expected ${field.shape.expected})`);
          continue;
        }
        out[key] = field.shape.parse(input[key], childPath(path, key));
      }
      return out as ObjectOf<F>;
    },
    schema() {
      const properties: Record<string, JsonSchema> = {};
      for (const [key, field] of Object.entries(fields)) properties[key] = field.shape.schema();
      for (const key of options.extraKeys ?? []) properties[key] = {};
      const requiredKeys = Object.entries(fields)
        .filter(([, f]) => f.required)
        .map(([k]) => k);
      return withDescription(
        {
          type: 'object',
          properties,
          patternProperties: { '^//': { description: 'A comment; ignored.' } },
          additionalProperties: false,
          ...(requiredKeys.length ? { required: requiredKeys } : {}),
        },
        options.description,
      );
    },
  };
}
