import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { RouteDecider, type DnsblLookupFn } from '../../../src/deliver/route/decide.js';
import { Headers } from '../../../src/deliver/route/headers.js';
import { Router, type Destination, type NeedsLookup } from '../../../src/deliver/route/router.js';

const base = { name: 'jobs', host: 'pop.example.com', user: 'u', password: 'p' };
const account = (extra: Record<string, unknown>) => parseConfig(JSON.stringify({ accounts: [{ ...base, ...extra }] }), '/c.json').accounts[0]!;
const loadError = (extra: Record<string, unknown>): string => {
  try {
    account(extra);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('the config loaded');
};
const facts = (headers: string, size = 100) => ({ headers: Headers.parse(Buffer.from(`${headers}\r\n\r\nbody\r\n`)), size });
const by = (takes: Destination[] | NeedsLookup) => {
  if ('lookup' in takes) throw new Error(`unexpected lookup of ${takes.lookup}`);
  return takes.map((t) => t.by.replace('accounts[0].', ''));
};
const SPAM_HOP = 'Received: from bad.example (bad.example [192.0.2.99]) by mx.example.com (Postfix) with ESMTP id 1';
const GOOD_HOP = 'Received: from good.example (good.example [198.51.100.7]) by mx.example.com (Postfix) with ESMTP id 2';

/** James's default pipeline, as `route --from-james` writes it, with a job for hogehoge first in transport. */
const james = {
  processors: {
    root: [
      { match: { relayLimit: 30 }, drop: true },
      { match: { inSpammerBlacklist: 'bl.test' }, processor: 'spam' },
      { match: 'all', processor: 'transport' },
    ],
    transport: [
      { match: { userIs: ['hogehoge'] }, deliver: { command: ['/opt/hogehoge'] }, continue: true },
      { match: { and: [{ hostIs: ['example.com'] }, { userIs: ['alice', 'hogehoge'] }] }, deliver: { maildir: '/m/inbox' } },
      { match: { hostIs: ['example.com'] }, processor: 'local-address-error' },
      { match: 'all', deliver: { maildir: '/m/relay-denied' } },
    ],
    spam: [{ match: 'all', deliver: { maildir: '/m/spam' } }],
    'local-address-error': [{ match: 'all', deliver: { maildir: '/m/address-error' } }],
    error: [{ match: 'all', deliver: { maildir: '/m/error' } }],
  },
};

/** A DNSBL where only 192.0.2.99 is listed, counting the questions. */
function fakeDnsbl(fail = false): DnsblLookupFn & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async listed(ip, zone) {
      asked.push(`${ip} ${zone}`);
      if (fail) throw new Error('DNSBL lookup of 99.2.0.192.bl.test failed: the server failed (SERVFAIL)');
      return ip === '192.0.2.99';
    },
  };
}

