import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { dotStuff } from '../../src/devserver/dot-stuff.js';
import { Workspace, logMessages, runCli, startCli } from '../support/cli.js';
import { crlfToLf } from '../support/corpus.js';
import { USER, uidlsOn } from '../support/fake-pop3.js';
import { recordOutcome } from '../support/reliability-log.js';
import { until } from '../support/until.js';
import { loopbackAccount, startServerAndWorkspace, stopServerAndWorkspace } from '../support/server-workspace.js';

/**
 * Servers that break RFC 1939 (issue 10): reused and shared UIDLs, sizes that lie, bodies
 * that look like replies, goodbyes, UTF8-gated content, no dot-stuffing. Each case is a
 * dev server scripted to do what a real one did, and the CLI run as a user would; hosts
 * run at chosen times through PINCHMAIL_TEST_NOW instead of waiting.
 */

let server: DevPop3Server;
let port: number;
let ws: Workspace;

const T0 = Date.parse('2026-11-02T08:00:00Z');
const MIN = 60_000;
const at = (ms: number): { PINCHMAIL_TEST_NOW: string } => ({ PINCHMAIL_TEST_NOW: String(T0 + ms) });

const mail = (subject: string, body = 'hello'): Buffer => Buffer.from(`Subject: ${subject}\r\nFrom: a@example.org\r\n\r\n${body}\r\n`);

beforeEach(async () => void ({ server, port, ws } = await startServerAndWorkspace()));
afterEach(() => stopServerAndWorkspace(server, ws));

const account = (extra: Record<string, unknown> = {}): Record<string, unknown> => loopbackAccount(port, ws, { retention: '1h', ...extra });

interface Run {
  code: number | null;
  stderr: string;
  doc: {
    status: string;
    delivered: number;
    failed: number;
    deleted: number;
    onServer: number;
    fetch: { uidl: string; outcome?: string; error?: string }[];
    delete: { uidl: string }[];
    unidentified?: { uidl: string; msgNo: number; why: string }[];
  };
}

async function fetch(config: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const run = await runCli(['-c', config, '--json'], env);
  expect(run.stdout, run.stderr).not.toBe('');
  return { code: run.code, stderr: run.stderr, doc: JSON.parse(run.stdout).accounts[0] };
}

const add = (content: Buffer, uidl?: string): string => server.store.add(USER, content, uidl);
const removeUidl = (uidl: string): void => server.store.remove(USER, new Set(server.store.messages(USER).filter((m) => m.uidl === uidl)));
const delivered = (): string[] => ws.maildir('Maildir').map((b) => b.toString('latin1'));

