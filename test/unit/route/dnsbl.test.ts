import { describe, expect, it } from 'vitest';
import { candidateAddresses, connectingAddress, dnsblQueryName } from '../../../src/deliver/route/dnsbl.js';

const DATE = 'Tue, 1 Dec 2026 10:00:00 +0000';
/** What the operator's own second hop (an LMTP server behind the MX) writes above the MX's header. */
const INNER = `from mx.example.org ([10.0.0.25]) by imap.example.org with LMTP id k2Hq (envelope-from <a@spammer.example>) for <u@example.org>; ${DATE}`;

describe('connectingAddress', () => {
  const one = (header: string) => connectingAddress([header], 1);

  it('Postfix: the address in the comment after the HELO name', () => {
    expect(one(`from mail.spammer.example (mail.spammer.example [192.0.2.99]) by mx.example.org (Postfix) with ESMTP id 4AB; ${DATE}`)).toBe('192.0.2.99');
    expect(one(`from helo.example (unknown [192.0.2.99]) by mx.example.org (Postfix) with SMTP id 4AB; ${DATE}`)).toBe('192.0.2.99');
  });

  it('Postfix with TLS comments between the from and by clauses', () => {
    const header =
      'from mail.spammer.example (mail.spammer.example [192.0.2.99]) (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256) (No client certificate requested) ' +
      `by mx.example.org (Postfix) with ESMTPS id 4AB for <u@example.org>; ${DATE}`;
    expect(one(header)).toBe('192.0.2.99');
  });

  it('Postfix and sendmail IPv6 literals ([IPv6:...])', () => {
    expect(one(`from mail.spammer.example (mail.spammer.example [IPv6:2001:db8::99]) by mx.example.org (Postfix) with ESMTP id 4AB; ${DATE}`)).toBe('2001:db8::99');
    expect(one(`from mail.spammer.example (mail.spammer.example [IPv6:2001:DB8:0:0:0:0:0:99]) by mx.example.org (8.17.1/8.17.1) with ESMTP id 4AB; ${DATE}`)).toBe('2001:db8:0:0:0:0:0:99');
  });

  it('a HELO address literal is what the client claimed, not where it is', () => {
    expect(one(`from [127.0.0.2] (unknown [192.0.2.99]) by mx.example.org (Postfix) with SMTP id 4AB; ${DATE}`)).toBe('192.0.2.99');
    expect(one(`from mail.spammer.example ([192.0.2.99] helo=[127.0.0.2]) by mx.example.org with esmtp (Exim 4.96) id 1t; ${DATE}`)).toBe('192.0.2.99');
    expect(one(`from [192.0.2.99] (helo=[127.0.0.2]) by mx.example.org with esmtp (Exim 4.96) id 1t; ${DATE}`)).toBe('192.0.2.99');
  });

  it('a client saying HELO by does not hide its address', () => {
    expect(one(`from by (unknown [192.0.2.99]) by mx.example.org (Postfix) with SMTP id 4AB; ${DATE}`)).toBe('192.0.2.99');
  });

  it('Exim: the bracketed address with its port, or the bare [ip] without reverse DNS', () => {
    expect(one(`from mail.spammer.example ([192.0.2.99]:54321 helo=spammer) by mx.example.org with esmtps (TLS1.3) tls TLS_AES_256_GCM_SHA384 (Exim 4.96) (envelope-from <a@spammer.example>) id 1tAbCd-000123-4x for u@example.org; ${DATE}`)).toBe('192.0.2.99');
    expect(one(`from mail.spammer.example ([192.0.2.99]) by mx.example.org with esmtp (Exim 4.96) id 1t; ${DATE}`)).toBe('192.0.2.99');
    expect(one(`from [192.0.2.99] (port=54321 helo=spammer) by mx.example.org with esmtp (Exim 4.96) id 1t; ${DATE}`)).toBe('192.0.2.99');
    expect(one(`from [192.0.2.99] by mx.example.org with esmtp (Exim 4.96) id 1t; ${DATE}`)).toBe('192.0.2.99');
    expect(one(`from [192.0.2.99]:54321 by mx.example.org with esmtp (Exim 4.96) id 1t; ${DATE}`)).toBe('192.0.2.99');
  });

  it('Exim IPv6: bare in brackets', () => {
    expect(one(`from mail.spammer.example ([2001:db8::99]:54321 helo=spammer) by mx.example.org with esmtp (Exim 4.96) id 1t; ${DATE}`)).toBe('2001:db8::99');
    expect(one(`from [2001:db8::99] (helo=spammer) by mx.example.org with esmtp (Exim 4.96) id 1t; ${DATE}`)).toBe('2001:db8::99');
  });

  it('sendmail: with HELO, with "may be forged", and without HELO', () => {
    expect(one(`from mail.spammer.example (mail.spammer.example [192.0.2.99]) by mx.example.org (8.17.1/8.17.1/Debian-2) with ESMTP id 4B1AbCdE012345 for <u@example.org>; ${DATE}`)).toBe('192.0.2.99');
    expect(one(`from helo.example (rdns.spammer.example [192.0.2.99] (may be forged)) by mx.example.org (8.17.1/8.17.1) with ESMTP id 4B1; ${DATE}`)).toBe('192.0.2.99');
    expect(one(`from rdns.spammer.example [192.0.2.99] by mx.example.org (8.17.1/8.17.1) with SMTP id 4B1; ${DATE}`)).toBe('192.0.2.99');
  });

  it('Dovecot LMTP: the LHLO name and the address in brackets, or no address over a unix socket', () => {
    expect(one(`from mx.example.org ([192.0.2.99]) by imap.example.org with LMTP id k2Hq (envelope-from <a@spammer.example>) for <u@example.org>; ${DATE}`)).toBe('192.0.2.99');
    expect(one(`from mx.example.org by imap.example.org with LMTP id k2Hq (envelope-from <a@spammer.example>) for <u@example.org>; ${DATE}`)).toBeNull();
  });

  it('qmail and Exchange: a comment that is nothing but the address', () => {
    expect(one(`from unknown (HELO mail.spammer.example) (192.0.2.99) by mx.example.org with SMTP; ${DATE}`)).toBe('192.0.2.99');
    expect(one(`from unknown (HELO mail.spammer.example) (joe@192.0.2.99) by mx.example.org with SMTP; ${DATE}`)).toBe('192.0.2.99');
    expect(one(`from EX01.spammer.example (2001:db8::99) by EX02.example.org (2001:db8::1) with Microsoft SMTP Server (version=TLS1_2) id 15.2.1118.40; ${DATE}`)).toBe('2001:db8::99');
  });

  it('IPv4-mapped IPv6 is the IPv4 address it carries', () => {
    expect(one(`from mail.spammer.example (mail.spammer.example [IPv6:::ffff:192.0.2.99]) by mx.example.org (Postfix) with ESMTP id 4AB; ${DATE}`)).toBe('192.0.2.99');
    expect(one(`from mail.spammer.example ([::ffff:c000:263]) by mx.example.org with esmtp (Exim 4.96) id 1t; ${DATE}`)).toBe('192.0.2.99');
  });

  it('never the receiving host\'s address in the by clause', () => {
    expect(one(`from mail.spammer.example by mx.example.org ([198.51.100.1]) with ESMTP id 4AB; ${DATE}`)).toBeNull();
    expect(one(`from localhost by mx.example.org (Postfix [198.51.100.1]) with ESMTP id 4AB; ${DATE}`)).toBeNull();
    expect(one(`from mail.spammer.example (mail.spammer.example [192.0.2.99]) by mx.example.org ([198.51.100.1]) with ESMTP id 4AB; ${DATE}`)).toBe('192.0.2.99');
  });

  it('trustedHops picks the header the operator\'s own edge wrote', () => {
    const outside = `from mail.spammer.example (mail.spammer.example [192.0.2.99]) by mx.example.org (Postfix) with ESMTP id 4AB; ${DATE}`;
    const forged = `from evil.example (evil.example [203.0.113.7]) by mail.spammer.example (Postfix) with ESMTP id 1; ${DATE}`;
    const filter = `from imap.example.org ([10.0.0.30]) by filter.example.org with LMTP id z; ${DATE}`;
    expect(connectingAddress([outside, forged], 1)).toBe('192.0.2.99');
    expect(connectingAddress([INNER, outside, forged], 2)).toBe('192.0.2.99');
    expect(connectingAddress([filter, INNER, outside, forged], 3)).toBe('192.0.2.99');
    expect(connectingAddress([INNER, outside, forged], 1)).toBe('10.0.0.25');
  });

  it('null when the header is missing', () => {
    expect(connectingAddress([], 1)).toBeNull();
    expect(connectingAddress([INNER], 2)).toBeNull();
    expect(connectingAddress([INNER], 0)).toBeNull();
  });

  it('null for a header without a from clause, or without a valid address', () => {
    expect(one(`by mx.example.org (Postfix, from userid 1000) id 4AB; ${DATE}`)).toBeNull();
    expect(one(`from mail.spammer.example (mail.spammer.example [192.0.2.999]) by mx.example.org (Postfix) with ESMTP id 4AB; ${DATE}`)).toBeNull();
    expect(one(`from mail.spammer.example (mail.spammer.example [IPv6:2001:db8::99::1]) by mx.example.org id 4AB; ${DATE}`)).toBeNull();
    expect(one(`from mail.spammer.example (mail.spammer.example [fe80::1%eth0]) by mx.example.org id 4AB; ${DATE}`)).toBeNull();
    expect(one(`from mail.spammer.example (HELO 192.0.2.99 please) by mx.example.org id 4AB; ${DATE}`)).toBeNull();
  });

  it('null for junk', () => {
    for (const junk of ['', ' ', 'from', 'from ', 'garbage [192.0.2.99]', 'from x (unclosed [192.0.2.99] by mx', 'fromage [192.0.2.99]', '((((', 'from )))[192.0.2.99]((']) {
      expect(one(junk), junk).toBeNull();
    }
  });

  it('of two addresses written the same way, the last: the MTA writes its comment after the HELO the client chose', () => {
    // HELO x(a[192.0.2.1]) must not hide the client behind a clean address, nor make it ambiguous.
    expect(one(`from x (a [192.0.2.1]) (b [192.0.2.2]) by mx.example.org id 4AB; ${DATE}`)).toBe('192.0.2.2');
    expect(one(`from x (a [192.0.2.1]) (b [192.0.2.1]) by mx.example.org id 4AB; ${DATE}`)).toBe('192.0.2.1');
  });
});

