import type { MatcherSpec } from './types.js';
import { compileRegex } from '../util/linear-regex.js';
import { ConfigError, errorMessage } from '../errors.js';
import { SIZE_PATTERN, parseSize } from './duration.js';
import { childPath, custom, describeValue, mismatch, objectWithKeys, suggest, type JsonSchema, type Shape } from './shape.js';

/**
 * The routing keys (SPEC "Routing: one mailbox, many jobs"): an ordered `route` of
 * rules and an `onFailure` quarantine. Matchers nest (and/or/not), so their shape is
 * written by hand, with a JSON Schema $defs entry of its own.
 */

export interface RuleSpec<Target> {
  match: MatcherSpec;
  deliver?: Target;
  drop?: true;
  /** Leave the message on the server unread and never delete it (mpop's skipsize). */
  skip?: true;
  /** Delete the message from the server unread (mpop's killsize; getmail6's delete_bigger_than deletes only after delivering). */
  kill?: true;
  continue?: boolean;
}

/** What a rule can do with a message: exactly one of these. */
const ACTIONS = ['deliver', 'drop', 'skip', 'kill'] as const;

export interface OnFailureSpec<Target> {
  after: number;
  deliver: Target;
}

const MATCHER_KEYS = ['header', 'from', 'to', 'subject', 'sizeOver', 'relayLimit', 'and', 'or', 'not'];
const MATCHER_EXPECTED = `"all" or an object with one of ${MATCHER_KEYS.map((k) => `"${k}"`).join(', ')}`;

/**
 * A route pattern must compile with RE2, the engine that will run it (matchers.ts), so a
 * pattern RE2 cannot run fails at load, not on the first message.
 */
function regex(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '') throw mismatch(path, 'a regular expression', value);
  try {
    compileRegex(value);
  } catch (err) {
    throw new ConfigError(path, regexProblem(value, errorMessage(err)));
  }
  return value;
}

/**
 * Why RE2 refused a pattern, in the words its author knows: the feature RE2 leaves out
 * if the pattern uses one; else JavaScript's wording of a plain syntax error, which is
 * clearer than RE2's ("Unterminated group" beside "missing )"); else RE2's own.
 */
function regexProblem(pattern: string, re2Message: string): string {
  const feature = unsupportedFeature(pattern);
  if (feature) return `RE2 cannot compile this pattern (${feature}): ${re2Message}`;
  const jsMessage = javaScriptSyntaxError(pattern);
  if (jsMessage) return `invalid regular expression: ${jsMessage}`;
  return `RE2 cannot compile this pattern: ${re2Message}`;
}

/** Group openers RE2 has no engine for: they need backtracking. */
const UNSUPPORTED_GROUPS: ReadonlyArray<[opener: string, feature: string]> = [
  ['(?=', 'lookahead is not supported'],
  ['(?!', 'negative lookahead is not supported'],
  ['(?<=', 'lookbehind is not supported'],
  ['(?<!', 'negative lookbehind is not supported'],
  ['(?>', 'atomic groups are not supported'],
];

/**
 * The first backtracking-only feature the pattern asks for, or null. Escapes and
 * bracket classes are skipped, so `\(?=` and `[(?=]` are text, as RE2 reads them.
 */
function unsupportedFeature(pattern: string): string | null {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      if (!inClass && /^(?:[1-9]|k<)/.test(pattern.slice(i + 1, i + 3))) return 'backreferences are not supported';
      i++;
    } else if (inClass) {
      inClass = c !== ']';
    } else if (c === '[') {
      inClass = true;
    } else if (c === '(') {
      const group = UNSUPPORTED_GROUPS.find(([opener]) => pattern.startsWith(opener, i));
      if (group) return group[1];
    } else if ('*+?}'.includes(c) && pattern[i + 1] === '+') {
      return 'possessive quantifiers are not supported';
    }
  }
  return null;
}

/** JavaScript's complaint about the pattern, or null. Only compiled, never run. */
function javaScriptSyntaxError(pattern: string): string | null {
  try {
    new RegExp(pattern, 'i');
    return null;
  } catch (err) {
    return errorMessage(err).replace(/^Invalid regular expression: /, '');
  }
}

