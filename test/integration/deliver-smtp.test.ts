import { existsSync, readFileSync } from 'node:fs';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { Workspace, runCli } from '../support/cli.js';
import { crlfToLf } from '../support/corpus.js';
import { describeIf } from '../support/dovecot-suite.js';
import { PASSWORD, USER, fakeServer, uidlsOn } from '../support/fake-pop3.js';
import { smtpSinkUnavailable, startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';

/**
 * The SMTP and LMTP targets against a real MTA's server side (Postfix's smtp-sink on
 * loopback): the bytes it receives, the envelope, and what its 4xx and 5xx replies do.
 */
const messages = [
  Buffer.from('Return-Path: <bounce@example.org>\r\nFrom: Jobs <jobs@example.org>\r\nSubject: dots\r\n\r\n..a line that began with a dot\r\n.\r\n>From here\r\n\xe9\xff 8-bit\r\n', 'latin1'),
  Buffer.from('From: "A Person" <person@example.net>\r\nSubject: no return path\r\n\r\nbody\r\n'),
];

describeIf('delivering by SMTP and LMTP to smtp-sink', 'SMTP tests', smtpSinkUnavailable(), () => {
  let server: DevPop3Server;
  let port: number;
  let ws: Workspace;
  let sink: SmtpSink | null = null;
  beforeEach(async () => {
    server = fakeServer(messages);
    ({ port } = await server.listen('plain'));
    ws = new Workspace();
  });
  afterEach(async () => {
    await server.close();
    await sink?.stop();
    sink = null;
    ws.remove();
  });

  const config = (deliver: Record<string, unknown>, extra: Record<string, unknown> = {}): string =>
    ws.config({ accounts: [{ name: 'jobs', host: '127.0.0.1', port, tls: 'none', user: USER, password: PASSWORD, retention: '0', deliver, ...extra }] });

  it.each(['smtp', 'lmtp'] as const)('%s: each message arrives byte for byte, the envelope sender from Return-Path or From, and leaves the server', async (kind) => {
    sink = await startSmtpSink({ lmtp: kind === 'lmtp' });
    const run = await runCli(['-c', config({ [kind]: `127.0.0.1:${sink.port}`, to: 'jobs@example.com' }), '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).accounts[0]).toMatchObject({ delivered: 2, deleted: 2 });
    const byContent = (a: { message: Buffer }, b: { message: Buffer }): number => Buffer.compare(a.message, b.message);
    expect(sink.messages().sort(byContent)).toEqual([
      { mailFrom: expect.stringMatching(/^<bounce@example\.org>/), rcptTo: ['<jobs@example.com>'], message: crlfToLf(messages[0]!) },
      { mailFrom: expect.stringMatching(/^<person@example\.net>/), rcptTo: ['<jobs@example.com>'], message: crlfToLf(messages[1]!) },
    ].sort(byContent));
    expect(uidlsOn(server)).toEqual([]);
  });

  it('a configured "from" is the envelope sender; "" is the null sender', async () => {
    sink = await startSmtpSink();
    const run = await runCli(['-c', config({ smtp: `127.0.0.1:${sink.port}`, to: 'jobs@example.com', from: '' })]);
    expect(run.code, run.stderr).toBe(0);
    expect(sink.messages().map((m) => m.mailFrom)).toEqual([expect.stringMatching(/^<>/), expect.stringMatching(/^<>/)]);
  });

  it('a 4xx reply to the data is "try again later": exit 75, nothing deleted, and the next run delivers', async () => {
    sink = await startSmtpSink({ args: ['-r', '.'] });
    const to = { smtp: `127.0.0.1:${sink.port}`, to: 'jobs@example.com' };
    const run = await runCli(['-c', config(to)]);
    expect(run.code, run.stderr).toBe(75);
    expect(run.stderr).toMatch(/SMTP 127\.0\.0\.1:\d+ to jobs@example\.com: the server said \\?"4\d\d/);
    expect(uidlsOn(server)).toHaveLength(2);
    await sink.stop();
    sink = await startSmtpSink();
    const again = await runCli(['-c', config({ ...to, smtp: `127.0.0.1:${sink.port}` })]);
    expect(again.code, again.stderr).toBe(0);
    expect(sink.messages()).toHaveLength(2);
    expect(uidlsOn(server)).toEqual([]);
  });

  it('LMTP: a 5xx reply for the recipient refuses the message for good: exit 73, or straight to onFailure', async () => {
    sink = await startSmtpSink({ lmtp: true, args: ['-f', '.'] });
    const lmtp = { lmtp: `127.0.0.1:${sink.port}`, to: 'jobs@example.com' };
    const refused = await runCli(['-c', config(lmtp)]);
    expect(refused.code, refused.stderr).toBe(73);
    expect(refused.stderr).toMatch(/LMTP 127\.0\.0\.1:\d+ to jobs@example\.com: the server said \\?"5\d\d/);
    expect(uidlsOn(server)).toHaveLength(2);
    const quarantined = await runCli(['-c', config(lmtp, { onFailure: { after: 5, deliver: { maildir: ws.path('quarantine') } } })]);
    expect(quarantined.code, quarantined.stderr).toBe(0);
    expect(ws.maildir('quarantine')).toEqual(messages.map(crlfToLf).sort(Buffer.compare));
    expect(uidlsOn(server)).toEqual([]);
  });

  it('a 5xx to a configured sender is the target’s, not the message’s: exit 78, nothing sent to onFailure', async () => {
    sink = await startSmtpSink({ args: ['-f', 'MAIL'] });
    const run = await runCli(['-c', config({ smtp: `127.0.0.1:${sink.port}`, to: 'jobs@example.com', from: 'me@example.com' }, { onFailure: { after: 5, deliver: { maildir: ws.path('quarantine') } } })]);
    expect(run.code, run.stderr).toBe(78);
    expect(ws.maildir('quarantine')).toEqual([]);
    expect(uidlsOn(server)).toHaveLength(2);
  });

  it('an LMTP socket that is not there: a temporary failure (exit 75), not an internal error', async () => {
    const run = await runCli(['-c', config({ lmtp: `unix:${ws.path('no-such-socket')}`, to: 'jobs' })]);
    expect(run.code, run.stderr).toBe(75);
    expect(run.stderr).toMatch(/LMTP unix:.*no-such-socket to jobs: .*ENOENT/);
    expect(uidlsOn(server)).toHaveLength(2);
  });

  it('no server listening: a temporary failure (exit 75), nothing deleted', async () => {
    const run = await runCli(['-c', config({ smtp: '127.0.0.1:1', to: 'jobs@example.com' })]);
    expect(run.code, run.stderr).toBe(75);
    expect(run.stderr).toMatch(/SMTP 127\.0\.0\.1:1 to jobs@example\.com: .*ECONNREFUSED/);
    expect(uidlsOn(server)).toHaveLength(2);
  });

  it('"auth": logs in with the password from the environment before MAIL FROM, and no delivery command inherits it', async () => {
    sink = await startSmtpSink({ verbose: true });
    const relay = { smtp: `127.0.0.1:${sink.port}`, to: 'jobs@example.com', auth: { user: 'relay', password: { env: 'RELAY_PASSWORD' } } };
    const run = await runCli(['-c', config(relay, { route: [{ match: 'all', deliver: { command: 'env > "$OUT/env"' }, continue: true }], deliver: relay })], {
      RELAY_PASSWORD: 'relay-s3cret',
      OUT: ws.path(),
    });
    expect(run.code, run.stderr).toBe(0);
    expect(sink.messages()).toHaveLength(2);
    const plain = Buffer.from('\0relay\0relay-s3cret').toString('base64');
    const commands = sink.commands();
    expect(commands.filter((c) => c.startsWith('AUTH'))).toEqual([`AUTH PLAIN ${plain}`, `AUTH PLAIN ${plain}`]);
    expect(commands.indexOf(`AUTH PLAIN ${plain}`)).toBeLessThan(commands.findIndex((c) => c.startsWith('MAIL FROM')));
    expect(readFileSync(ws.path('env'), 'utf8')).not.toContain('relay-s3cret');
  });

  it('"auth" the server refuses: the target cannot work as configured (exit 78), nothing deleted, the password never shown', async () => {
    sink = await startSmtpSink({ verbose: true, args: ['-f', 'AUTH'] });
    const relay = { smtp: `127.0.0.1:${sink.port}`, to: 'jobs@example.com', auth: { user: 'relay', password: 'relay-s3cret' } };
    const run = await runCli(['-c', config(relay, { onFailure: { after: 5, deliver: { maildir: ws.path('quarantine') } } }), '-vv']);
    expect(run.code, run.stderr).toBe(78);
    expect(run.stderr).toMatch(/SMTP 127\.0\.0\.1:\d+ to jobs@example\.com: the server said \\?"500 5\.3\.0 Error: command failed/);
    expect(run.stderr + run.stdout).not.toMatch(/relay-s3cret|cmVsYXktczNjcmV0|AHJlbGF5AHJlbGF5LXMzY3JldA/);
    expect(sink.messages()).toEqual([]);
    expect(existsSync(ws.path('quarantine'))).toBe(false);
    expect(uidlsOn(server)).toHaveLength(2);
  });
});
