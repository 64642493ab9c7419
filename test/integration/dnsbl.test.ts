import { expect, it } from 'vitest';
import { DnsblError, DnsblLookup, dnsblQueryName } from '../../src/deliver/route/dnsbl.js';
import { describeDnsmasq, startDnsmasq } from '../support/dnsmasq.js';

const LISTED_V4 = '192.0.2.99';
const LISTED_V6 = '2001:db8::99';
/** Answers, but outside 127.0.0.0/8: a zone gone wrong (or a domain parked on a wildcard), not a listing. */
const ODD_V4 = '192.0.2.7';
/** Spamhaus's way of saying it will not answer this resolver. */
const REFUSED_V4 = '192.0.2.8';

describeDnsmasq(
  'DnsblLookup against dnsmasq',
  {
    listed: [dnsblQueryName(LISTED_V4, 'bl.test'), dnsblQueryName(LISTED_V6, 'bl.test')],
    answers: { [dnsblQueryName(ODD_V4, 'bl.test')]: '192.0.2.1', [dnsblQueryName(REFUSED_V4, 'bl.test')]: '127.255.255.254' },
    zones: ['bl.test'],
    failing: ['broken.test'],
  },
  (dnsmasq) => {
    const lookup = (options: { timeoutMs?: number; tries?: number } = {}) =>
      new DnsblLookup({ servers: [dnsmasq().address], timeoutMs: options.timeoutMs ?? 250, tries: options.tries ?? 2 });

    it('a listed IPv4 address is listed; an unlisted one is not', async () => {
      const dnsbl = lookup();
      expect(await dnsbl.listed(LISTED_V4, 'bl.test')).toBe(true);
      expect(await dnsbl.listed('192.0.2.100', 'bl.test')).toBe(false);
    });

    it('an answer outside 127.0.0.0/8 is not a listing', async () => {
      expect(await lookup().listed(ODD_V4, 'bl.test')).toBe(false);
    });

    it('127.255.255.x is the list refusing to answer, not a listing: a DnsblError saying so', async () => {
      await expect(lookup().listed(REFUSED_V4, 'bl.test')).rejects.toThrow(
        'DNSBL lookup of 8.2.0.192.bl.test in zone bl.test failed: the list refused to answer this resolver (127.255.255.254); use a resolver of your own, not a public one',
      );
    });

    it('IPv6: looked up by its nibbles', async () => {
      const dnsbl = lookup();
      expect(await dnsbl.listed('2001:DB8:0::99', 'bl.test')).toBe(true);
      expect(await dnsbl.listed('2001:db8::100', 'bl.test')).toBe(false);
      expect(dnsmasq().queries()).toContain(dnsblQueryName(LISTED_V6, 'bl.test'));
    });

    it('a zone whose server never answers: a DnsblError naming the zone and the query', async () => {
      const failed = lookup().listed(LISTED_V4, 'broken.test');
      await expect(failed).rejects.toBeInstanceOf(DnsblError);
      await expect(failed).rejects.toThrow('DNSBL lookup of 99.2.0.192.broken.test in zone broken.test failed: no answer within 500 ms (timed out)');
      await expect(failed).rejects.toMatchObject({ code: 'DELIVERY', zone: 'broken.test', queryName: '99.2.0.192.broken.test' });
    });

    it('a lookup ends by timeoutMs * tries, though c-ares alone would wait longer', async () => {
      // c-ares doubles its timeout at each try: 300 + 600 + 1200 ms here before it gives
      // up. The words say the lookup's own deadline (900 ms) ended it, not c-ares.
      await expect(lookup({ timeoutMs: 300, tries: 3 }).listed(LISTED_V4, 'broken.test')).rejects.toThrow('no answer within 900 ms');
    });

    it('a zone the server refuses: a DnsblError saying so', async () => {
      await expect(lookup().listed(LISTED_V4, 'elsewhere.test')).rejects.toThrow(
        'DNSBL lookup of 99.2.0.192.elsewhere.test in zone elsewhere.test failed: the DNS server refused the query (REFUSED)',
      );
    });

    it('no server listening: a DnsblError saying so', async () => {
      const dnsbl = new DnsblLookup({ servers: ['127.0.0.1:1'], timeoutMs: 250 });
      await expect(dnsbl.listed(LISTED_V4, 'bl.test')).rejects.toThrow('DNSBL lookup of 99.2.0.192.bl.test in zone bl.test failed: no DNS server could be reached (connection refused)');
    });

    it('failures are not cached: the next lookup asks again', async () => {
      const dnsbl = lookup({ timeoutMs: 100, tries: 1 });
      const name = dnsblQueryName('192.0.2.55', 'broken.test');
      const asked = () => dnsmasq().queries().filter((q) => q === name).length;
      await expect(dnsbl.listed('192.0.2.55', 'broken.test')).rejects.toBeInstanceOf(DnsblError);
      const first = asked();
      expect(first).toBeGreaterThan(0);
      await expect(dnsbl.listed('192.0.2.55', 'broken.test')).rejects.toBeInstanceOf(DnsblError);
      expect(asked()).toBeGreaterThan(first);
    });

    it('answers are kept for the lifetime of the lookup: asked once, answered after the server is gone', async () => {
      // A server of its own, to stop.
      const own = await startDnsmasq({ listed: [dnsblQueryName(LISTED_V4, 'bl.test')], zones: ['bl.test'] });
      try {
        const dnsbl = new DnsblLookup({ servers: [own.address], timeoutMs: 250 });
        // Asked twice at once: one query, the second waiting for the first.
        expect(await Promise.all([dnsbl.listed(LISTED_V4, 'bl.test'), dnsbl.listed(LISTED_V4, 'bl.test')])).toEqual([true, true]);
        expect(await dnsbl.listed('192.0.2.100', 'bl.test')).toBe(false);
        expect(await dnsbl.listed(LISTED_V4, 'bl.test.')).toBe(true);
        expect(own.queries()).toEqual([dnsblQueryName(LISTED_V4, 'bl.test'), dnsblQueryName('192.0.2.100', 'bl.test')]);

        await own.stop();
        expect(await dnsbl.listed(LISTED_V4, 'bl.test')).toBe(true);
        expect(await dnsbl.listed('::ffff:192.0.2.100', 'bl.test')).toBe(false);
        // Not cached: asked, and the server is gone.
        await expect(dnsbl.listed('192.0.2.101', 'bl.test')).rejects.toBeInstanceOf(DnsblError);
      } finally {
        await own.stop();
      }
    });
  },
);
