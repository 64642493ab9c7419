import type RE2 from 're2';
import type { MatcherSpec } from '../../config/types.js';
import { compileRegex } from '../../util/linear-regex.js';
import { RECIPIENT_FIELDS, domainOf, recipientsOf, senderOf, userOf } from './addresses.js';
import type { Headers } from './headers.js';

/** What a matcher may look at: the header fields, the size the server announced, and the DNSBL answers looked up so far. */
export interface MessageFacts {
  headers: Headers;
  size: number;
  /** Per zone: listed or not. A zone not in it has not been looked up yet. */
  dnsbl?: ReadonlyMap<string, boolean>;
}

export type Matcher = (facts: MessageFacts) => boolean;

/**
 * Thrown by an inSpammerBlacklist matcher whose zone has not been looked up: the
 * router stays free of I/O, and its caller looks the zone up and asks again.
 */
export class LookupNeeded {
  constructor(readonly zone: string) {}
}

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
  if ('userIs' in spec || 'recipientIs' in spec || 'hostIs' in spec) return recipientMatcher(spec);
  if ('senderIs' in spec) {
    const senders = new Set(spec.senderIs);
    return ({ headers }) => senders.has(senderOf(headers) ?? '');
  }
  // James compares subjects exactly, case and all.
  if ('subjectIs' in spec) return ({ headers }) => headers.all('subject').some((s) => s === spec.subjectIs);
  if ('subjectStartsWith' in spec) return ({ headers }) => headers.all('subject').some((s) => s.startsWith(spec.subjectStartsWith));
  if ('hasHeader' in spec) {
    const { hasHeader: name, value } = spec;
    return ({ headers }) => (value === undefined ? headers.count(name) > 0 : headers.all(name).some((v) => v === value));
  }
  if ('inSpammerBlacklist' in spec) return dnsblMatcher(spec.inSpammerBlacklist);
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

/** userIs, recipientIs, hostIs: any recipient's user name, address or domain, case-blind. */
function recipientMatcher(spec: { userIs: string[] } | { recipientIs: string[] } | { hostIs: string[] }): Matcher {
  const [wanted, part] =
    'userIs' in spec ? [new Set(spec.userIs), userOf] : 'hostIs' in spec ? [new Set(spec.hostIs), domainOf] : [new Set(spec.recipientIs), (a: string) => a];
  return ({ headers }) => recipientsOf(headers).some((address) => wanted.has(part(address)));
}

function dnsblMatcher(zone: string): Matcher {
  return ({ dnsbl }) => {
    const answer = dnsbl?.get(zone);
    if (answer === undefined) throw new LookupNeeded(zone);
    return answer;
  };
}