describe('processors', () => {
  const config = account(james);
  const decider = (lookup = fakeDnsbl()) => new RouteDecider(new Router(config), config.dnsbl, async () => lookup);

  it('a branch moves the message to the start of another processor', async () => {
    const routed = await decider().explain(facts(`${GOOD_HOP}\r\nTo: alice@example.com`), 0);
    expect(routed.path).toEqual(['root', 'transport']);
    expect(by(routed.takes)).toEqual(['processors.transport[1]']);
  });

  it('inSpammerBlacklist looks up the client in the Received header the own MTA wrote', async () => {
    const lookup = fakeDnsbl();
    const routed = await decider(lookup).explain(facts(`${SPAM_HOP}\r\nTo: alice@example.com`), 0);
    expect(routed.path).toEqual(['root', 'spam']);
    expect(by(routed.takes)).toEqual(['processors.spam[0]']);
    expect(lookup.asked).toEqual(['192.0.2.99 bl.test']);
  });

  it('trustedHops: the client is named by the last Received header your own hosts wrote', async () => {
    const twoHops = account({ ...james, dnsbl: { trustedHops: 2 } });
    const lookup = fakeDnsbl();
    const d = new RouteDecider(new Router(twoHops), twoHops.dnsbl, async () => lookup);
    const inner = 'Received: from mx.example.com (mx.example.com [10.0.0.2]) by pop.example.com (Dovecot) with LMTP id 3';
    await d.decide(facts(`${inner}\r\n${SPAM_HOP}\r\nTo: alice@example.com`), 0);
    expect(lookup.asked).toEqual(['192.0.2.99 bl.test']);
  });

  it('a relay loop is dropped before any lookup', async () => {
    const lookup = fakeDnsbl();
    const loop = Array.from({ length: 30 }, () => GOOD_HOP).join('\r\n');
    expect(by(await decider(lookup).decide(facts(loop), 0))).toEqual(['processors.root[0]']);
    expect(lookup.asked).toEqual([]);
  });

  it('mail for hogehoge goes to its job and on to the inbox; an unknown local user to local-address-error', async () => {
    expect(by(await decider().decide(facts(`${GOOD_HOP}\r\nDelivered-To: HogeHoge@Example.com`), 0))).toEqual(['processors.transport[0]', 'processors.transport[1]']);
    const unknown = await decider().explain(facts(`${GOOD_HOP}\r\nTo: nobody@example.com`), 0);
    expect(unknown.path).toEqual(['root', 'transport', 'local-address-error']);
    expect(by(unknown.takes)).toEqual(['processors["local-address-error"][0]']);
    expect(by(await decider().decide(facts(`${GOOD_HOP}\r\nTo: someone@elsewhere.example`), 0))).toEqual(['processors.transport[3]']);
  });

  it('a processor named "error" takes what failed in 5 runs, and counts as the quarantine', async () => {
    expect(config.onFailure).toMatchObject({ after: 5, processor: 'error' });
    const takes = await decider().decide(facts(`${GOOD_HOP}\r\nTo: alice@example.com`), 5);
    expect(by(takes)).toEqual(['processors.error[0]']);
    expect(takes.every((t) => new Router(config).isQuarantine(t))).toBe(true);
  });

  it('a zone that cannot answer lists no one, as in James: said once, and not asked again this run', async () => {
    const lookup = fakeDnsbl(true);
    const warnings: string[] = [];
    const d = new RouteDecider(new Router(config), config.dnsbl, async () => lookup, (w) => warnings.push(w));
    expect(by(await d.decide(facts(`${SPAM_HOP}\r\nTo: alice@example.com`), 0, 'u1'))).toEqual(['processors.transport[1]']);
    expect(by(await d.decide(facts(`${GOOD_HOP}\r\nTo: alice@example.com`), 0, 'u2'))).toEqual(['processors.transport[1]']);
    expect(lookup.asked).toHaveLength(1);
    expect(warnings).toEqual(['DNSBL lookup of 99.2.0.192.bl.test failed: the server failed (SERVFAIL); for the rest of this run, zone bl.test is taken to list no one']);
  });

  it('a matcher that throws sends the message to the error processor, saying why', async () => {
    const routed = new Router(config).explain({ ...facts('To: alice@example.com'), headers: null as never }, 0);
    if ('lookup' in routed) throw new Error('no lookup expected');
    expect(by(routed.takes)).toEqual(['processors.error[0]']);
    expect(routed.error).toMatch(/null/);
  });

  it('a message a target refused for good goes through the error processor', async () => {
    const d = decider();
    const takes = await d.decide(facts(`${GOOD_HOP}\r\nTo: alice@example.com`), 0);
    const instead = await d.afterRefusal(takes, async () => facts(`${GOOD_HOP}\r\nTo: alice@example.com`));
    expect(by(instead!)).toEqual(['processors.error[0]']);
    expect(await d.afterRefusal(instead!, async () => facts('To: a@b'))).toBeNull();
  });

  it('after a refusal, an error processor that reads the message is asked with its facts', async () => {
    const reading = account({
      processors: { root: [{ match: 'all', deliver: { command: ['/bin/false'] } }], error: [{ match: { subject: 'keep' }, deliver: { maildir: '/m/a' } }, { match: 'all', deliver: { maildir: '/m/b' } }] },
    });
    const d = new RouteDecider(new Router(reading), reading.dnsbl, async () => fakeDnsbl());
    const takes = await d.decide(facts('Subject: keep'), 0);
    expect(by((await d.afterRefusal(takes, async () => facts('Subject: keep')))!)).toEqual(['processors.error[0]']);
  });

  it('a refusal by the error processor, reached by a branch, has nowhere else to go', async () => {
    const branched = account({
      processors: { root: [{ match: { subject: 'a' }, processor: 'error' }, { match: 'all', drop: true }], error: [{ match: 'all', deliver: { command: ['/bin/false'] } }] },
    });
    const d = new RouteDecider(new Router(branched), branched.dnsbl, async () => fakeDnsbl());
    const takes = await d.decide(facts('Subject: a'), 0);
    expect(by(takes)).toEqual(['processors.error[0]']);
    expect(await d.afterRefusal(takes, async () => facts('Subject: a'))).toBeNull();
  });

  it('the size decides when every rule on the way looks only at the size, branches included', () => {
    const sized = new Router(
      account({
        processors: {
          root: [
            { match: { sizeOver: '10M' }, processor: 'big' },
            { match: { subject: 'x' }, deliver: { maildir: '/m/x' } },
          ],
          big: [{ match: 'all', skip: true }],
        },
        deliver: { maildir: '/m/in' },
      }),
    );
    expect(sized.decideBySize(20 * 1024 * 1024, 0)).toEqual([{ by: 'accounts[0].processors.big[0]', target: null, unread: 'skip' }]);
    expect(sized.decideBySize(100, 0)).toBeNull();
  });
});

