import { describe, expect, it } from 'vitest';
import { Headers, headerBlock } from '../../../src/deliver/route/headers.js';
import type { MatcherSpec } from '../../../src/config/types.js';
import { compileMatcher } from '../../../src/deliver/route/matchers.js';

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

/** A message as real mail systems write it: folded, encoded, 8-bit where it should not be. */
const realWorld = latin1(
  [
    'From MAILER-DAEMON Sat Nov 21 10:00:00 2026',
    'Return-Path: <bounce+abc@lists.example.org>',
    'Received: from mx1.example.org (mx1.example.org [192.0.2.1])',
    '\tby pop.example.com (Postfix) with ESMTPS id 4ABC',
    '\tfor <hogehoge@example.com>; Sat, 21 Nov 2026 10:00:00 +0000',
    'Received: from sender.example.net by mx1.example.org; Sat, 21 Nov 2026 09:59:59 +0000',
    'Received: by sender.example.net; Sat, 21 Nov 2026 09:59:58 +0000',
    'From: =?ISO-8859-1?Q?Ren=E9e_M=FCller?= <renee@example.net>',
    'To: team@example.com,',
    '  =?UTF-8?B?5bGx55Sw?= <yamada@example.com>',
    'Cc: other@example.org',
    'Delivered-To: hogehoge@example.com',
    'Subject: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?= =?UTF-8?Q?_caf=C3=A9?=',
    '  continued after a fold',
    'X-Spam-Flag: YES',
    'X-Spam-Score: 7.3',
    'X-Raw-Latin1: caf\xe9 cr\xe8me \xff\xfe',
    'X-Raw-Utf8: caf\xc3\xa9',
    'X-Empty:',
    'X-Broken-Word: =?UTF-8?B?###?=',
    'Content-Type: text/plain; charset=Shift_JIS',
    '',
    'Subject: not a header, this is the body',
    'X-Spam-Flag: NO',
    '',
  ].join('\r\n'),
);

describe('Headers', () => {
  const h = Headers.parse(realWorld);

  it('reads only the header block, as bytes, up to the first empty line', () => {
    expect(headerBlock(realWorld).toString('latin1')).not.toContain('this is the body');
    expect(h.all('x-spam-flag')).toEqual(['YES']);
  });

  it('unfolds folded fields and decodes RFC 2047 words in several charsets', () => {
    expect(h.all('subject')).toEqual(['日本語 café continued after a fold']);
    expect(h.all('from')).toEqual(['Renée Müller <renee@example.net>']);
    expect(h.all('to')).toEqual(['team@example.com, 山田 <yamada@example.com>']);
  });

  it('counts repeated fields, folded ones once each', () => {
    expect(h.count('Received')).toBe(3);
  });

  it('reads raw 8-bit values as UTF-8 when they are, as Latin-1 when not, and never throws on junk', () => {
    expect(h.all('x-raw-utf8')).toEqual(['café']);
    expect(h.all('x-raw-latin1')).toEqual(['café crème ÿþ']);
    expect(h.all('x-empty')).toEqual(['']);
    expect(h.all('x-broken-word')).toHaveLength(1);
  });

  it('skips an mbox From_ line and lines without a colon; LF line ends work too', () => {
    const lf = Headers.parse(latin1('From someone Sat Nov 21\nSubject: x\n  y\nnot a field\nX-A: 1\n\nbody'));
    expect(lf.all('subject')).toEqual(['x y']);
    expect(lf.all('x-a')).toEqual(['1']);
  });

  it('copes with no header block at all, and no body', () => {
    expect(Headers.parse(Buffer.alloc(0)).count('subject')).toBe(0);
    expect(Headers.parse(latin1('Subject: only headers\r\n')).all('subject')).toEqual(['only headers']);
  });

  it('Shift_JIS and ISO-2022-JP subjects', () => {
    expect(Headers.parse(latin1('Subject: =?Shift_JIS?B?k/qWe4zq?=\r\n\r\n')).all('subject')).toEqual(['日本語']);
    expect(Headers.parse(latin1('Subject: =?iso-2022-jp?B?GyRCJDMkcyRLJEEkTxsoQg==?=\r\n\r\n')).all('subject')).toEqual(['こんにちは']);
  });
});

describe('matchers', () => {
  const facts = { headers: Headers.parse(realWorld), size: 50_000 };
  const matches = (spec: MatcherSpec): boolean => compileMatcher(spec)(facts);

  it.each<[string, MatcherSpec, boolean]>([
    ['all', 'all', true],
    ['header, case-insensitive', { header: 'x-spam-flag', regex: '^yes' }, true],
    ['header absent', { header: 'X-Virus', regex: '.' }, false],
    ['header on a decoded value', { header: 'Subject', regex: '日本語 café' }, true],
    ['from, decoded', { from: 'renée müller' }, true],
    ['to: To', { to: '山田' }, true],
    ['to: Cc', { to: '^other@' }, true],
    ['to: Delivered-To', { to: '^hogehoge@' }, true],
    ['to: not in From', { to: 'renee@' }, false],
    ['subject', { subject: 'continued' }, true],
    ['sizeOver, under', { sizeOver: 50_000 }, false],
    ['sizeOver, over', { sizeOver: 49_999 }, true],
    ['relayLimit reached', { relayLimit: 3 }, true],
    ['relayLimit not reached', { relayLimit: 4 }, false],
    ['and', { and: [{ subject: 'café' }, { header: 'X-Spam-Flag', regex: 'YES' }] }, true],
    ['and, one false', { and: [{ subject: 'café' }, { relayLimit: 30 }] }, false],
    ['or', { or: [{ relayLimit: 30 }, { from: 'example\\.net' }] }, true],
    ['not', { not: { header: 'X-Spam-Flag', regex: 'YES' } }, false],
    ['nested', { not: { or: [{ relayLimit: 30 }, { subject: '^$' }] } }, true],
  ])('%s', (_what, spec, expected) => {
    expect(matches(spec)).toBe(expected);
  });
});