function keysOf(value: object): string[] {
  return Object.keys(value).filter((k) => !k.startsWith('//'));
}

export const matcherShape: Shape<MatcherSpec> = custom({
  expected: MATCHER_EXPECTED,
  parse(value, path): MatcherSpec {
    if (value === 'all') return 'all';
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw mismatch(path, MATCHER_EXPECTED, value);
    const input = value as Record<string, unknown>;
    const keys = keysOf(input);
    if (keys.includes('header') || keys.includes('regex')) {
      const extra = keys.filter((k) => k !== 'header' && k !== 'regex');
      if (extra.length) throw new ConfigError(childPath(path, extra[0]!), 'unknown key here ("header" goes with "regex" only)');
      if (typeof input.header !== 'string' || !/^[\x21-\x39\x3b-\x7e]+$/.test(input.header)) {
        throw mismatch(childPath(path, 'header'), 'a header field name like "X-Spam-Flag"', input.header);
      }
      return { header: input.header, regex: regex(input.regex, childPath(path, 'regex')) };
    }
    if (keys.length !== 1) {
      throw new ConfigError(path, keys.length ? `expected one matcher, got ${keys.map((k) => `"${k}"`).join(', ')} (combine them with "and")` : `expected ${MATCHER_EXPECTED}, got an empty object`);
    }
    const key = keys[0]!;
    const inner = input[key];
    const at = childPath(path, key);
    switch (key) {
      case 'from':
      case 'to':
      case 'subject':
        return { [key]: regex(inner, at) } as MatcherSpec;
      case 'sizeOver': {
        const size = typeof inner === 'string' ? parseSize(inner) : null;
        if (size === null) throw mismatch(at, 'a size like "20M" (K, M, G: binary units)', inner);
        return { sizeOver: size };
      }
      case 'relayLimit':
        if (typeof inner !== 'number' || !Number.isInteger(inner) || inner < 1) throw mismatch(at, 'an integer of at least 1', inner);
        return { relayLimit: inner };
      case 'and':
      case 'or':
        if (!Array.isArray(inner) || inner.length === 0) throw mismatch(at, 'a non-empty array of matchers', inner);
        return { [key]: inner.map((m, i) => matcherShape.parse(m, childPath(at, i))) } as MatcherSpec;
      case 'not':
        return { not: matcherShape.parse(inner, at) };
      default:
        throw new ConfigError(at, `unknown matcher${suggest(key, MATCHER_KEYS)}`);
    }
  },
  schema: (): JsonSchema => ({ $ref: '#/$defs/matcher' }),
});

/** The recursive matcher, for the schema's $defs. */
export function matcherDefs(): JsonSchema {
  const re = { type: 'string', minLength: 1, description: 'An RE2 regular expression (linear time; no backreferences or lookaround), matched case-insensitively against the decoded header value.' };
  const one = (key: string, schema: JsonSchema, description: string): JsonSchema => ({
    type: 'object',
    description,
    properties: { [key]: schema },
    required: [key],
    additionalProperties: false,
    patternProperties: { '^//': {} },
  });
  const list = { type: 'array', minItems: 1, items: { $ref: '#/$defs/matcher' } };
  return {
    matcher: {
      description: 'Which messages a rule takes.',
      oneOf: [
        { const: 'all', description: 'Every message.' },
        {
          type: 'object',
          description: 'A header field (all its occurrences, RFC 2047 decoded) matching a regular expression.',
          properties: { header: { type: 'string', minLength: 1 }, regex: re },
          required: ['header', 'regex'],
          additionalProperties: false,
          patternProperties: { '^//': {} },
        },
        one('from', re, 'The From header matches.'),
        one('to', re, 'To, Cc, Delivered-To or X-Original-To matches.'),
        one('subject', re, 'The Subject matches.'),
        one('sizeOver', { type: 'string', pattern: SIZE_PATTERN }, 'The message is larger than this ("20M").'),
        one('relayLimit', { type: 'integer', minimum: 1 }, 'The message has this many Received headers or more.'),
        one('and', list, 'Every matcher matches.'),
        one('or', list, 'Any matcher matches.'),
        one('not', { $ref: '#/$defs/matcher' }, 'The matcher does not match.'),
      ],
    },
  };
}

