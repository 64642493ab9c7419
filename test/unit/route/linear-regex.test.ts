import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { Headers } from '../../../src/deliver/route/headers.js';
import type { MatcherSpec } from '../../../src/config/types.js';
import { compileMatcher } from '../../../src/deliver/route/matchers.js';
import { ConfigError } from '../../../src/errors.js';

const root = path.resolve(__dirname, '../../..');

/** Catastrophic for a backtracking engine: 2^60 ways to split sixty letters before the `!` fails them all. */
const PATHOLOGICAL = '^(\\w+\\s?)+$';
const EVIL = `${'a'.repeat(60)}!`;

/**
 * Runs the matchers in a child process that is killed after `ms`: a backtracking regex
 * never yields to the event loop, so in this worker it would hang the suite instead of
 * failing the test.
 */
function matchInChild(specs: MatcherSpec[], headerBlock: string, ms: number): ReturnType<typeof spawnSync> {
  const code = `
    import { Headers } from './src/deliver/route/headers.ts';
    import { compileMatcher } from './src/deliver/route/matchers.ts';
    const facts = { headers: Headers.parse(Buffer.from(${JSON.stringify(headerBlock)}, 'utf8')), size: 1 };
    console.log(JSON.stringify(${JSON.stringify(specs)}.map((s) => compileMatcher(s)(facts))));
  `;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: root, timeout: ms, killSignal: 'SIGKILL', encoding: 'utf8' });
}

describe('route regular expressions run in linear time', () => {
  it('a pattern that backtracks forever in JavaScript answers at once, for every regex matcher', { timeout: 60_000 }, () => {
    const specs: MatcherSpec[] = [{ subject: PATHOLOGICAL }, { header: 'X-Job', regex: PATHOLOGICAL }, { from: PATHOLOGICAL }, { to: PATHOLOGICAL }];
    const headers = ['Subject', 'X-Job', 'From', 'Delivered-To'].map((f) => `${f}: ${EVIL}\r\n`).join('') + '\r\n';
    const run = matchInChild(specs, headers, 30_000);
    expect(run.signal, 'the matcher was still running when killed').toBeNull();
    expect(run.status, String(run.stderr)).toBe(0);
    expect(JSON.parse(String(run.stdout))).toEqual([false, false, false, false]);
  });

  it('the same pattern still matches what it should', () => {
    const facts = { headers: Headers.parse(Buffer.from(`Subject: ${'a'.repeat(60)} bb\r\n\r\n`)), size: 1 };
    expect(compileMatcher({ subject: PATHOLOGICAL })(facts)).toBe(true);
  });

  it('loads: RE2 handles it in linear time, so there is nothing to reject', () => {
    const config = parseConfig(JSON.stringify(routed({ subject: PATHOLOGICAL })), '/etc/pinchmail/config.json');
    expect(config.accounts[0]!.processors!.get('root')!.rules[0]!.match).toEqual({ subject: PATHOLOGICAL });
  });
});

describe('case-insensitive, on decoded header text', () => {
  const facts = {
    headers: Headers.parse(Buffer.from('From: =?UTF-8?Q?Ren=C3=A9e_M=C3=BCller?= <renee@example.net>\r\nSubject: Ärger mit ΣΊΣΥΦΟΣ 😀!\r\n\r\n')),
    size: 1,
  };
  const matches = (spec: MatcherSpec): boolean => compileMatcher(spec)(facts);

  it.each<[string, MatcherSpec, boolean]>([
    ['ASCII in either case', { from: 'RENEE@EXAMPLE\\.NET' }, true],
    ['non-ASCII letters fold too', { from: '^RENÉE MÜLLER' }, true],
    ['Greek folds', { subject: 'σίσυφος' }, true],
    ['a character class folds', { subject: '^[ä]rger' }, true],
    ['. is one character, even outside the BMP', { subject: 'ΦΟΣ .!$' }, true],
    ['\\p{L} is a Unicode letter', { subject: '^\\p{L}rger' }, true],
    ['\\w stays ASCII, as in JavaScript', { subject: '^\\w' }, false],
  ])('%s', (_what, spec, expected) => {
    expect(matches(spec)).toBe(expected);
  });
});

function routed(match: unknown): unknown {
  return { accounts: [{ name: 'jobs', host: 'pop.example.com', user: 'jobs', password: 'pw', route: [{ match, deliver: { maildir: '/a' } }, { match: 'all', drop: true }] }] };
}

function problem(match: unknown): string {
  try {
    parseConfig(JSON.stringify(routed(match)), '/etc/pinchmail/config.json');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error('the config loaded');
}

describe('what RE2 cannot run is rejected at load, naming the JSON path and the reason', () => {
  const at = 'accounts[0].route[0].match';
  it.each<[string, unknown, string]>([
    ['a backreference', { subject: '(a)\\1' }, `${at}.subject: RE2 cannot compile this pattern (backreferences are not supported): `],
    ['a named backreference', { subject: '(?<x>a)\\k<x>' }, `${at}.subject: RE2 cannot compile this pattern (backreferences are not supported): `],
    ['a lookahead', { subject: 'foo(?=bar)' }, `${at}.subject: RE2 cannot compile this pattern (lookahead is not supported): `],
    ['a negative lookahead', { from: '^(?!noreply@)' }, `${at}.from: RE2 cannot compile this pattern (negative lookahead is not supported): `],
    ['a lookbehind', { to: '(?<=@)example' }, `${at}.to: RE2 cannot compile this pattern (lookbehind is not supported): `],
    ['a negative lookbehind', { header: 'X-Job', regex: '(?<!no)job' }, `${at}.regex: RE2 cannot compile this pattern (negative lookbehind is not supported): `],
    ['an atomic group', { subject: '(?>a+)b' }, `${at}.subject: RE2 cannot compile this pattern (atomic groups are not supported): `],
    ['a possessive quantifier', { subject: 'a++b' }, `${at}.subject: RE2 cannot compile this pattern (possessive quantifiers are not supported): `],
    ['deep inside and/not', { and: [{ from: 'a' }, { not: { subject: 'x(?=y)' } }] }, `${at}.and[1].not.subject: RE2 cannot compile this pattern (lookahead is not supported)`],
    ['a repeat count RE2 will not build', { subject: 'x{1001}' }, `${at}.subject: RE2 cannot compile this pattern: invalid repetition size: {1001}`],
    ['plain bad syntax keeps its JavaScript wording', { subject: '(unclosed' }, `${at}.subject: invalid regular expression: /(unclosed/i: Unterminated group`],
  ])('%s', (_what, match, message) => {
    expect(problem(match)).toContain(message);
  });

  it('an escaped or bracketed "(?=" is text, not a lookahead', () => {
    expect(() => parseConfig(JSON.stringify(routed({ subject: '\\(\\?=x\\)|[(?=]' })), '/etc/pinchmail/config.json')).not.toThrow();
  });
});