describe('rule 1: never DELE what this host has not delivered', () => {
  it('a server that reuses the UIDL of a message this host deleted: the new one is delivered, and aged from its own first sight', async () => {
    const config = ws.config({ accounts: [account()] });
    add(mail('first'), 'U1');
    expect((await fetch(config, at(0))).doc).toMatchObject({ delivered: 1, deleted: 0 });
    expect((await fetch(config, at(61 * MIN))).doc).toMatchObject({ delivered: 0, deleted: 1 });
    expect(uidlsOn(server)).toEqual([]);

    // The server hands the same UIDL to a new message (message numbers or content hashes as UIDLs).
    add(mail('second, a new message', 'different and longer'), 'U1');
    const reused = await fetch(config, at(90 * MIN));
    expect(reused.code, reused.stderr).toBe(0);
    expect(reused.doc).toMatchObject({ delivered: 1, deleted: 0 });
    expect(uidlsOn(server)).toEqual(['U1']);
    expect(delivered()).toEqual([crlfToLf(mail('first')), crlfToLf(mail('second, a new message', 'different and longer'))].map((b) => b.toString('latin1')).sort());
    // Aged from 90 minutes, not from the first message's first sight.
    expect((await fetch(config, at(140 * MIN))).doc).toMatchObject({ delivered: 0, deleted: 0 });
    expect((await fetch(config, at(151 * MIN))).doc).toMatchObject({ delivered: 0, deleted: 1 });
    recordOutcome({
      group: 'servers',
      fault: 'a UIDL reused for a new message after this host deleted the old one',
      how: 'dev server: message deleted (QUIT confirmed), a new one of another size listed under the same UIDL',
      lost: 0,
      duplicates: 0,
      exit: '0',
      test: 'test/reliability/server-faults.test.ts',
      note: 'delivered as a new message and aged from its own first sight (before: "0 delivered", then deleted unseen)',
    });
  });

  it.each([
    ['with TOP', [] as string[]],
    ['without TOP (the header is read with RETR)', ['TOP']],
  ])('a reused UIDL on a message of the very same size is told apart by its header, %s', async (_name, without) => {
    server.faults.without = without;
    const config = ws.config({ accounts: [account()] });
    add(mail('job 1'), 'H1');
    await fetch(config, at(0));
    expect((await fetch(config, at(61 * MIN))).doc).toMatchObject({ deleted: 1 });
    add(mail('job 2'), 'H1');
    expect(mail('job 2').length).toBe(mail('job 1').length);
    const reused = await fetch(config, at(62 * MIN));
    expect(reused.doc).toMatchObject({ delivered: 1, deleted: 0 });
    expect(delivered()).toHaveLength(2);
    expect(uidlsOn(server)).toEqual(['H1']);
  });

  it('a peer deletes X and a new message arrives as X: this host delivers it and keeps it for its own retention', async () => {
    const config = ws.config({ accounts: [account()] });
    add(mail('x, the first'), 'X');
    await fetch(config, at(0));
    removeUidl('X'); // a peer deleted it
    expect((await fetch(config, at(10 * MIN))).doc).toMatchObject({ delivered: 0, onServer: 0 });
    add(mail('x, a new message'), 'X');
    expect((await fetch(config, at(20 * MIN))).doc).toMatchObject({ delivered: 1, deleted: 0 });
    // Due an hour after 20 minutes, not an hour after 0.
    expect((await fetch(config, at(70 * MIN))).doc).toMatchObject({ delivered: 0, deleted: 0 });
    expect((await fetch(config, at(81 * MIN))).doc).toMatchObject({ delivered: 0, deleted: 1 });
    expect(delivered()).toHaveLength(2);
    recordOutcome({
      group: 'servers',
      fault: 'a peer deletes X, a new message arrives as X',
      how: 'dev server: X removed between two runs, then a new message listed as X',
      lost: 0,
      duplicates: 0,
      exit: '0',
      test: 'test/reliability/server-faults.test.ts',
      note: 'the new X is delivered and kept for this host\'s retention from its own first sight',
    });
  });

  it('a message the route dropped unread keeps its identity: another one under its UIDL is delivered, not deleted', async () => {
    const config = ws.config({ accounts: [account({ route: [{ match: { subject: '^spam' }, drop: true }] })] });
    add(mail('spam A'), 'X');
    expect((await fetch(config, at(0))).doc).toMatchObject({ delivered: 1, dropped: 1 });
    removeUidl('X');
    expect((await fetch(config, at(5 * MIN))).doc).toMatchObject({ onServer: 0 });
    add(mail('job B!'), 'X');
    expect(mail('job B!').length).toBe(mail('spam A').length);
    const reused = await fetch(config, at(61 * MIN));
    expect(reused.doc).toMatchObject({ delivered: 1, deleted: 0 });
    expect(delivered()).toEqual([crlfToLf(mail('job B!')).toString('latin1')]);
  });

  it('a UIDL reused between two runs for a message of the same size, listed after newer mail, is delivered at once', async () => {
    const config = ws.config({ accounts: [account()] });
    add(mail('job 1'), 'X');
    await fetch(config, at(0));
    add(mail('job 2'), 'B');
    await fetch(config, at(5 * MIN));
    // A peer deletes X; the server gives a new message its UIDL, at the end of the listing.
    removeUidl('X');
    add(mail('job 3'), 'X');
    const next = await fetch(config, at(10 * MIN));
    expect(next.doc).toMatchObject({ delivered: 1, deleted: 0 });
    expect(delivered()).toHaveLength(3);
    // ...and kept for the retention from its own first sight.
    expect((await fetch(config, at(61 * MIN))).doc.delete).toEqual([]);
  });

  it('a message the server briefly stopped listing is the same message: not delivered twice, deleted in its time', async () => {
    const config = ws.config({ accounts: [account()] });
    add(mail('stays'), 'S');
    await fetch(config, at(0));
    const [held] = server.store.messages(USER);
    server.store.remove(USER, new Set([held!]));
    expect((await fetch(config, at(5 * MIN))).doc).toMatchObject({ onServer: 0 });
    server.store.messages(USER).push(held!);
    expect((await fetch(config, at(10 * MIN))).doc).toMatchObject({ delivered: 0, deleted: 0 });
    expect((await fetch(config, at(61 * MIN))).doc).toMatchObject({ delivered: 0, deleted: 1 });
    expect(delivered()).toHaveLength(1);
  });

  it('a UIDL that comes back on another message between two runs is never deleted as the old one', async () => {
    const config = ws.config({ accounts: [account()] });
    add(mail('old job'), 'R');
    add(mail('another old job'), 'Q');
    await fetch(config, at(0));
    // Replaced between two runs of this host, with a message of another size...
    removeUidl('R');
    add(mail('new job, longer than the old one'), 'R');
    // ...and of the same size: caught before the DELE it would otherwise get.
    removeUidl('Q');
    add(mail('another new job'), 'Q');
    expect(mail('another new job').length).toBe(mail('another old job').length);
    const next = await fetch(config, at(10 * MIN));
    expect(next.doc.fetch.map((f) => f.uidl)).toContain('R');
    const due = await fetch(config, at(61 * MIN));
    expect(due.code, due.stderr).toBe(0);
    // Q's header is not the one this host delivered: it is delivered now, not deleted.
    expect(due.doc.delete.map((d) => d.uidl)).toEqual([]);
    expect(due.doc.fetch.map((f) => f.uidl)).toEqual(['Q']);
    expect(uidlsOn(server).sort()).toEqual(['Q', 'R']);
    expect(delivered()).toHaveLength(4);
  });
});

