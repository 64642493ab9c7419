import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { Workspace, logMessages, runCli, startCli } from '../support/cli.js';
import { crlfToLf } from '../support/corpus.js';
import { USER, fakeServer, recordCommands, uidlsOn } from '../support/fake-pop3.js';
import { loopbackAccount } from '../support/server-workspace.js';

const msg = (headers: string, body = 'body'): Buffer => Buffer.from(`${headers}\r\nFrom: a@example.org\r\n\r\n${body}\r\n`);

const spam = msg('Subject: buy now\r\nX-Spam-Flag: YES');
const forHoge = msg('Subject: job for hoge\r\nTo: hogehoge@example.com');
const plain = msg('Subject: hello\r\nTo: team@example.com');
const relayed = msg('Received: a\r\nReceived: b\r\nReceived: c\r\nSubject: looped');

let server: DevPop3Server;
let port: number;
let ws: Workspace;
let commands: string[];

beforeEach(async () => {
  server = fakeServer([spam, forHoge, plain, relayed]);
  ({ port } = await server.listen('plain'));
  commands = recordCommands(server);
  ws = new Workspace();
  ws.mkdir('hoge');
});

afterEach(async () => {
  await server.close();
  ws.remove();
});

const onServer = (): string[] => uidlsOn(server);
const [hogeId, plainId, relayedId] = ['000000025f3a1c22', '000000035f3a1c22', '000000045f3a1c22'];

function pipeline(extra: Record<string, unknown> = {}): string {
  return ws.config({
    accounts: [
      loopbackAccount(port, ws, {
        deliver: undefined,
        retention: '0',
        route: [
          { match: { relayLimit: 3 }, drop: true },
          { match: { header: 'X-Spam-Flag', regex: '^YES' }, deliver: { maildir: ws.path('spam') } },
          { match: { to: '^hogehoge@' }, deliver: { command: 'cat > "$OUT/$PINCHMAIL_UIDL.eml"; echo "$PINCHMAIL_UIDL" >> "$OUT/seen"' }, continue: true },
          { match: 'all', deliver: { maildir: ws.path('inbox') } },
        ],
        ...extra,
      }),
    ],
  });
}