describe('James matchers', () => {
  const one = (match: unknown, headers: string) => {
    const r = new Router(account({ processors: { root: [{ match, deliver: { maildir: '/m/yes' } }] }, deliver: { maildir: '/m/no' } }));
    return by(r.decide(facts(headers), 0))[0] === 'processors.root[0]';
  };

  it.each([
    [{ userIs: 'hogehoge' }, 'To: "Hoge, H." <hogehoge@example.com>, other@example.com', true],
    [{ userIs: ['hogehoge'] }, 'To: hogehoge-list@example.com', false],
    [{ recipientIs: ['Alice@Example.com'] }, 'Cc: alice@example.com', true],
    [{ recipientIs: ['alice@example.com'] }, 'To: team: alice@example.com, bob@example.com;', true],
    [{ hostIs: ['example.com'] }, 'X-Original-To: x@example.com', true],
    [{ hostIs: ['example.com'] }, 'To: x@sub.example.com', false],
    [{ senderIs: ['bounce@example.org'] }, 'Return-Path: <bounce@example.org>\r\nFrom: a@example.org', true],
    [{ senderIs: ['a@example.org'] }, 'Return-Path: <bounce@example.org>\r\nFrom: a@example.org', false],
    [{ senderIs: ['a@example.org'] }, 'From: A <a@example.org>', true],
    [{ subjectIs: 'Hello' }, 'Subject: Hello', true],
    [{ subjectIs: 'Hello' }, 'Subject: hello', false],
    [{ subjectStartsWith: '[job]' }, 'Subject: =?UTF-8?B?W2pvYl0gw6k=?=', true],
    [{ hasHeader: 'X-Spam-Flag' }, 'x-spam-flag: NO', true],
    [{ hasHeader: 'X-Spam-Flag', value: 'YES' }, 'X-Spam-Flag: NO', false],
    [{ hasHeader: 'X-Spam-Flag', value: 'YES' }, 'X-Spam-Flag: YES', true],
  ])('%j on %j: %s', (match, headers, expected) => {
    expect(one(match, headers)).toBe(expected);
  });
});

describe('processors at load', () => {
  it.each([
    [{ processors: { transport: [{ match: 'all', drop: true }] } }, 'accounts[0].processors: missing "root", the processor every message starts in'],
    [{ processors: { root: [{ match: 'all', processor: 'spam' }] } }, 'accounts[0].processors.root[0].processor: no processor is named "spam" (there is "root")'],
    [
      { processors: { root: [{ match: { subject: 'a' }, processor: 'a' }, { match: 'all', drop: true }], a: [{ match: 'all', processor: 'b' }], b: [{ match: { subject: 'x' }, processor: 'a' }, { match: 'all', drop: true }] } },
      'accounts[0].processors.b[0].processor: a loop: a -> b -> a; a message would go round for ever',
    ],
    [{ processors: { root: [{ match: 'all', drop: true }], spam: [{ match: 'all', drop: true }] } }, 'accounts[0].processors.spam: never reached: no rule moves a message to "spam" and onFailure does not name it'],
    [
      { processors: { root: [{ match: { subject: 'a' }, processor: 'spam' }, { match: 'all', drop: true }], spam: [{ match: { subject: 'b' }, drop: true }] } },
      'accounts[0].processors.spam: messages that reach the end of "spam" have nowhere to go: end it with a rule { "match": "all", ... } (without "continue"), or give the account a "deliver"',
    ],
    [{ route: [{ match: 'all', drop: true }], processors: { root: [{ match: 'all', drop: true }] } }, 'accounts[0].route: "route" is the processor "root" written on its own; with "processors", move its rules to accounts[0].processors.root'],
    [{ processors: { root: [{ match: 'all', processor: 'ghost' }] } }, 'accounts[0].processors.root[0].processor: "ghost" is James\'s word for "no further processing": use "drop": true'],
    [{ processors: { root: [{ match: 'all', processor: 'x', continue: true }], x: [{ match: 'all', drop: true }] } }, 'accounts[0].processors.root[0].continue: a "processor" rule moves the message on to that processor, so nothing after it in this one sees it: leave "continue" out'],
    [{ processors: { root: [{ match: 'all', drop: true }] }, onFailure: { after: 2, processor: 'quarantine' } }, 'accounts[0].onFailure.processor: no processor is named "quarantine" (there is "root")'],
    [
      { processors: { root: [{ match: { subject: 'a' }, deliver: { maildir: '/m' }, continue: true }, { match: 'all', processor: 'big' }], big: [{ match: 'all', kill: true }] } },
      'accounts[0].processors.big[0]: a "kill" rule must come before any rule with "continue" (accounts[0].processors.root[0]), which may already have delivered the message',
    ],
    [{ processors: { root: [{ match: { userIs: ['a@b'] }, drop: true }] } }, 'accounts[0].processors.root[0].match.userIs[0]: expected a user name (the part of an address before "@"), got "a@b"'],
    [{ processors: { root: [{ match: { inSpammerBlacklist: 'not a zone' }, drop: true }] } }, 'accounts[0].processors.root[0].match.inSpammerBlacklist: expected a DNSBL zone like "zen.spamhaus.org", got "not a zone"'],
    [{ deliver: { maildir: '/m' }, dnsbl: { servers: ['dns.example:53'] } }, 'accounts[0].dnsbl.servers[0]: "dns.example:53" is not a resolver\'s IP address with an optional port ("127.0.0.1:5353", "[::1]:53")'],
  ])('%j', (extra, message) => {
    expect(loadError(extra)).toBe(message);
  });

  it('onFailure may name any processor, which is then reached', () => {
    const a = account({ processors: { root: [{ match: 'all', drop: true }], hold: [{ match: 'all', deliver: { maildir: '/m/hold' } }] }, onFailure: { after: 2, processor: 'hold' } });
    expect(a.onFailure).toMatchObject({ after: 2, processor: 'hold', target: null });
  });
});

