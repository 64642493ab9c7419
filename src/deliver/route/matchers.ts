import type RE2 from 're2';
import { formatSize } from '../../config/duration.js';
import { compileRegex } from '../../util/linear-regex.js';
import type { Headers } from './headers.js';

/** A matcher as the config writes it (SPEC "Routing"). */
export type MatcherSpec =
  | 'all'
  | { header: string; regex: string }
  | { from: string }
  | { to: string }
  | { subject: string }
  | { sizeOver: number }
  | { relayLimit: number }
  | { and: MatcherSpec[] }
  | { or: MatcherSpec[] }
  | { not: MatcherSpec };

/** What a matcher may look at: the header fields, and the size the server announced. */
export interface MessageFacts {
  headers: Headers;
  size: number;
}

export type Matcher = (facts: MessageFacts) => boolean;

/** Where each recipient-ish address can be: To, Cc, Delivered-To, X-Original-To. */
const RECIPIENT_FIELDS = ['to', 'cc', 'delivered-to', 'x-original-to'];

function anyMatches(values: readonly string[], re: RE2): boolean {
  return values.some((v) => re.test(v));
}

/** Turns a validated spec into a predicate. Regular expressions are RE2, case-insensitive. */
export function compileMatcher(spec: MatcherSpec): Matcher {
  if (spec === 'all') return () => true;
  if ('header' in spec) {
    const re = compileRegex(spec.regex);
    return ({ headers }) => anyMatches(headers.all(spec.header), re);
  }
  if ('from' in spec) {
    const re = compileRegex(spec.from);
    return ({ headers }) => anyMatches(headers.all('from'), re);
  }
  if ('to' in spec) {
    const re = compileRegex(spec.to);
    return ({ headers }) => RECIPIENT_FIELDS.some((f) => anyMatches(headers.all(f), re));
  }
  if ('subject' in spec) {
    const re = compileRegex(spec.subject);
    return ({ headers }) => anyMatches(headers.all('subject'), re);
  }
  if ('sizeOver' in spec) return ({ size }) => size > spec.sizeOver;
  if ('relayLimit' in spec) return ({ headers }) => headers.count('received') >= spec.relayLimit;
  if ('and' in spec) {
    const parts = spec.and.map(compileMatcher);
    return (facts) => parts.every((m) => m(facts));
  }
  if ('or' in spec) {
    const parts = spec.or.map(compileMatcher);
    return (facts) => parts.some((m) => m(facts));
  }
  const inner = compileMatcher(spec.not);
  return (facts) => !inner(facts);
}

/** A short text for logs and `route --test`: `to ^hogehoge@`, `not(subject x)`. */
export function describeMatcher(spec: MatcherSpec): string {
  if (spec === 'all') return 'all';
  if ('header' in spec) return `header ${spec.header} ${spec.regex}`;
  if ('from' in spec) return `from ${spec.from}`;
  if ('to' in spec) return `to ${spec.to}`;
  if ('subject' in spec) return `subject ${spec.subject}`;
  if ('sizeOver' in spec) return `sizeOver ${formatSize(spec.sizeOver)}`;
  if ('relayLimit' in spec) return `relayLimit ${spec.relayLimit}`;
  if ('and' in spec) return `and(${spec.and.map(describeMatcher).join(', ')})`;
  if ('or' in spec) return `or(${spec.or.map(describeMatcher).join(', ')})`;
  return `not(${describeMatcher(spec.not)})`;
}