describe('routing', () => {
  it('sends each message where the route says, byte for byte; a dropped message is never downloaded', async () => {
    const run = await runCli(['-c', pipeline(), '--json'], { OUT: ws.path('hoge') });
    expect(run.code, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout).accounts[0];
    expect(doc).toMatchObject({ delivered: 4, dropped: 1, failed: 0, deleted: 4 });
    expect(ws.maildir('spam')).toEqual([crlfToLf(spam)]);
    expect(ws.maildir('inbox')).toEqual([crlfToLf(forHoge), crlfToLf(plain)].sort(Buffer.compare));
    expect(readFileSync(ws.path('hoge', `${hogeId}.eml`))).toEqual(crlfToLf(forHoge));
    // Headers were read with TOP; the relay loop was dropped without a RETR.
    expect(commands).toContain('TOP 4 0');
    expect(commands).not.toContain('RETR 4');
    expect(commands.filter((c) => c.startsWith('RETR')).sort()).toEqual(['RETR 1', 'RETR 2', 'RETR 3']);
    expect(onServer()).toEqual([]);
    expect(doc.fetch.find((f: { uidl: string }) => f.uidl === relayedId).outcome).toBe('dropped');
  });

  it('without TOP, the route reads the headers from the whole message, with the same outcome', async () => {
    server.faults.without = ['TOP'];
    const run = await runCli(['-c', pipeline(), '--json'], { OUT: ws.path('hoge') });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).accounts[0]).toMatchObject({ delivered: 4, dropped: 1 });
    expect(commands.filter((c) => c.startsWith('TOP'))).toEqual([]);
    expect(ws.maildir('spam')).toEqual([crlfToLf(spam)]);
    expect(ws.maildir('inbox')).toHaveLength(2);
  });

  it('when one target of several fails, the message is retried for that target only, which can tell by PINCHMAIL_UIDL', async () => {
    // The hoge job fails the first time it sees a message, then works.
    const flaky = 'if ! grep -qx "$PINCHMAIL_UIDL" "$OUT/seen" 2>/dev/null; then echo "$PINCHMAIL_UIDL" >> "$OUT/seen"; exit 75; fi; cat > "$OUT/$PINCHMAIL_UIDL.eml"';
    const config = ws.config({
      accounts: [
        loopbackAccount(port, ws, {
          deliver: undefined,
          retention: '0',
          route: [
            { match: { to: '^hogehoge@' }, deliver: { command: flaky }, continue: true },
            { match: 'all', deliver: { maildir: ws.path('inbox') } },
          ],
        }),
      ],
    });
    const first = await runCli(['-c', config, '--json'], { OUT: ws.path('hoge') });
    expect(first.code).toBe(75);
    expect(JSON.parse(first.stdout).accounts[0]).toMatchObject({ delivered: 3, failed: 1, deleted: 3 });
    expect(logMessages(first.stderr)[0]).toMatch(new RegExp(`message ${hogeId} not delivered: accounts\\[0\\]\\.route\\[0\\]: command .* exited with status 75`));
    expect(onServer()).toEqual([hogeId]);
    const second = await runCli(['-c', config, '--json'], { OUT: ws.path('hoge') });
    expect(second.code).toBe(0);
    expect(onServer()).toEqual([]);
    // The Maildir took it the first time and is not given it again; the job saw the same UIDL twice.
    expect(ws.maildir('inbox').filter((m) => m.equals(crlfToLf(forHoge)))).toHaveLength(1);
    expect(readFileSync(ws.path('hoge', 'seen'), 'utf8')).toBe(`${hogeId}\n`);
    expect(readFileSync(ws.path('hoge', `${hogeId}.eml`))).toEqual(crlfToLf(forHoge));
  });

  it('onFailure: after "after" failed runs a message goes to the quarantine and counts as delivered; status lists it until then', async () => {
    const config = ws.config({
      accounts: [
        loopbackAccount(port, ws, {
          deliver: undefined,
          retention: '0',
          route: [
            { match: { subject: '^hello$' }, deliver: { command: 'echo "cannot parse this" >&2; exit 1' } },
            { match: 'all', deliver: { maildir: ws.path('inbox') } },
          ],
          onFailure: { after: 2, deliver: { maildir: ws.path('quarantine') } },
        }),
      ],
    });
    for (let run = 1; run <= 2; run++) {
      const r = await runCli(['-c', config]);
      expect(r.code).toBe(75);
      const status = JSON.parse((await runCli(['-c', config, 'status', '--json'])).stdout).accounts[0];
      expect(status.failing).toEqual([expect.objectContaining({ uidl: plainId, attempts: run, lastError: expect.stringContaining('exited with status 1 (stderr: cannot parse this)') })]);
    }
    const third = await runCli(['-c', config, '--json']);
    expect(third.code).toBe(0);
    expect(JSON.parse(third.stdout).accounts[0]).toMatchObject({ delivered: 1, deleted: 1 });
    expect(ws.maildir('quarantine')).toEqual([crlfToLf(plain)]);
    expect(onServer()).toEqual([]);
    expect(JSON.parse((await runCli(['-c', config, 'status', '--json'])).stdout).accounts[0].failing).toEqual([]);
  });

  it('route --test shows which rules a saved message takes', async () => {
    const saved = ws.path('saved.eml');
    writeFileSync(saved, crlfToLf(forHoge));
    const run = await runCli(['-c', pipeline(), 'route', '--test', saved]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/route\[0\] +relayLimit 3 +no/);
    expect(run.stdout).toMatch(/route\[1\] +header X-Spam-Flag \^YES +no/);
    expect(run.stdout).toMatch(/route\[2\] +to \^hogehoge@ +yes -> command .* \(and on\)/);
    expect(run.stdout).toMatch(/route\[3\] +all +yes -> Maildir .*inbox \(ends the route\)/);
    expect(run.stdout).toContain('goes to: command');
    const json = JSON.parse((await runCli(['-c', pipeline(), 'route', '--test', saved, '--json'])).stdout);
    expect(json.accounts[0].deliveredTo.map((d: { by: string }) => d.by)).toEqual(['accounts[0].route[2]', 'accounts[0].route[3]']);
    const missing = await runCli(['-c', pipeline(), 'route', '--test', ws.path('missing.eml')]);
    expect(missing.code).toBe(64);
    expect(missing.stderr.trim()).toBe(`pinchmail: usage error: route --test: cannot read ${ws.path('missing.eml')}: no such file`);
  });

  it('check shows the route', async () => {
    const run = await runCli(['-c', pipeline(), 'check']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/route\[0\] +relayLimit 3 -> drop/);
    expect(run.stdout).toMatch(/route\[2\] +to \^hogehoge@ -> command .*\(continue\)/);
  });

  it('leaves no spool files behind', async () => {
    await runCli(['-c', pipeline()], { OUT: ws.path('hoge') });
    const spool = ws.path('state.sqlite-spool');
    expect(readdirSync(spool).flatMap((d) => readdirSync(`${spool}/${d}`))).toEqual([]);
  });
});