describe('rule 2: one bad message never blocks the others', () => {
  it('a message whose LIST size understates it fails alone, counts its attempts, and goes to onFailure after N runs', async () => {
    const big = Buffer.from(`Subject: big\r\n\r\n${'x'.repeat(200_000)}\r\n`);
    add(mail('one'));
    const bad = add(big);
    add(mail('three'));
    server.faults.listSize = (m, real) => (m.uidl === bad ? 1000 : real);
    const config = ws.config({ accounts: [account({ onFailure: { after: 2, deliver: { maildir: ws.path('Quarantine') } } })] });
    const first = await fetch(config, at(0));
    expect(first.code, first.stderr).toBe(75);
    expect(first.doc).toMatchObject({ delivered: 2, failed: 1 });
    expect(first.doc.fetch.find((f) => f.uidl === bad)?.error).toMatch(/more than \d+ bytes, though LIST announced 1000/);
    const status = JSON.parse((await runCli(['-c', config, 'status', '--json'], at(1))).stdout).accounts[0];
    expect(status.failing).toEqual([expect.objectContaining({ uidl: bad, attempts: 1 })]);
    expect((await fetch(config, at(MIN))).doc).toMatchObject({ delivered: 0, failed: 1 });
    const third = await fetch(config, at(2 * MIN));
    expect(third.code, third.stderr).toBe(0);
    expect(third.doc).toMatchObject({ delivered: 1, failed: 0 });
    expect(ws.maildir('Quarantine')).toEqual([crlfToLf(big)]);
    recordOutcome({
      group: 'servers',
      fault: 'a LIST size that understates a message',
      how: 'dev server announces 1000 bytes for a 200 KB message, the second of three',
      lost: 0,
      duplicates: 0,
      exit: '75, 75, then 0',
      test: 'test/reliability/server-faults.test.ts',
      note: 'the others are delivered at once; the message fails alone, its attempts counted, and onFailure takes it after 2 runs (before: exit 76 before any later message, on every run)',
    });
  });

  it.each([
    ['delivering straight', {}],
    ['through a route that reads TOP first', { route: [{ match: { subject: 'never' }, drop: true }] }],
  ])('a message whose body begins with "+OK " is legal mail and is delivered, %s', async (_name, extra) => {
    const odd = Buffer.from('+OK this line is the first line of the message\r\nSubject: odd\r\n\r\nbody\r\n');
    add(mail('one'));
    add(odd);
    add(mail('three'));
    const config = ws.config({ accounts: [account(extra)] });
    const run = await fetch(config, at(0));
    expect(run.code, run.stderr).toBe(0);
    expect(run.doc).toMatchObject({ delivered: 3, failed: 0 });
    expect(delivered()).toContain(crlfToLf(odd).toString('latin1'));
    recordOutcome({
      group: 'servers',
      fault: 'a message whose body begins with "+OK "',
      how: 'dev server holds a message whose first line is "+OK this line is ..."; straight, and through a route that reads TOP first',
      lost: 0,
      duplicates: 0,
      exit: '0',
      test: 'test/reliability/server-faults.test.ts',
      note: 'legal mail, delivered once a second reading of its head agrees (before: exit 76 before any later message, on every run)',
    });
  });

  it('a stray status line ahead of a RETR reply is never delivered as part of the message', async () => {
    add(mail('one'));
    const second = add(mail('two'));
    add(mail('three'));
    let spoiled = false;
    server.faults.script = ({ verb, args }) => {
      if (verb !== 'RETR' || args[0] !== '2' || spoiled) return undefined;
      spoiled = true;
      return { reply: Buffer.concat([Buffer.from('+OK stray\r\n+OK 30 octets\r\n'), dotStuff(mail('two'))]) };
    };
    const config = ws.config({ accounts: [account()] });
    const run = await fetch(config, at(0));
    expect(run.code, run.stderr).toBe(75);
    expect(run.doc).toMatchObject({ delivered: 2, failed: 1 });
    expect(run.doc.fetch.find((f) => f.uidl === second)?.outcome).toBe('failed');
    const next = await fetch(config, at(MIN));
    expect(next.doc).toMatchObject({ delivered: 1, failed: 0 });
    expect(delivered()).toEqual([mail('one'), mail('three'), mail('two')].map((m) => crlfToLf(m).toString('latin1')).sort());
    recordOutcome({
      group: 'servers',
      fault: 'a stray status line ahead of a RETR reply',
      how: 'dev server sends "+OK stray" before the real reply to the second RETR, once',
      lost: 0,
      duplicates: 0,
      exit: '75, then 0',
      test: 'test/reliability/server-faults.test.ts',
      note: 'the copy, whose first line a second reading does not confirm, is not delivered; the others are; the next run delivers it whole',
    });
  });
});

