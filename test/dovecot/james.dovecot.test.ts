import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, beforeEach, expect, it } from 'vitest';
import { Workspace, runCli } from '../support/cli.js';
import { crlfToLf } from '../support/corpus.js';
import { describeDnsmasq, type Dnsmasq } from '../support/dnsmasq.js';
import { dovecotServes, type Dovecot } from '../support/dovecot.js';
import { describeWithDovecot, privateDovecotAndWorkspace } from '../support/dovecot-suite.js';

const JAMES_CONFIG = path.join(import.meta.dirname, '..', 'fixtures', 'james', 'config.xml');

/** The hop your own MTA wrote when it took the message from the client at `ip`. */
const hop = (ip: string): string => `Received: from client.example (client.example [${ip}])\n\tby mx.example.com (Postfix) with ESMTP id 4F1A2; Tue, 1 Dec 2026 10:00:00 +0000\n`;
const LISTED = '192.0.2.99';
const CLEAN = '198.51.100.7';
const mail = (ip: string, to: string, subject: string, body = 'please do it\n'): Buffer => Buffer.from(`${hop(ip)}From: someone@example.org\nTo: ${to}\nSubject: ${subject}\n\n${body}`);

/** The test corpus the issue names, and the mail that goes the other ways through James's pipeline. */
const corpus = {
  spam: mail(LISTED, 'alice@example.com', 'cheap watches', 'buy \xff now\n'),
  hogehoge: mail(CLEAN, 'Hoge <hogehoge@example.com>', 'resize the photos', '.dot line\nresize /incoming\n'),
  loop: Buffer.from(`${hop(CLEAN).repeat(30)}From: someone@example.org\nTo: alice@example.com\nSubject: round and round\n\nagain\n`),
  unknownUser: mail(CLEAN, 'nobody@example.com', 'for a user who is not here'),
  alice: mail(CLEAN, 'alice@example.com', 'lunch?'),
  remote: mail(CLEAN, 'someone@elsewhere.example', 'not ours'),
  poison: mail(CLEAN, 'hogehoge@example.com', 'poison'),
};

/**
 * The James pipeline of config.xml (James 2.3's default, with the user's own mailet
 * first in transport for UserIs=hogehoge), translated by `route --from-james`, routes
 * mail fetched from Dovecot to where James would put it; the DNSBL is dnsmasq on loopback.
 */
describeWithDovecot('a James pipeline, translated, against Dovecot', () => {
  const suite = privateDovecotAndWorkspace(['james']);
  let dovecot: Dovecot;
  let ws: Workspace;
  beforeAll(() => void (dovecot = suite.dovecot()));
  beforeEach(() => void (ws = suite.ws()));
  describeDnsmasq('and dnsmasq as the DNSBL', { listed: ['99.2.0.192.sbl.spamhaus.org'], zones: ['sbl.spamhaus.org'] }, (dnsmasq) => pipeline(dnsmasq));

  function pipeline(dnsmasq: () => Dnsmasq): void {

    /** The user's own mailet, as the command they filled in: keeps what it is given, and refuses the poison (EX_DATAERR). */
    function hogehogeJob(): string {
      const out = ws.mkdir('hogehoge-job');
      const script = ws.path('hogehoge-job.sh');
      writeFileSync(script, `#!/bin/sh\nf="${out}/$PINCHMAIL_UIDL.eml"\ncat > "$f"\nif grep -q '^Subject: poison' "$f"; then rm -f "$f"; echo "cannot resize this" >&2; exit 65; fi\n`, { mode: 0o755 });
      return script;
    }

    /** What the hogehoge job kept. */
    const jobGot = (): Buffer[] => readdirSync(ws.path('hogehoge-job')).map((f) => readFileSync(ws.path('hogehoge-job', f))).sort(Buffer.compare);

    async function translated(): Promise<{ processors: Record<string, { deliver?: { command?: string[] } }[]>; onFailure: unknown }> {
      const run = await runCli(['route', '--from-james', JAMES_CONFIG, '--local-users', 'alice,hogehoge']);
      expect(run.code, run.stderr).toBe(0);
      // What has no meaning for a fetcher is said, not silently dropped.
      expect(run.stderr).toContain('pinchmail: left out: processor "transport", mailet 5 (RemoteDelivery): pinchmail does not relay mail');
      expect(run.stderr).toContain('pinchmail: left out: processor "relay-denied": never reached from root');
      return JSON.parse(run.stdout);
    }

    it('routes spam, mail for hogehoge, a loop and mail for an unknown local user where James would', async () => {
      for (const m of Object.values(corpus)) dovecot.deliver('james', m);
      const routing = await translated();
      // The operator fills in the command that does the custom mailet's job, as the translation asks.
      expect(routing.processors.transport![0]!.deliver!.command).toEqual(['/usr/local/bin/HogehogeMailet']);
      routing.processors.transport![0]!.deliver!.command = [hogehogeJob()];
      ws.mkdir('var/mail');
      const config = ws.config({
        accounts: [
          {
            name: 'james',
            host: '127.0.0.1',
            port: dovecot.port,
            tls: 'starttls',
            tlsOptions: { ca: dovecot.caFile },
            user: 'james',
            password: dovecot.users.get('james')!.password,
            retention: '0',
            ...routing,
            // What transport's RemoteDelivery did for mail that is not local: here, a Maildir of its own.
            deliver: { maildir: 'var/mail/relay-denied' },
            dnsbl: { servers: [dnsmasq().address] },
          },
        ],
      });

      const saved = ws.path('spam.eml');
      writeFileSync(saved, corpus.spam);
      const test = await runCli(['-c', config, 'route', '--test', saved]);
      expect(test.code, test.stderr).toBe(0);
      expect(test.stdout).toContain('path: root -> spam');
      expect(test.stdout).toMatch(/root\[1\] +inSpammerBlacklist sbl\.spamhaus\.org +yes -> processor spam/);

      const run = await runCli(['-c', config, '--json']);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout).accounts[0]).toMatchObject({ failed: 0, dropped: 1, quarantined: 1 });
      const served = (m: Buffer): Buffer => crlfToLf(dovecotServes(m));
      const sorted = (...ms: Buffer[]): Buffer[] => ms.map(served).sort(Buffer.compare);
      // root: InSpammerBlacklist -> spam -> its repository.
      expect(ws.maildir('var/mail/spam')).toEqual(sorted(corpus.spam));
      // transport: the hogehoge mailet, then LocalDelivery for the local users.
      expect(jobGot()).toEqual(sorted(corpus.hogehoge));
      expect(ws.maildir('Maildir')).toEqual(sorted(corpus.hogehoge, corpus.alice, corpus.poison));
      // HostIsLocal without RecipientIsLocal -> local-address-error.
      expect(ws.maildir('var/mail/address-error')).toEqual(sorted(corpus.unknownUser));
      // The account's deliver, for what transport's end leaves.
      expect(ws.maildir('var/mail/relay-denied')).toEqual(sorted(corpus.remote));
      // The mailet refused the poison for good: the error processor's repository.
      expect(ws.maildir('var/mail/error')).toEqual(sorted(corpus.poison));
      // RelayLimit=30 -> Null: the loop went nowhere; everything was taken, so nothing is left on the server.
      expect(dovecot.stored('james')).toEqual([]);
    });
  }
});
