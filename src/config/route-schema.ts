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
  /** Move the message to this processor (James's ToProcessor). */
  processor?: string;
  continue?: boolean;
}

/** What a rule can do with a message: exactly one of these. */
const ACTIONS = ['deliver', 'drop', 'skip', 'kill', 'processor'] as const;

export type OnFailureSpec<Target> = { after: number } & ({ deliver: Target; processor?: undefined } | { processor: string; deliver?: undefined });

/** A processor's name: a word James would also take; "ghost" is James's name for "no further processing". */
export const PROCESSOR_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const JAMES_KEYS = ['userIs', 'recipientIs', 'hostIs', 'senderIs', 'subjectIs', 'subjectStartsWith', 'hasHeader', 'inSpammerBlacklist'];
const MATCHER_KEYS = ['header', 'from', 'to', 'subject', 'sizeOver', 'relayLimit', ...JAMES_KEYS, 'and', 'or', 'not'];
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

const LOCAL_PART = /^[^\s@<>,;:"]+$/;
const DOMAIN = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const ADDRESS = /^[^\s@<>,;:"]+@[^\s@<>,;:"]+$/;

/** A list of names (one name alone is taken as a list of one), compared case-blind, as James compares them. */
function words(value: unknown, path: string, kind: WordKind): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) throw mismatch(path, `a non-empty list of ${kind.many}`, value);
  return list.map((item, i) => {
    if (typeof item !== 'string' || !kind.pattern.test(item)) throw mismatch(childPath(path, i), kind.one, item);
    return item.toLowerCase();
  });
}

interface WordKind {
  pattern: RegExp;
  one: string;
  many: string;
}

const USERS: WordKind = { pattern: LOCAL_PART, one: 'a user name (the part of an address before "@")', many: 'user names (the part of an address before "@")' };
const ADDRESSES: WordKind = { pattern: ADDRESS, one: 'an address like "user@example.com"', many: 'addresses like "user@example.com"' };
const DOMAINS: WordKind = { pattern: DOMAIN, one: 'a domain like "example.com"', many: 'domains like "example.com"' };

/** `{ "hasHeader": NAME }`, or `{ "hasHeader": NAME, "value": TEXT }` (James's HasHeader=name=value). */
function hasHeader(input: Record<string, unknown>, keys: string[], path: string): MatcherSpec {
  const extra = keys.filter((k) => k !== 'hasHeader' && k !== 'value');
  if (extra.length) throw new ConfigError(childPath(path, extra[0]!), 'unknown key here ("hasHeader" goes with "value" only)');
  if (typeof input.hasHeader !== 'string' || !HEADER_NAME.test(input.hasHeader)) {
    throw mismatch(childPath(path, 'hasHeader'), 'a header field name like "X-Spam-Flag"', input.hasHeader);
  }
  if (input.value !== undefined && typeof input.value !== 'string') throw mismatch(childPath(path, 'value'), 'a text', input.value);
  return { hasHeader: input.hasHeader, ...(input.value !== undefined ? { value: input.value as string } : {}) };
}

