import { existsSync, readdirSync } from 'node:fs';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Workspace, logMessages, runCli, startCli } from '../support/cli.js';
import { recordOutcome } from '../support/reliability-log.js';
import { crlfToLf, describeWithRealServer, startRealServer, type RealServer } from '../support/real-servers.js';
import { until } from '../support/until.js';

/**
 * Issue 10 against the real servers that showed each behaviour, from Debian's packages
 * (.ci/real-servers.sh), run by the built bin/pinchmail as a user would: popa3d's shared
 * UIDLs, GNU mailutils rewriting its messages between sessions and timing idle sessions
 * out, Courier's UTF8-gated messages.
 */

const T0 = Date.parse('2026-11-02T08:00:00Z');
const MIN = 60_000;
const at = (ms: number): NodeJS.ProcessEnv => ({ PINCHMAIL_TEST_NOW: String(T0 + ms) });

let server: RealServer | null = null;
let ws: Workspace;

beforeEach(() => {
  ws = new Workspace();
});

afterEach(async () => {
  await server?.stop();
  server = null;
  ws.remove();
});

function config(s: RealServer, extra: Record<string, unknown> = {}): string {
  return ws.config({
    accounts: [{ name: s.name, host: s.host, port: s.port, tls: 'none', auth: 'user', user: s.user, password: s.password, retention: '1h', deliver: { maildir: ws.path('Maildir') }, ...extra }],
  });
}

async function fetch(file: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string; doc: Record<string, unknown> }> {
  const run = await runCli(['-c', file, '--json'], env);
  expect(run.stdout, run.stderr).not.toBe('');
  return { code: run.code, stderr: run.stderr, doc: JSON.parse(run.stdout).accounts[0] };
}

const mail = (headers: string, body: string): Buffer => Buffer.from(`${headers}\r\n\r\n${body}\r\n`, 'utf8');
/** A message with a Date, so popa3d gives it a UIDL of its own. */
const dated = (n: number): Buffer => mail(`Date: Mon, 2 Nov 2026 08:0${n}:00 +0000\r\nFrom: a@example.org\r\nSubject: job ${n}`, `request ${n}\r\n.leading dot`);

describeWithRealServer('popa3d: messages that share a UIDL', 'popa3d', () => {
  it('are left on the server with a warning; every other message is delivered byte for byte', async () => {
    server = await startRealServer('popa3d');
    server.deliver(dated(1));
    // No Date, Message-ID or Received: popa3d hashes nothing and gives both one UIDL.
    server.deliver(mail('From: a@example.org\r\nSubject: same', 'first of two'));
    server.deliver(mail('From: a@example.org\r\nSubject: same', 'second of two, another body'));
    server.deliver(dated(2));
    const file = config(server, { retention: '0' });
    const run = await fetch(file);
    expect(run.code, run.stderr).toBe(0);
    expect(run.doc).toMatchObject({ delivered: 2, deleted: 2, failed: 0, onServer: 4 });
    expect(run.doc.unidentified).toEqual([
      expect.objectContaining({ msgNo: 2, why: 'shared with message 3' }),
      expect.objectContaining({ msgNo: 3, why: 'shared with message 2' }),
    ]);
    expect(logMessages(run.stderr)).toEqual([expect.stringMatching(/messages 2 and 3 share the UIDL "\w+": both are left on the server/)]);
    expect(ws.maildir('Maildir')).toEqual([crlfToLf(dated(1)), crlfToLf(dated(2))].sort(Buffer.compare));
    expect(server.contents().map((m) => m.toString('utf8'))).toEqual([
      expect.stringContaining('first of two'),
      expect.stringContaining('second of two'),
    ]);
    recordOutcome({
      group: 'servers',
      fault: 'popa3d 1.0.3: two messages without Date, Message-ID or Received share one UIDL',
      how: 'real popa3d on loopback (Debian package, extracted), four messages, retention "0"',
      lost: 0,
      duplicates: 0,
      exit: '0',
      test: 'test/servers/rfc1939.servers.test.ts',
      note: 'the two are left on the server with a warning; the two others delivered and deleted (before: exit 76, nothing delivered)',
    });
  });
});

