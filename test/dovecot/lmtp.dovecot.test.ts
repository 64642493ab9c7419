import { beforeAll, beforeEach, expect, it } from 'vitest';
import { Workspace, runCli } from '../support/cli.js';
import { crlfToLf } from '../support/corpus.js';
import { HAS_LMTP, dovecotServes, dovecotUnavailable, type Dovecot } from '../support/dovecot.js';
import { describeIf, privateDovecotAndWorkspace } from '../support/dovecot-suite.js';

/**
 * The LMTP target end to end against Dovecot's own LMTP server (dovecot-lmtpd), the way
 * Dovecot wants local delivery: pinchmail fetches from one Dovecot account by POP3 and
 * hands each message to LMTP for another, over the unix socket and over TCP.
 */
describeIf('delivering by LMTP to Dovecot', 'Dovecot tests', dovecotUnavailable() ?? (HAS_LMTP ? null : 'dovecot-lmtpd is not installed'), () => {
  const suite = privateDovecotAndWorkspace(['source', 'dest']);
  let dovecot: Dovecot;
  let ws: Workspace;
  beforeAll(() => void (dovecot = suite.dovecot()));
  beforeEach(() => void (ws = suite.ws()));

  const account = (deliver: Record<string, unknown>): string =>
    ws.config({
      accounts: [
        { name: 'source', host: '127.0.0.1', port: dovecot.port, tls: 'none', user: 'source', password: dovecot.users.get('source')!.password, retention: '0', deliver },
      ],
    });

  /** What Dovecot's LMTP put in front of a message it stored: its Return-Path and Delivered-To fields. */
  const withoutDovecotsFields = (stored: Buffer): Buffer => {
    let at = 0;
    for (;;) {
      const lf = stored.indexOf(0x0a, at);
      const line = stored.subarray(at, lf).toString('latin1');
      if (!/^(Return-Path|Delivered-To): /.test(line)) return stored.subarray(at);
      at = lf + 1;
    }
  };

  it('each message lands in the recipient’s Maildir byte for byte, and leaves the source', async () => {
    const files = [
      Buffer.from('From: jobs@example.org\nSubject: first\n\n.leading dot\n>From quoted\n\xe9\xff 8-bit\n', 'latin1'),
      Buffer.from('From: jobs@example.org\nSubject: second\n\nbody\n'),
    ];
    for (const f of files) dovecot.deliver('source', f);
    const run = await runCli(['-c', account({ lmtp: `unix:${dovecot.lmtpSocket}`, to: 'dest' }), '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).accounts[0]).toMatchObject({ delivered: 2, deleted: 2 });
    expect(dovecot.stored('source')).toEqual([]);
    const stored = dovecot.contents('dest').map((m) => crlfToLf(withoutDovecotsFields(m)));
    expect(stored.sort(Buffer.compare)).toEqual(files.map((f) => crlfToLf(dovecotServes(f))).sort(Buffer.compare));
    // Dovecot records the envelope: the sender from the message's From, and the recipient.
    expect(dovecot.contents('dest')[0]!.toString('latin1')).toMatch(/^Return-Path: <jobs@example\.org>\r?\nDelivered-To: dest\r?\n/);
  });

  it('a recipient Dovecot does not know is refused for good (exit 73); the message stays on the source', async () => {
    dovecot.deliver('source', Buffer.from('Subject: for nobody\n\nbody\n'));
    const run = await runCli(['-c', account({ lmtp: `unix:${dovecot.lmtpSocket}`, to: 'no-such-user' })]);
    expect(run.code, run.stderr).toBe(73);
    expect(run.stderr).toMatch(/LMTP unix:.* to no-such-user: the server said \\?"550/);
    expect(dovecot.stored('source')).toHaveLength(1);
  });
});
