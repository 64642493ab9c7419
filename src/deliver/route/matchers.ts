import type RE2 from 're2';
import type { MatcherSpec } from '../../config/types.js';
import { compileRegex } from '../../util/linear-regex.js';
import type { Headers } from './headers.js';

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

/** Whether the matcher reads the header (else the size alone decides it, before anything is downloaded). */
export function readsHeaders(spec: MatcherSpec): boolean {
  if (spec === 'all' || 'sizeOver' in spec) return false;
  if ('and' in spec) return spec.and.some(readsHeaders);
  if ('or' in spec) return spec.or.some(readsHeaders);
  if ('not' in spec) return readsHeaders(spec.not);
  return true;
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
