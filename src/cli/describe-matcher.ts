import { formatSize } from '../config/duration.js';
import type { MatcherSpec } from '../config/types.js';

/** A short text for logs and `route --test`: `to ^hogehoge@`, `not(subject x)`, `userIs hogehoge`. */
export function describeMatcher(spec: MatcherSpec): string {
  if (spec === 'all') return 'all';
  if ('header' in spec) return `header ${spec.header} ${spec.regex}`;
  if ('hasHeader' in spec) return `hasHeader ${spec.hasHeader}${spec.value === undefined ? '' : `=${spec.value}`}`;
  if ('sizeOver' in spec) return `sizeOver ${formatSize(spec.sizeOver)}`;
  if ('and' in spec) return `and(${spec.and.map(describeMatcher).join(', ')})`;
  if ('or' in spec) return `or(${spec.or.map(describeMatcher).join(', ')})`;
  if ('not' in spec) return `not(${describeMatcher(spec.not)})`;
  // The rest have one key, whose value is a text, a number or a list.
  const [key, value] = Object.entries(spec)[0]!;
  return `${key} ${Array.isArray(value) ? value.join(',') : String(value)}`;
}