describe('rule 2: failures that end a session, each put where it belongs', () => {
  it('a connection that drops on one message every time: that message counts its attempts and goes last, the others arrive', async () => {
    for (let i = 1; i <= 4; i++) add(Buffer.from(`Subject: job ${i}\r\n\r\n${'x'.repeat(30_000)}\r\n`));
    const [, second] = server.store.messages(USER);
    server.faults.script = ({ verb, args, session }) => {
      const asked = Number(args[0]);
      return verb === 'RETR' && session.username && server.store.messages(USER)[asked - 1] === second ? { dropAfterBytes: 10_000 } : undefined;
    };
    const config = ws.config({ accounts: [account()] });
    const first = await fetch(config, at(0));
    expect(first.code, first.stderr).toBe(75);
    expect(first.doc.fetch.find((f) => f.uidl === second!.uidl)?.outcome).toBe('failed');
    const status = JSON.parse((await runCli(['-c', config, 'status', '--json'], at(1))).stdout).accounts[0];
    expect(status.failing).toEqual([expect.objectContaining({ uidl: second!.uidl, attempts: 1 })]);
    // Next run the others come first, so they arrive although the server fails on that one again.
    const next = await fetch(config, at(MIN));
    expect(next.code).toBe(75);
    expect(delivered()).toHaveLength(3);
    recordOutcome({
      group: 'servers',
      fault: 'the connection drops on one message, every time',
      how: 'dev server closes the connection 10 KB into the second of four messages, on every run',
      lost: 0,
      duplicates: 0,
      exit: '75, 75',
      test: 'test/reliability/server-faults.test.ts',
      note: 'that message counts an attempt and goes last, so the others arrive by the second run (before: none after it, ever)',
    });
  });

  it('"-ERR Session timed out" as the reply to a RETR, then the close: the connection failed, not the message', async () => {
    for (let i = 1; i <= 3; i++) add(mail(`job ${i}`));
    server.faults.script = ({ verb, args }) => (verb === 'RETR' && args[0] === '2' ? { reply: '-ERR Session timed out\r\n', dropAfterBytes: 24 } : undefined);
    const config = ws.config({ accounts: [account()] });
    const run = await fetch(config, at(0));
    expect(run.code, run.stderr).toBe(75);
    expect((run.doc as unknown as { error: string }).error).toMatch(/server closed the connection .*\(it said "-ERR Session timed out"\)/);
    const status = JSON.parse((await runCli(['-c', config, 'status', '--json'], at(1))).stdout).accounts[0];
    expect(status.failing).toEqual([]);
  });

  it('a message the server refuses (RETR and UIDL n both -ERR) fails alone, in the same session', async () => {
    for (let i = 1; i <= 4; i++) add(mail(`job ${i}`));
    const refused = new Set(['2', '3']);
    server.faults.script = ({ verb, args }) =>
      (verb === 'RETR' || verb === 'UIDL') && refused.has(args[0] ?? '') ? { reply: '-ERR There is no such message\r\n' } : undefined;
    let logins = 0;
    const inner = server.faults.script;
    server.faults.script = (e) => {
      if (e.verb === 'PASS' || e.verb === 'AUTH') logins++;
      return inner(e);
    };
    const config = ws.config({ accounts: [account()] });
    const run = await fetch(config, at(0));
    expect(run.code, run.stderr).toBe(75);
    expect(run.doc).toMatchObject({ delivered: 2, failed: 2 });
    expect(logins).toBe(1);
    recordOutcome({
      group: 'servers',
      fault: 'the server refuses two messages (RETR and UIDL n both -ERR)',
      how: 'dev server answers -ERR to RETR and UIDL of messages 2 and 3 of four',
      lost: 0,
      duplicates: 0,
      exit: '75',
      test: 'test/reliability/server-faults.test.ts',
      note: 'each fails alone, in the same session; the others are delivered',
    });
  });
});