describe('processors from defaults', () => {
  it('an account\'s own flat route replaces the defaults\' processors', () => {
    const config = parseConfig(
      JSON.stringify({
        defaults: { processors: { root: [{ match: 'all', drop: true }] } },
        accounts: [{ ...base, route: [{ match: 'all', deliver: { maildir: '/m/own' } }] }, { ...base, name: 'other', user: 'v' }],
      }),
      '/c.json',
    );
    expect(config.accounts[0]!.processors!.get('root')!.path).toBe('accounts[0].route');
    expect(config.accounts[1]!.processors!.get('root')!.path).toBe('defaults.processors.root');
  });
});

describe('processors at load, bounded', () => {
  it('a chain of 20,000 processors loads without overflowing the stack, and its loop is found', () => {
    const chain: Record<string, unknown[]> = { root: [{ match: 'all', processor: 'p0' }] };
    for (let i = 0; i < 20_000; i++) chain[`p${i}`] = [{ match: { subject: 'x' }, processor: `p${i + 1}` }, { match: 'all', drop: true }];
    chain.p20000 = [{ match: 'all', drop: true }];
    expect(account({ processors: chain }).processors!.size).toBe(20_002);
    chain.p20000 = [{ match: 'all', processor: 'p0' }];
    expect(loadError({ processors: chain })).toMatch(/^accounts\[0\]\.processors\.p20000\[0\]\.processor: a loop: p0 -> p1 -> .* -> p20000 -> p0; a message would go round for ever$/);
  });
});

describe('the quarantine, entered by a branch', () => {
  it('what the error processor, or a processor it branches to, or the deliver it falls through to, takes is quarantine', async () => {
    const a = account({
      processors: {
        root: [{ match: { subject: 'a' }, processor: 'error' }, { match: 'all', drop: true }],
        error: [{ match: { subject: 'x' }, processor: 'x' }],
        x: [{ match: 'all', deliver: { command: ['/bin/false'] } }],
      },
      deliver: { maildir: '/m/in' },
    });
    const d = new RouteDecider(new Router(a), a.dnsbl, async () => fakeDnsbl());
    // "a x": root -> error -> x and its command; "a": root -> error, which falls through to deliver.
    for (const [subject, where] of [['a x', 'processors.x[0]'], ['a', 'deliver']] as const) {
      const takes = await d.decide(facts(`Subject: ${subject}`), 0);
      expect(by(takes)).toEqual([where]);
      expect(takes.every((t) => t.quarantine)).toBe(true);
      expect(await d.afterRefusal(takes, async () => facts(`Subject: ${subject}`))).toBeNull();
    }
  });

  it('the defaults\' onFailure stays with the defaults\' processors', () => {
    const config = parseConfig(
      JSON.stringify({
        defaults: { processors: { root: [{ match: 'all', drop: true }], hold: [{ match: 'all', drop: true }] }, onFailure: { after: 2, processor: 'hold' } },
        accounts: [{ ...base, route: [{ match: 'all', deliver: { maildir: '/m/own' } }] }],
      }),
      '/c.json',
    );
    expect(config.accounts[0]!.onFailure).toBeNull();
  });
});