const HEADER_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

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
      if (typeof input.header !== 'string' || !HEADER_NAME.test(input.header)) {
        throw mismatch(childPath(path, 'header'), 'a header field name like "X-Spam-Flag"', input.header);
      }
      return { header: input.header, regex: regex(input.regex, childPath(path, 'regex')) };
    }
    if (keys.includes('hasHeader')) return hasHeader(input, keys, path);
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
      case 'userIs':
        return { userIs: words(inner, at, USERS) };
      case 'recipientIs':
      case 'senderIs':
        return { [key]: words(inner, at, ADDRESSES) } as MatcherSpec;
      case 'hostIs':
        return { hostIs: words(inner, at, DOMAINS) };
      case 'subjectIs':
      case 'subjectStartsWith':
        if (typeof inner !== 'string' || inner === '') throw mismatch(at, 'a non-empty text', inner);
        return { [key]: inner } as MatcherSpec;
      case 'inSpammerBlacklist':
        if (typeof inner !== 'string' || !DOMAIN.test(inner.replace(/\.$/, ''))) throw mismatch(at, 'a DNSBL zone like "zen.spamhaus.org"', inner);
        return { inSpammerBlacklist: inner.replace(/\.$/, '').toLowerCase() };
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
  const names = (one: string): JsonSchema => ({ oneOf: [{ type: 'string', minLength: 1 }, { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } }], description: `${one}, or a list (compared case-blind)` });
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
        one('userIs', names('a user name'), 'A recipient (Delivered-To, X-Original-To, To, Cc) has one of these user names (James\'s UserIs).'),
        one('recipientIs', names('an address'), 'A recipient (Delivered-To, X-Original-To, To, Cc) is one of these addresses (James\'s RecipientIs).'),
        one('hostIs', names('a domain'), 'A recipient (Delivered-To, X-Original-To, To, Cc) is at one of these domains (James\'s HostIs).'),
        one('senderIs', names('an address'), 'The sender (Return-Path, else From) is one of these addresses (James\'s SenderIs).'),
        one('subjectIs', { type: 'string', minLength: 1 }, 'The Subject is exactly this text, case and all (James\'s SubjectIs).'),
        one('subjectStartsWith', { type: 'string', minLength: 1 }, 'The Subject begins with this text, case and all (James\'s SubjectStartsWith).'),
        {
          type: 'object',
          description: 'The message has this header field; with "value", one whose value is exactly that (James\'s HasHeader).',
          properties: { hasHeader: { type: 'string', minLength: 1 }, value: { type: 'string' } },
          required: ['hasHeader'],
          additionalProperties: false,
          patternProperties: { '^//': {} },
        },
        one('inSpammerBlacklist', { type: 'string', minLength: 1 }, 'The client your own MTA took the message from (see "dnsbl") is listed in this DNSBL zone (James\'s InSpammerBlacklist).'),
        one('and', list, 'Every matcher matches.'),
        one('or', list, 'Any matcher matches.'),
        one('not', { $ref: '#/$defs/matcher' }, 'The matcher does not match.'),
      ],
    },
  };
}

export function ruleShape<T>(target: Shape<T>): Shape<RuleSpec<T>> {
  const expected = 'a rule: { "match": ..., one of "deliver": {...}, "drop": true, "skip": true, "kill": true or "processor": NAME, "continue": optional }';
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
        throw new ConfigError(path, `a rule needs exactly one of "deliver", "drop": true, "skip": true, "kill": true or "processor": NAME${actions.length ? `, not ${actions.map((a) => `"${a}"`).join(' and ')}` : ''}`);
      }
      if (input.processor !== undefined) processorName(input.processor, childPath(path, 'processor'));
      if (input.continue !== undefined && typeof input.continue !== 'boolean') throw mismatch(childPath(path, 'continue'), 'true or false', input.continue);
      if (input.continue === true && input.processor !== undefined) {
        throw new ConfigError(childPath(path, 'continue'), 'a "processor" rule moves the message on to that processor, so nothing after it in this one sees it: leave "continue" out');
      }
      if (input.continue === true && (input.skip || input.kill)) {
        throw new ConfigError(childPath(path, 'continue'), `a "${input.skip ? 'skip' : 'kill'}" rule leaves the message unread, so no rule after it can deliver it: leave "continue" out`);
      }
      const action = actions[0]!;
      return {
        match,
        ...(action === 'deliver'
          ? { deliver: target.parse(input.deliver, childPath(path, 'deliver')) }
          : action === 'processor'
            ? { processor: input.processor as string }
            : { [action]: true as const }),
        ...(input.continue !== undefined ? { continue: input.continue as boolean } : {}),
      };
    },
    schema: (): JsonSchema => ({
      type: 'object',
      description: 'A routing rule. The first rule that matches delivers (or drops, skips, kills or moves to another processor) the message and ends the route, unless it says "continue": true.',
      properties: {
        match: matcherShape.schema(),
        deliver: target.schema(),
        drop: { const: true, description: 'Take the message and deliver it nowhere; it ages out like a delivered one.' },
        skip: { const: true, description: 'Leave the message on the server unread, never deleted by this host; looked at again each run (mpop\'s skipsize).' },
        kill: { const: true, description: 'Delete the message from the server unread, in this run, whatever the retention: for every host that shares the mailbox (mpop\'s killsize).' },
        processor: { type: 'string', pattern: PROCESSOR_NAME.source, description: 'Move the message to this processor, which takes it from its first rule (James\'s ToProcessor).' },
        continue: { type: 'boolean', description: 'Also try the rules after this one (not with skip, kill or processor).' },
      },
      required: ['match'],
      oneOf: ACTIONS.map((a) => ({ required: [a] })),
      additionalProperties: false,
      patternProperties: { '^//': {} },
    }),
  });
}

