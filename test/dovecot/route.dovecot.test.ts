import { writeFileSync } from 'node:fs';
import { beforeAll, beforeEach, expect, it } from 'vitest';
import { Workspace, runCli } from '../support/cli.js';
import { crlfToLf } from '../support/corpus.js';
import { dovecotServes, type Dovecot } from '../support/dovecot.js';
import { describeWithDovecot, privateDovecotAndWorkspace } from '../support/dovecot-suite.js';

/** Routing end to end: Dovecot, real procmail as one target, Maildirs as the others. */
describeWithDovecot('routing against Dovecot, with procmail', () => {
  const suite = privateDovecotAndWorkspace(['routed', 'failing', 'sized']);
  let dovecot: Dovecot;
  let ws: Workspace;
  beforeAll(() => void (dovecot = suite.dovecot()));
  beforeEach(() => void (ws = suite.ws()));

  const procmail = (maildir: string): string[] => {
    const rc = ws.path(`${maildir}.rc`);
    writeFileSync(rc, `:0\n${ws.path(maildir)}/\n`);
    return ['/usr/bin/procmail', '-m', rc];
  };
  const account = (user: string, extra: Record<string, unknown>): Record<string, unknown> => ({
    name: user,
    host: '127.0.0.1',
    port: dovecot.port,
    tls: 'starttls',
    tlsOptions: { ca: dovecot.caFile },
    user,
    password: dovecot.users.get(user)!.password,
    retention: '0',
    ...extra,
  });

  it('each message lands, byte for byte, where the route sends it; the spam never leaves the server whole', async () => {
    const files = {
      spam: Buffer.from('Subject: =?UTF-8?B?5a6J44GE?= deal\nX-Spam-Flag: YES\n\nbuy \xff\xfe now\n', 'latin1'),
      hoge: Buffer.from('Subject: job\nTo: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?= <hogehoge@example.com>\n\n.dot line\nresize /incoming\n', 'latin1'),
      other: Buffer.from('Subject: =?ISO-8859-1?Q?caf=E9?=\nTo: team@example.com\n\nnothing special\n', 'latin1'),
      loop: Buffer.from(`${'Received: by relay\n'.repeat(5)}Subject: loop\n\nround and round\n`),
    };
    for (const f of Object.values(files)) dovecot.deliver('routed', f);
    const config = ws.config({
      accounts: [
        account('routed', {
          route: [
            { match: { relayLimit: 5 }, drop: true },
            { match: { and: [{ header: 'X-Spam-Flag', regex: '^yes$' }, { subject: '安い' }] }, deliver: { maildir: ws.path('spam') } },
            { match: { to: '^日本語 <hogehoge@' }, deliver: { command: procmail('hoge') }, continue: true },
            { match: 'all', deliver: { maildir: ws.path('inbox') } },
          ],
        }),
      ],
    });
    const run = await runCli(['-c', config, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).accounts[0]).toMatchObject({ delivered: 4, dropped: 1, deleted: 4 });
    const served = (f: Buffer): Buffer => crlfToLf(dovecotServes(f));
    expect(ws.maildir('spam')).toEqual([served(files.spam)]);
    expect(ws.maildir('hoge')).toEqual([served(files.hoge)]);
    expect(ws.maildir('inbox')).toEqual([served(files.hoge), served(files.other)].sort(Buffer.compare));
    expect(dovecot.stored('routed')).toEqual([]);
  });

  it('a target that keeps failing sends the message to onFailure after N runs', async () => {
    dovecot.deliver('failing', Buffer.from('Subject: poison\n\ncannot be parsed\n'));
    const broken = ws.path('broken.rc');
    writeFileSync(broken, ':0\n/nonexistent/Maildir/\n');
    const config = ws.config({
      accounts: [
        account('failing', {
          route: [{ match: 'all', deliver: { command: ['/usr/bin/procmail', '-m', broken] } }],
          onFailure: { after: 2, deliver: { maildir: ws.path('quarantine') } },
        }),
      ],
    });
    expect((await runCli(['-c', config])).code).toBe(75);
    expect((await runCli(['-c', config])).code).toBe(75);
    expect(dovecot.stored('failing')).toHaveLength(1);
    const third = await runCli(['-c', config, '--json']);
    expect(third.code).toBe(0);
    expect(ws.maildir('quarantine')).toEqual([crlfToLf(dovecotServes(Buffer.from('Subject: poison\n\ncannot be parsed\n')))]);
    expect(dovecot.stored('failing')).toEqual([]);
  });

  it('size rules: the big one is deleted unread, the medium one left unread run after run, the small one delivered', async () => {
    const sized = (subject: string, bytes: number): Buffer => Buffer.from(`Subject: ${subject}\n\n${'x'.repeat(bytes)}\n`);
    const [small, medium, big] = [sized('small', 10), sized('medium', 30_000), sized('big', 300_000)];
    for (const f of [small, medium, big]) dovecot.deliver('sized', f);
    const config = ws.config({
      accounts: [
        account('sized', {
          retention: '30d',
          route: [
            { match: { sizeOver: '100K' }, kill: true },
            { match: { sizeOver: '10K' }, skip: true },
          ],
          deliver: { maildir: ws.path('inbox') },
        }),
      ],
    });
    const first = await runCli(['-c', config, '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).accounts[0]).toMatchObject({ delivered: 1, skipped: 1, killed: 1, deleted: 1, leftOnServer: 2 });
    const second = await runCli(['-c', config, '--json']);
    expect(JSON.parse(second.stdout).accounts[0]).toMatchObject({ delivered: 0, skipped: 1, killed: 0, deleted: 0 });
    expect(ws.maildir('inbox')).toEqual([crlfToLf(dovecotServes(small))]);
    const left = dovecot.contents('sized');
    expect(left).toHaveLength(2);
    expect(left.some((m) => m.includes('Subject: medium'))).toBe(true);
    expect(left.some((m) => m.includes('Subject: big'))).toBe(false);
  });
});
