import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { Workspace, logMessages, runCli } from '../support/cli.js';
import { crlfToLf } from '../support/corpus.js';
import { describeDnsmasq } from '../support/dnsmasq.js';
import { USER, fakeServer, uidlsOn } from '../support/fake-pop3.js';
import { loopbackAccount } from '../support/server-workspace.js';

const hop = (ip: string): string => `Received: from c.example (c.example [${ip}]) by mx.example.com (Postfix) with ESMTP id 1\r\n`;
const msg = (ip: string, subject: string): Buffer => Buffer.from(`${hop(ip)}From: a@example.org\r\nTo: alice@example.com\r\nSubject: ${subject}\r\n\r\nbody\r\n`);

let server: DevPop3Server;
let port: number;
let ws: Workspace;

function start(messages: Buffer[]): Promise<void> {
  server = fakeServer(messages);
  return server.listen('plain').then((l) => void (port = l.port));
}

beforeEach(() => void (ws = new Workspace()));
afterEach(async () => {
  await server?.close();
  ws.remove();
});

describe('processors, run end to end', () => {
  it('a branch, and a target that refuses for good sends the message to the error processor at once', async () => {
    const poison = msg('198.51.100.7', 'poison');
    const fine = msg('198.51.100.7', 'fine');
    await start([poison, fine]);
    const config = ws.config({
      accounts: [
        loopbackAccount(port, ws, {
          deliver: undefined,
          retention: '0',
          processors: {
            root: [{ match: 'all', processor: 'jobs' }],
            jobs: [{ match: 'all', deliver: { command: 'grep -q "^Subject: poison" && exit 65; cat > /dev/null' } }],
            error: [{ match: 'all', deliver: { maildir: ws.path('error') } }],
          },
        }),
      ],
    });
    const run = await runCli(['-c', config, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).accounts[0]).toMatchObject({ delivered: 2, quarantined: 1, failed: 0, deleted: 2 });
    expect(ws.maildir('error')).toEqual([crlfToLf(poison)]);
    expect(uidlsOn(server)).toEqual([]);
  });

  it('a "skip" in the error processor leaves a refused message on the server, never deleted', async () => {
    const poison = msg('198.51.100.7', 'poison');
    await start([poison]);
    const config = ws.config({
      accounts: [
        loopbackAccount(port, ws, {
          deliver: undefined,
          retention: '0',
          processors: { root: [{ match: 'all', deliver: { command: 'cat > /dev/null; exit 65' } }], error: [{ match: 'all', skip: true }] },
        }),
      ],
    });
    const run = await runCli(['-c', config, '--json']);
    expect(run.code).toBe(73);
    expect(JSON.parse(run.stdout).accounts[0]).toMatchObject({ delivered: 0, failed: 1, deleted: 0 });
    expect(uidlsOn(server)).toHaveLength(1);
  });

  it('a message LIST understates reaches an error processor that reads its header, as it reaches onFailure\'s one target', async () => {
    const junk = Array.from({ length: 1500 }, (_, i) => `X-Junk-${i}: ${'y'.repeat(60)}\r\n`).join('');
    const big = Buffer.from(`Subject: big\r\n${junk}\r\nbody\r\n`);
    await start([big]);
    const bad = server.store.messages(USER)[0]!.uidl;
    server.faults.listSize = (m, real) => (m.uidl === bad ? 1000 : real);
    const config = ws.config({
      accounts: [
        loopbackAccount(port, ws, {
          retention: '1h',
          processors: { root: [{ match: { subject: 'never' }, drop: true }], error: [{ match: { subject: 'spam' }, drop: true }, { match: 'all', deliver: { maildir: ws.path('Q') } }] },
          onFailure: { after: 2, processor: 'error' },
        }),
      ],
    });
    expect((await runCli(['-c', config])).code).toBe(75);
    expect((await runCli(['-c', config])).code).toBe(75);
    const third = await runCli(['-c', config, '--json']);
    expect(third.code, third.stderr).toBe(0);
    expect(ws.maildir('Q')).toEqual([crlfToLf(big)]);
  });

  it('check lists each processor\'s rules and where onFailure sends what failed', async () => {
    await start([]);
    const config = ws.config({
      accounts: [
        loopbackAccount(port, ws, {
          processors: {
            root: [{ match: { userIs: 'hogehoge' }, processor: 'hoge' }],
            hoge: [{ match: 'all', drop: true }],
            error: [{ match: 'all', deliver: { maildir: ws.path('error') } }],
          },
        }),
      ],
    });
    const run = await runCli(['-c', config, 'check']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/root\[0\] +userIs hogehoge -> processor hoge/);
    expect(run.stdout).toMatch(/hoge\[0\] +all -> drop/);
    expect(run.stdout).toContain('onFailure  after 5 failed runs -> processor error');
  });
});