describeWithRealServer('GNU mailutils pop3d: a server that rewrites its messages and times out idle sessions', 'mailutils', () => {
  it('messages whose size changes between sessions (X-UIDL, Status written back) are delivered once and deleted in their time', async () => {
    server = await startRealServer('mailutils');
    for (let n = 1; n <= 3; n++) server.deliver(dated(n));
    const file = config(server);
    const first = await fetch(file, at(0));
    expect(first.code, first.stderr).toBe(0);
    expect(first.doc).toMatchObject({ delivered: 3, deleted: 0 });
    // The server rewrote the mbox at QUIT: every message is longer now, and still the same.
    expect(server.contents().every((m) => m.includes('X-UIDL:'))).toBe(true);
    server.deliver(dated(4));
    const second = await fetch(file, at(10 * MIN));
    expect(second.code, second.stderr).toBe(0);
    expect(second.doc).toMatchObject({ delivered: 1, deleted: 0 });
    expect((await fetch(file, at(20 * MIN))).doc).toMatchObject({ delivered: 0, deleted: 0 });
    const due = await fetch(file, at(61 * MIN));
    expect(due.code, due.stderr).toBe(0);
    expect(due.doc).toMatchObject({ delivered: 0, deleted: 3 });
    expect(server.count()).toBe(1);
    // One copy of each, whole (the server adds its X-UIDL to what it serves).
    const copies = ws.maildir('Maildir').map((m) => m.toString('utf8'));
    expect(copies).toHaveLength(4);
    for (let n = 1; n <= 4; n++) expect(copies.filter((c) => c.includes(`Subject: job ${n}\n`) && c.endsWith(`request ${n}\n.leading dot\n`))).toHaveLength(1);
    recordOutcome({
      group: 'servers',
      fault: 'GNU mailutils 3.15: messages rewritten between sessions (X-UIDL, X-UID, Status added; LIST sizes change)',
      how: 'real mailutils pop3d on loopback, mbox, four runs at chosen times, retention "1h"',
      lost: 0,
      duplicates: 0,
      exit: '0',
      test: 'test/servers/rfc1939.servers.test.ts',
      note: 'the header fingerprint (without the fields servers rewrite) keeps each the same message: delivered once, deleted when due',
    });
  });

  it('"-ERR Session timed out" during a long delivery: exit 75, deliveries recorded, the deletions next run', async () => {
    server = await startRealServer('mailutils', { timeout: 2 });
    for (let n = 1; n <= 2; n++) server.deliver(dated(n));
    const slow = ws.slowCommand();
    const file = config(server, { retention: '0', keepalive: '0', deliver: slow.deliver });
    const run = startCli(['-c', file, '--json'], at(0));
    await until(() => /timed out/i.test(server!.log()) && existsSync(slow.out) && readdirSync(slow.out).length === 1, 20_000, 'the server to time the session out');
    slow.release();
    const met = await run.result;
    expect(met.code, met.stderr).toBe(75);
    const doc = JSON.parse(met.stdout).accounts[0];
    expect(doc).toMatchObject({ delivered: 2, deleted: 0 });
    expect(doc.error).toMatch(/temporary failure: .*-ERR Session timed out/);
    expect(server.count()).toBe(2);
    const next = await fetch(config(server, { retention: '0', deliver: slow.deliver }), at(MIN));
    expect(next.code, next.stderr).toBe(0);
    expect(next.doc).toMatchObject({ delivered: 0, deleted: 2 });
    expect(readdirSync(slow.out)).toHaveLength(2);
    expect(server.count()).toBe(0);
    recordOutcome({
      group: 'servers',
      fault: 'GNU mailutils 3.15: "-ERR Session timed out" while a delivery runs',
      how: 'real mailutils pop3d with "timeout 2", a command that runs past it, keepalive off',
      lost: 0,
      duplicates: 0,
      exit: '75, then 0',
      test: 'test/servers/rfc1939.servers.test.ts',
      note: 'a closed connection in the server\'s words; both deliveries recorded, deleted by the next run (before: exit 76)',
    });
  });

  it('with keepalive, NOOP keeps the session through a delivery twice as long as the server\'s timeout', async () => {
    server = await startRealServer('mailutils', { timeout: 2 });
    server.deliver(dated(1));
    const slow = ws.slowCommand();
    const file = config(server, { retention: '0', keepalive: '1s', deliver: slow.deliver });
    const run = startCli(['-c', file, '--json'], at(0));
    await until(() => existsSync(slow.out) && readdirSync(slow.out).length === 1, 20_000, 'the delivery to start');
    const started = Date.now();
    // The point of the test is the server's idle timer: the command outlasts it twice over.
    await until(() => Date.now() - started > 4_000, 10_000, 'twice the server timeout');
    slow.release();
    const met = await run.result;
    expect(met.code, met.stderr).toBe(0);
    expect(JSON.parse(met.stdout).accounts[0]).toMatchObject({ delivered: 1, deleted: 1 });
    expect(server.count()).toBe(0);
  });
});

describeWithRealServer('Courier POP3: RFC 6532 mail behind UTF8', 'courier', () => {
  it('a message with raw UTF-8 headers arrives as the server holds it, not as its "Cannot display Unicode content" stand-in', async () => {
    server = await startRealServer('courier');
    const unicode = mail('Date: Mon, 2 Nov 2026 08:00:00 +0000\r\nFrom: Jürgen <j@example.org>\r\nSubject: Größe und 日本語', 'body');
    server.deliver(unicode);
    server.deliver(dated(2));
    const run = await fetch(config(server, { retention: '0' }));
    expect(run.code, run.stderr).toBe(0);
    expect(run.doc).toMatchObject({ delivered: 2, deleted: 2 });
    expect(ws.maildir('Maildir')).toEqual([crlfToLf(unicode), crlfToLf(dated(2))].sort(Buffer.compare));
    expect(server.count()).toBe(0);
    recordOutcome({
      group: 'servers',
      fault: 'Courier 1.0.16: a message with raw UTF-8 headers is replaced by a notice unless the client sends UTF8',
      how: 'real Courier POP3 on loopback, Maildir, one RFC 6532 message and one ASCII message',
      lost: 0,
      duplicates: 0,
      exit: '0',
      test: 'test/servers/rfc1939.servers.test.ts',
      note: 'UTF8 is sent when CAPA lists it: the original bytes arrive (before: the notice was delivered, and routed by its headers)',
    });
  });
});