describe('rule 3: a broken listing is degraded, not fatal', () => {
  it('messages sharing a UIDL are left alone with a warning, the rest delivered; one that gets its own UIDL later is handled normally', async () => {
    add(mail('unique one'), 'A');
    add(mail('no date or id, first'), 'SAME');
    add(mail('no date or id, second'), 'SAME');
    add(mail('unique two'), 'D');
    const config = ws.config({ accounts: [account({ retention: '0' })] });
    const run = await fetch(config, at(0));
    expect(run.code, run.stderr).toBe(0);
    expect(run.doc).toMatchObject({ delivered: 2, deleted: 2, failed: 0 });
    expect(run.doc.unidentified).toEqual([
      { msgNo: 2, uidl: 'SAME', why: 'shared with message 3' },
      { msgNo: 3, uidl: 'SAME', why: 'shared with message 2' },
    ]);
    const warnings = logMessages(run.stderr);
    expect(warnings).toEqual([expect.stringMatching(/messages 2 and 3 share the UIDL "SAME": both are left on the server, neither delivered nor deleted/)]);
    expect(uidlsOn(server)).toEqual(['SAME', 'SAME']);

    // Still shared: still left alone, and still said.
    expect((await fetch(config, at(MIN))).doc).toMatchObject({ delivered: 0, deleted: 0 });
    // The server tells them apart at last (say a header was added): both are delivered.
    server.store.messages(USER)[1]!.uidl = 'SAME-2';
    const told = await fetch(config, at(2 * MIN));
    expect(told.doc).toMatchObject({ delivered: 2, deleted: 2 });
    expect(told.doc.unidentified ?? []).toEqual([]);
    expect(delivered()).toHaveLength(4);
    recordOutcome({
      group: 'servers',
      fault: 'several messages share one UIDL (popa3d hashes few headers)',
      how: 'dev server lists two of four messages under one UIDL, then tells them apart',
      lost: 0,
      duplicates: 0,
      exit: '0',
      test: 'test/reliability/server-faults.test.ts',
      note: 'a warning each run; the unique ones are delivered, the shared ones left alone until they have UIDLs of their own (before: exit 76, nothing delivered, ever)',
    });
  });

  it('a UIDL that is not a valid unique-id is left alone, the rest delivered', async () => {
    add(mail('fine'), 'OK1');
    add(mail('bad'), 'X'.repeat(71));
    const config = ws.config({ accounts: [account()] });
    const run = await fetch(config, at(0));
    expect(run.code, run.stderr).toBe(0);
    expect(run.doc.delivered).toBe(1);
    expect(run.doc.unidentified).toEqual([{ msgNo: 2, uidl: 'X'.repeat(71), why: 'not a valid unique-id (1-70 printable characters)' }]);
  });
});