describeDnsmasq('a DNSBL lookup that fails, end to end', { zones: ['bl.test'], failing: ['broken.test'] }, (dnsmasq) => {
  const processors = (withError: boolean) => ({
    root: [
      { match: { inSpammerBlacklist: 'broken.test' }, deliver: { maildir: ws.path('spam') } },
      { match: 'all', deliver: { maildir: ws.path('inbox') } },
    ],
    ...(withError ? { error: [{ match: 'all', deliver: { maildir: ws.path('error') } }] } : {}),
  });
  const config = (withError: boolean): string =>
    ws.config({
      accounts: [loopbackAccount(port, ws, { deliver: undefined, retention: '0', processors: processors(withError), dnsbl: { servers: [dnsmasq().address], timeout: '1s' } })],
    });

  it('the zone lists no one, as in James: the mail goes on to the inbox, the outage said once per run', async () => {
    const ms = [msg('192.0.2.99', 'one'), msg('192.0.2.98', 'two'), msg('192.0.2.97', 'three')];
    for (const withError of [true, false]) {
      await start(ms);
      const run = await runCli(['-c', config(withError), '--json']);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout).accounts[0]).toMatchObject({ delivered: 3, failed: 0, quarantined: 0 });
      const warnings = logMessages(run.stderr).filter((l) => l.includes('DNSBL'));
      expect(warnings).toEqual(['DNSBL lookup of 99.2.0.192.broken.test in zone broken.test failed: no answer within 1000 ms (timed out); for the rest of this run, zone broken.test is taken to list no one']);
      expect(ws.maildir('spam')).toEqual([]);
      expect(uidlsOn(server)).toEqual([]);
      await server.close();
      ws.remove();
      ws = new Workspace();
    }
  });
});

describe('route --from-james, bad input', () => {
  it('neither or both of --test and --from-james: a usage error', async () => {
    const neither = await runCli(['route']);
    expect(neither.code).toBe(64);
    expect(neither.stderr.trim()).toBe('pinchmail: usage error: route: give --test FILE or --from-james FILE');
    expect((await runCli(['route', '--test', 'a', '--from-james', 'b'])).code).toBe(64);
  });

  it('a file that is not there, or not XML: one line, naming it', async () => {
    const missing = await runCli(['route', '--from-james', ws.path('nope.xml')]);
    expect(missing.code).toBe(64);
    expect(missing.stderr.trim()).toBe(`pinchmail: usage error: route --from-james: cannot read ${ws.path('nope.xml')}: no such file`);
    const junk = ws.path('junk.xml');
    writeFileSync(junk, '<config>\n  <spoolmanager>\n    <processor name="root">\n  </spoolmanager>\n</config>\n');
    const bad = await runCli(['route', '--from-james', junk]);
    expect(bad.code).toBe(78);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(new RegExp(`${junk.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not XML \\(line 4, column \\d+\\)`));
    expect(bad.stdout).toBe('');
  });

  it('--json puts the notes in the document, and nothing on stderr', async () => {
    const file = ws.path('config.xml');
    writeFileSync(file, '<config><spoolmanager><processor name="root"><mailet match="All" class="Bounce"/><mailet match="All" class="Null"/></processor></spoolmanager></config>');
    const run = await runCli(['route', '--from-james', file, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    const doc = JSON.parse(run.stdout);
    expect(doc.processors).toEqual({ root: [{ match: 'all', drop: true }] });
    expect(doc.notes).toEqual([{ where: 'processor "root", mailet 1 (Bounce)', what: 'pinchmail never sends mail back', translated: false }]);
  });
});
