import { formatSize } from '../config/duration.js';
import type { MatcherSpec } from '../config/types.js';

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