describe('rule 4: a server saying goodbye is a temporary failure', () => {
  it('an unsolicited -ERR and a close while a command runs: exit 75, every delivery recorded, nothing delivered twice', async () => {
    for (let i = 0; i < 3; i++) add(mail(`job ${i}`));
    server.faults.idleTimeout = { ms: 300, text: 'Session timed out' };
    const slow = ws.slowCommand();
    const config = ws.config({ accounts: [account({ retention: '0', keepalive: '0', deliver: slow.deliver })] });
    const run = startCli(['-c', config, '--json'], at(0));
    await until(() => server.sessions.size === 0 && existsSync(slow.out) && readdirSync(slow.out).length === 1, 10_000);
    slow.release();
    const met = await run.result;
    expect(met.code, met.stderr).toBe(75);
    const doc = JSON.parse(met.stdout).accounts[0];
    expect(doc).toMatchObject({ delivered: 3, deleted: 0 });
    expect(doc.error).toMatch(/temporary failure: .*Session timed out/);
    expect(uidlsOn(server)).toHaveLength(3);

    server.faults.idleTimeout = undefined;
    const next = await fetch(config, at(MIN));
    expect(next.code, next.stderr).toBe(0);
    expect(next.doc).toMatchObject({ delivered: 0, deleted: 3 });
    expect(readdirSync(slow.out)).toHaveLength(3);
    recordOutcome({
      group: 'servers',
      fault: 'the server says goodbye unasked during a long delivery',
      how: 'dev server sends "-ERR Session timed out" and closes after 300 ms idle (GNU mailutils, Dovecot), keepalive off',
      lost: 0,
      duplicates: 0,
      exit: '75, then 0',
      test: 'test/reliability/server-faults.test.ts',
      note: 'a closed connection: what was delivered stays recorded, the deletions come next run (before: exit 76, protocol error)',
    });
  });

  it('a NOOP keeps the session open through a delivery longer than the server\'s idle timeout', async () => {
    add(mail('slow job'));
    server.faults.idleTimeout = { ms: 2500 };
    let noops = 0;
    server.faults.script = ({ verb }) => {
      if (verb === 'NOOP') noops++;
      return undefined;
    };
    const slow = ws.slowCommand();
    const config = ws.config({ accounts: [account({ retention: '0', keepalive: '1s', deliver: slow.deliver })] });
    const run = startCli(['-c', config, '--json'], at(0));
    await until(() => noops >= 3, 15_000);
    slow.release();
    const met = await run.result;
    expect(met.code, met.stderr).toBe(0);
    expect(JSON.parse(met.stdout).accounts[0]).toMatchObject({ delivered: 1, deleted: 1 });
    expect(uidlsOn(server)).toEqual([]);
  });
});

describe('rule 5: byte-exact for RFC 6532 mail', () => {
  it('a server that serves 8-bit headers only after UTF8 gets UTF8, and the original bytes arrive', async () => {
    server.faults.utf8Gate = true;
    const utf8 = Buffer.from('Subject: Größe und 日本語\r\nFrom: Jürgen <j@example.org>\r\n\r\nbody\r\n', 'utf8');
    add(utf8);
    add(mail('ascii'));
    const config = ws.config({ accounts: [account()] });
    const run = await fetch(config, at(0));
    expect(run.code, run.stderr).toBe(0);
    expect(delivered()).toContain(crlfToLf(utf8).toString('latin1'));
    expect(delivered().join('\n')).not.toContain('Cannot display Unicode content');
  });
});