describe('route regular expressions run in linear time (RE2)', () => {
  /** Backtracks 2^60 ways on sixty letters and a `!` in a JavaScript RegExp. */
  const PATHOLOGICAL = '^(\\w+\\s?)+$';
  const evil = msg(`Subject: ${'a'.repeat(60)}!`);

  /** A route that sorts by the pathological pattern: word-only subjects to one Maildir, the rest to another. */
  function wordy(subject = PATHOLOGICAL): string {
    return ws.config({
      accounts: [
        loopbackAccount(port, ws, {
          deliver: undefined,
          retention: '0',
          route: [
            { match: { subject }, deliver: { maildir: ws.path('words') } },
            { match: 'all', deliver: { maildir: ws.path('inbox') } },
          ],
        }),
      ],
    });
  }

  /**
   * runCli, but SIGKILLed after `ms`: a process stuck in a backtracking regex never gets
   * to its SIGTERM handler, and must not outlive a failed test.
   */
  async function runCliWithin(args: string[], ms = 20_000): ReturnType<typeof runCli> {
    const child = startCli(args);
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    try {
      return await child.result;
    } finally {
      clearTimeout(timer);
    }
  }

  it('route --test answers at once for the pathological subject', { timeout: 60_000 }, async () => {
    const saved = ws.path('evil.eml');
    writeFileSync(saved, crlfToLf(evil));
    const run = await runCliWithin(['-c', wordy(), 'route', '--test', saved]);
    expect(run.signal, 'still running when killed').toBeNull();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/route\[0\] +subject \^\(\\w\+\\s\?\)\+\$ +no/);
    expect(run.stdout).toMatch(/route\[1\] +all +yes -> Maildir .*inbox \(ends the route\)/);
  });

  it('a fetch with such a message in the mailbox delivers everything and exits', { timeout: 60_000 }, async () => {
    server.store.add(USER, evil);
    const run = await runCliWithin(['-c', wordy(), '--json']);
    expect(run.signal, 'still running when killed').toBeNull();
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).accounts[0]).toMatchObject({ delivered: 5, failed: 0 });
    expect(ws.maildir('inbox')).toEqual([crlfToLf(evil)]);
    expect(ws.maildir('words')).toHaveLength(4);
  });

  it('check accepts the pattern: RE2 runs it in linear time', async () => {
    const run = await runCliWithin(['-c', wordy(), 'check']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/route\[0\] +subject \^\(\\w\+\\s\?\)\+\$ -> Maildir/);
  });

  it('check rejects what RE2 cannot run (lookaround, backreferences) with one line naming the path', async () => {
    for (const [pattern, reason] of [
      ['^job(?=s)', 'lookahead is not supported'],
      ['(a)\\1', 'backreferences are not supported'],
    ]) {
      const run = await runCliWithin(['-c', wordy(pattern), 'check']);
      expect(run.code).toBe(78);
      expect(run.stdout).toBe('');
      const lines = run.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`accounts[0].route[0].match.subject: RE2 cannot compile this pattern (${reason}): `);
    }
  });
});