describe('dnsblQueryName', () => {
  it('IPv4: the octets reversed, then the zone', () => {
    expect(dnsblQueryName('192.0.2.99', 'bl.test')).toBe('99.2.0.192.bl.test');
    expect(dnsblQueryName('192.0.2.99', 'zen.spamhaus.org.')).toBe('99.2.0.192.zen.spamhaus.org');
  });

  it('IPv6: 32 nibbles reversed (RFC 5782 §2.4), compressed forms expanded', () => {
    // RFC 5782's own example.
    expect(dnsblQueryName('2001:db8:1:2:3:4:567:89ab', 'ugly.example.com')).toBe('b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com');
    expect(dnsblQueryName('2001:DB8::99', 'bl.test')).toBe('9.9.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test');
    expect(dnsblQueryName('::1', 'bl.test')).toBe(`1.${'0.'.repeat(31)}bl.test`);
    expect(dnsblQueryName('::ffff:192.0.2.99', 'bl.test')).toBe('99.2.0.192.bl.test');
  });

  it('refuses what is not an address', () => {
    expect(() => dnsblQueryName('example.com', 'bl.test')).toThrow(/not an IP address/);
  });
});

describe('candidateAddresses against a HELO crafted to hide the client', () => {
  const DATE = 'Tue, 1 Dec 2026 10:00:00 +0000';
  const one = (header: string) => candidateAddresses([header], 1);
  it.each([
    [`from x( (unknown [192.0.2.7]) by mx.example.org (Postfix) with ESMTP id 4AB; ${DATE}`],
    [`from a;b (unknown [192.0.2.7]) by mx.example.org (Postfix) with ESMTP id 4AB; ${DATE}`],
    [`from a by b (unknown [192.0.2.7]) by mx.example.org (Postfix) with ESMTP id 4AB; ${DATE}`],
    [`from [192.0.2.7] (helo=a[127.0.0.2]) by mx.example.org with esmtp (Exim 4.96) id 1x; ${DATE}`],
  ])('%s: the client the MTA recorded is looked up, and no address from helo=', (header) => {
    expect(one(header)).toContain('192.0.2.7');
    expect(one(header)).not.toContain('127.0.0.2');
  });
});

describe('candidateAddresses', () => {
  it('every address of the trusted header, the parsed client first: a forged HELO adds one, never hides the client', () => {
    const forged = 'from (x [8.8.8.8]) by y (rdns.example [203.0.113.9]) by mx.example.org (Postfix) with ESMTP id 4AB; Tue, 1 Dec 2026 10:00:00 +0000';
    expect(candidateAddresses([forged], 1).sort()).toEqual(['203.0.113.9', '8.8.8.8']);
    const exim = 'from [192.0.2.7] (helo=a[127.0.0.2]) by mx.example.org with esmtp (Exim 4.96) id 1x';
    expect(candidateAddresses([exim], 1)).toEqual(['192.0.2.7']);
    expect(candidateAddresses([], 1)).toEqual([]);
  });
});