describe('rule 6: a truncated copy is never recorded as complete', () => {
  it('a server that does not dot-stuff ends a body early and the rest spoofs the confirming UIDL: the short copy is not delivered, the others are', async () => {
    server.faults.noDotStuffing = true;
    add(mail('one'), 'N1');
    const trap = Buffer.from(`Subject: two\r\n\r\nfirst lines\r\n.\r\n+OK 2 N2\r\n${'the rest of the message\r\n'.repeat(2000)}`);
    add(trap, 'N2');
    add(mail('three'), 'N3');
    const config = ws.config({ accounts: [account()] });
    const run = await fetch(config, at(0));
    expect(run.code, run.stderr).toBe(75);
    expect(run.doc).toMatchObject({ delivered: 2, failed: 1 });
    expect(run.doc.fetch.find((f) => f.uidl === 'N2')?.error).toMatch(/shorter than the \d+ bytes LIST announced/);
    expect(delivered()).toEqual([mail('one'), mail('three')].map((m) => crlfToLf(m).toString('latin1')).sort());
    // Never recorded as delivered, so never deleted.
    expect((await fetch(config, at(2 * 60 * MIN))).doc.delete.map((d) => d.uidl)).not.toContain('N2');
    expect(uidlsOn(server)).toContain('N2');
    recordOutcome({
      group: 'servers',
      fault: 'no dot-stuffing: a "." line ends a body early, and the rest spoofs the confirming UIDL',
      how: 'dev server sends bodies unstuffed; the second message holds ".", "+OK 2 N2" and 50 KB more',
      lost: 0,
      duplicates: 0,
      exit: '75',
      test: 'test/reliability/server-faults.test.ts',
      note: 'the copy, far shorter than LIST announced, is refused; the session is opened again and the others delivered (before: the truncated copy was recorded and the original deleted next run)',
    });
  });
});

describe('rule 7 and 8: Maildir deliveries through any path', () => {
  it('a route that sends a message to a command and a Maildir: a failing command never duplicates the Maildir copy', async () => {
    add(mail('for both'));
    const out = ws.mkdir('out');
    const flag = ws.path('fail');
    writeFileSync(flag, '');
    const config = ws.config({
      accounts: [
        account({
          route: [{ match: 'all', deliver: { command: `[ ! -e "${flag}" ] && cat > "${out}/$PINCHMAIL_UIDL.$$"` }, continue: true }],
        }),
      ],
    });
    expect((await fetch(config, at(0))).doc).toMatchObject({ delivered: 0, failed: 1 });
    expect((await fetch(config, at(MIN))).doc).toMatchObject({ delivered: 0, failed: 1 });
    expect(ws.maildir('Maildir')).toHaveLength(1);
    rmSync(flag);
    expect((await fetch(config, at(2 * MIN))).doc).toMatchObject({ delivered: 1, failed: 0 });
    expect(ws.maildir('Maildir')).toHaveLength(1);
    expect(readdirSync(out)).toHaveLength(1);
    recordOutcome({
      group: 'servers',
      fault: 'a route to a command and a Maildir, the command failing twice',
      how: 'route with "continue": true to a failing command, then the account\'s Maildir; three runs',
      lost: 0,
      duplicates: 0,
      exit: '75, 75, then 0',
      test: 'test/reliability/server-faults.test.ts',
      note: 'the Maildir copy is written once; only the command is retried (before: a Maildir copy per run)',
    });
  });

  it('files a killed run left in tmp/ are removed by the next run; files of other programs are not', async () => {
    for (let i = 0; i < 4; i++) add(Buffer.from(`Subject: big ${i}\r\n\r\n${'line of a long message\r\n'.repeat(20_000)}`));
    const config = ws.config({ accounts: [account()] });
    mkdirSync(ws.path('Maildir', 'tmp'), { recursive: true });
    writeFileSync(ws.path('Maildir', 'tmp', '1700000000.M1P1Q1.otherhost'), 'procmail was here');
    for (let kill = 1; kill <= 3; kill++) {
      const crashed = await runCli(['-c', config, '-q'], { ...at(kill * MIN), PINCHMAIL_TEST_CRASH: `mid-retr:${kill}` });
      expect(crashed.signal).toBe('SIGKILL');
    }
    expect(readdirSync(ws.path('Maildir', 'tmp')).length).toBeGreaterThan(1);
    const clean = await fetch(config, at(10 * MIN));
    expect(clean.code, clean.stderr).toBe(0);
    expect(readdirSync(ws.path('Maildir', 'tmp'))).toEqual(['1700000000.M1P1Q1.otherhost']);
    expect(ws.maildir('Maildir')).toHaveLength(4);
    recordOutcome({
      group: 'servers',
      fault: "files killed runs left in a Maildir's tmp/",
      how: 'three runs killed mid-RETR (PINCHMAIL_TEST_CRASH=mid-retr:n), a file of another program in tmp/, then a normal run',
      lost: 0,
      duplicates: 0,
      exit: 'SIGKILL x3, then 0',
      test: 'test/reliability/server-faults.test.ts',
      note: "this account's leftovers are removed, the other program's file is kept (before: they piled up)",
    });
  });
});