export function ruleShape<T>(target: Shape<T>): Shape<RuleSpec<T>> {
  const expected = 'a rule: { "match": ..., one of "deliver": {...}, "drop": true, "skip": true or "kill": true, "continue": optional }';
  return custom({
    expected,
    parse(value, path) {
      const input = objectWithKeys(value, path, expected, ['match', ...ACTIONS, 'continue']);
      if (input.match === undefined) throw new ConfigError(path, 'missing "match"');
      const match = matcherShape.parse(input.match, childPath(path, 'match'));
      for (const flag of ['drop', 'skip', 'kill'] as const) {
        if (input[flag] !== undefined && input[flag] !== true) throw mismatch(childPath(path, flag), `true (or leave "${flag}" out)`, input[flag]);
      }
      const actions = ACTIONS.filter((a) => input[a] !== undefined);
      if (actions.length !== 1) {
        throw new ConfigError(path, `a rule needs exactly one of "deliver", "drop": true, "skip": true or "kill": true${actions.length ? `, not ${actions.map((a) => `"${a}"`).join(' and ')}` : ''}`);
      }
      if (input.continue !== undefined && typeof input.continue !== 'boolean') throw mismatch(childPath(path, 'continue'), 'true or false', input.continue);
      if (input.continue === true && (input.skip || input.kill)) {
        throw new ConfigError(childPath(path, 'continue'), `a "${input.skip ? 'skip' : 'kill'}" rule leaves the message unread, so no rule after it can deliver it: leave "continue" out`);
      }
      const action = actions[0]!;
      return {
        match,
        ...(action === 'deliver' ? { deliver: target.parse(input.deliver, childPath(path, 'deliver')) } : { [action]: true as const }),
        ...(input.continue !== undefined ? { continue: input.continue as boolean } : {}),
      };
    },
    schema: (): JsonSchema => ({
      type: 'object',
      description: 'A routing rule. The first rule that matches delivers (or drops, skips or kills) the message and ends the route, unless it says "continue": true.',
      properties: {
        match: matcherShape.schema(),
        deliver: target.schema(),
        drop: { const: true, description: 'Take the message and deliver it nowhere; it ages out like a delivered one.' },
        skip: { const: true, description: 'Leave the message on the server unread, never deleted by this host; looked at again each run (mpop\'s skipsize).' },
        kill: { const: true, description: 'Delete the message from the server unread, in this run, whatever the retention: for every host that shares the mailbox (mpop\'s killsize).' },
        continue: { type: 'boolean', description: 'Also try the rules after this one (not with skip or kill).' },
      },
      required: ['match'],
      oneOf: ACTIONS.map((a) => ({ required: [a] })),
      additionalProperties: false,
      patternProperties: { '^//': {} },
    }),
  });
}

export function onFailureShape<T>(target: Shape<T>): Shape<OnFailureSpec<T>> {
  const expected = '{ "after": N, "deliver": {...} }';
  return custom({
    expected,
    parse(value, path) {
      const input = objectWithKeys(value, path, expected, ['after', 'deliver']);
      if (typeof input.after !== 'number' || !Number.isInteger(input.after) || input.after < 1) {
        throw mismatch(childPath(path, 'after'), 'an integer of at least 1 (failed runs)', input.after);
      }
      if (input.deliver === undefined) throw new ConfigError(path, `missing "deliver" (where a message goes after ${describeValue(input.after)} failed runs)`);
      return { after: input.after, deliver: target.parse(input.deliver, childPath(path, 'deliver')) };
    },
    schema: (): JsonSchema => ({
      type: 'object',
      description: 'After a message has failed in "after" runs, it goes to this target instead and counts as delivered.',
      properties: { after: { type: 'integer', minimum: 1 }, deliver: target.schema() },
      required: ['after', 'deliver'],
      additionalProperties: false,
      patternProperties: { '^//': {} },
    }),
  });
}