export function onFailureShape<T>(target: Shape<T>): Shape<OnFailureSpec<T>> {
  const expected = '{ "after": N, "deliver": {...} } or { "after": N, "processor": NAME }';
  return custom({
    expected,
    parse(value, path) {
      const input = objectWithKeys(value, path, expected, ['after', 'deliver', 'processor']);
      if (typeof input.after !== 'number' || !Number.isInteger(input.after) || input.after < 1) {
        throw mismatch(childPath(path, 'after'), 'an integer of at least 1 (failed runs)', input.after);
      }
      if (input.deliver !== undefined && input.processor !== undefined) throw new ConfigError(path, 'give "deliver" or "processor", not both');
      if (input.processor !== undefined) return { after: input.after, processor: processorName(input.processor, childPath(path, 'processor')) };
      if (input.deliver === undefined) throw new ConfigError(path, `missing "deliver" or "processor" (where a message goes after ${describeValue(input.after)} failed runs)`);
      return { after: input.after, deliver: target.parse(input.deliver, childPath(path, 'deliver')) };
    },
    schema: (): JsonSchema => ({
      type: 'object',
      description: 'After a message has failed in "after" runs, it goes to this target (or through this processor) instead and counts as delivered.',
      properties: { after: { type: 'integer', minimum: 1 }, deliver: target.schema(), processor: { type: 'string', pattern: PROCESSOR_NAME.source } },
      required: ['after'],
      oneOf: [{ required: ['deliver'] }, { required: ['processor'] }],
      additionalProperties: false,
      patternProperties: { '^//': {} },
    }),
  });
}

/** A processor's name, as a rule or onFailure gives it. */
export function processorName(value: unknown, path: string): string {
  if (typeof value !== 'string' || !PROCESSOR_NAME.test(value)) throw mismatch(path, 'a processor name (letters, digits, ".", "_", "-")', value);
  if (value === 'ghost') throw new ConfigError(path, '"ghost" is James\'s word for "no further processing": use "drop": true');
  return value;
}

/** `"processors": { "root": [rules], NAME: [rules] }`: James's named processors, "root" the entry. */
export function processorsShape<T>(target: Shape<T>): Shape<Record<string, RuleSpec<T>[]>> {
  const rule = ruleShape(target);
  const expected = 'an object of processors: { "root": [rules], "spam": [rules], ... }';
  return custom({
    expected,
    parse(value, path) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw mismatch(path, expected, value);
      const out: Record<string, RuleSpec<T>[]> = Object.create(null);
      for (const name of keysOf(value)) {
        const at = childPath(path, name);
        processorName(name, at);
        const rules = (value as Record<string, unknown>)[name];
        if (!Array.isArray(rules) || rules.length === 0) throw mismatch(at, 'a non-empty array of rules', rules);
        out[name] = rules.map((r, i) => rule.parse(r, childPath(at, i)));
      }
      if (!('root' in out)) throw new ConfigError(path, 'missing "root", the processor every message starts in');
      return out;
    },
    schema: (): JsonSchema => ({
      type: 'object',
      description: 'Named processors (Apache James\'s): every message starts at the first rule of "root"; a rule with "processor" moves it to another; "error" (or the one onFailure names) takes what failed.',
      required: ['root'],
      propertyNames: { anyOf: [{ pattern: '^//' }, { pattern: PROCESSOR_NAME.source }] },
      patternProperties: { '^//': {} },
      additionalProperties: { type: 'array', minItems: 1, items: rule.schema() },
    }),
  });
}
