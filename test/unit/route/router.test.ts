import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { Headers } from '../../../src/deliver/route/headers.js';
import { Router } from '../../../src/deliver/route/router.js';

const base = { name: 'jobs', host: 'pop.example.com', user: 'u', password: 'p' };
const account = (extra: Record<string, unknown>) => parseConfig(JSON.stringify({ accounts: [{ ...base, ...extra }] }), '/c.json').accounts[0]!;
const facts = (headers: string, size = 100) => ({ headers: Headers.parse(Buffer.from(`${headers}\r\n\r\nbody\r\n`)), size });

/** The James-style pipeline from SPEC. */
const pipeline = account({
  route: [
    { match: { relayLimit: 3 }, drop: true },
    { match: { header: 'X-Spam-Flag', regex: '^YES' }, deliver: { maildir: '/m/spam' } },
    { match: { to: '^hogehoge@' }, deliver: { command: ['/opt/jobs/hogehoge'] }, continue: true },
    { match: { sizeOver: '20M' }, deliver: { maildir: '/m/big' } },
    { match: 'all', deliver: { command: ['/usr/bin/procmail'] } },
  ],
  onFailure: { after: 5, deliver: { maildir: '/m/quarantine' } },
});
const by = (takes: { by: string }[] | { lookup: string }) => {
  if ('lookup' in takes) throw new Error(`unexpected lookup of ${takes.lookup}`);
  return takes.map((t) => t.by.replace('accounts[0].', ''));
};

describe('Router', () => {
  const router = new Router(pipeline);

  it('the first matching rule ends the route', () => {
    expect(by(router.decide(facts('X-Spam-Flag: YES\r\nTo: hogehoge@example.com'), 0))).toEqual(['route[1]']);
  });

  it('"continue" lets the message go on down the list too', () => {
    expect(by(router.decide(facts('To: hogehoge@example.com'), 0))).toEqual(['route[2]', 'route[4]']);
    expect(by(router.decide(facts('To: hogehoge@example.com', 30 * 1024 * 1024), 0))).toEqual(['route[2]', 'route[3]']);
  });

  it('drop takes the message to nowhere', () => {
    const takes = router.decide(facts('Received: a\r\nReceived: b\r\nReceived: c'), 0);
    expect(takes).toEqual([{ by: 'accounts[0].route[0]', target: null }]);
  });

  it('after "after" failed runs, the message goes to onFailure instead', () => {
    expect(by(router.decide(facts('To: x@y'), 4))).toEqual(['route[4]']);
    expect(by(router.decide(facts('To: x@y'), 5))).toEqual(['onFailure']);
    expect(router.quarantines(5)).toBe(true);
  });

  it('a message no ending rule takes goes to the account\'s deliver', () => {
    const r = new Router(account({ route: [{ match: { subject: 'urgent' }, deliver: { maildir: '/m/urgent' } }], deliver: { maildir: '/m/inbox' } }));
    expect(by(r.decide(facts('Subject: hello'), 0))).toEqual(['deliver']);
    expect(by(r.decide(facts('Subject: URGENT'), 0))).toEqual(['route[0]']);
  });

  it('without a route, deliver, with no need to look at the message', () => {
    const r = new Router(account({ deliver: { maildir: '/m' } }));
    expect(r.needsHeaders).toBe(false);
    expect(by(r.decide(null, 0))).toEqual(['deliver']);
  });

  it('explain shows each rule tried, up to the one that ended the route', () => {
    const routed = router.explain(facts('X-Spam-Flag: YES\r\nTo: hogehoge@example.com'), 0);
    if ('lookup' in routed) throw new Error('no lookup expected');
    expect(routed.steps.map((s) => [s.rule.path.replace('accounts[0].', ''), s.matched])).toEqual([
      ['route[0]', false],
      ['route[1]', true],
    ]);
    expect(routed.path).toEqual(['root']);
  });
});

describe('Router.decideBySize', () => {
  const sized = account({
    route: [
      { match: { sizeOver: '100M' }, kill: true },
      { match: { or: [{ sizeOver: '20M' }, { not: 'all' }] }, skip: true },
      { match: { subject: 'x' }, deliver: { maildir: '/m/x' } },
    ],
    deliver: { maildir: '/m/in' },
    onFailure: { after: 2, deliver: { maildir: '/m/quarantine' } },
  });
  const router = new Router(sized);
  const MB = 1024 * 1024;

  it('decides by the size what rules that look only at it end', () => {
    expect(router.decideBySize(200 * MB, 0)).toEqual([{ by: 'accounts[0].route[0]', target: null, unread: 'kill' }]);
    expect(router.decideBySize(30 * MB, 0)).toEqual([{ by: 'accounts[0].route[1]', target: null, unread: 'skip' }]);
  });

  it('is null when a rule that reads the header comes first', () => {
    expect(router.decideBySize(1000, 0)).toBeNull();
  });

  it('the quarantine and an account without a route need no header', () => {
    expect(by(router.decideBySize(200 * MB, 2)!)).toEqual(['onFailure']);
    expect(by(new Router(account({ deliver: { maildir: '/m' } })).decideBySize(1, 0)!)).toEqual(['deliver']);
  });

  it('rules that continue are followed to the end of the route', () => {
    const r = new Router(account({ route: [{ match: { sizeOver: '1K' }, deliver: { maildir: '/m/big' }, continue: true }], deliver: { maildir: '/m/in' } }));
    expect(by(r.decideBySize(5000, 0)!)).toEqual(['route[0]', 'deliver']);
    expect(by(r.decideBySize(10, 0)!)).toEqual(['deliver']);
  });
});
