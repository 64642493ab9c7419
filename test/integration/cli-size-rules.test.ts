import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { Workspace, logMessages, runCli } from '../support/cli.js';
import { crlfToLf } from '../support/corpus.js';
import { USER, fakeServer, recordCommands, uidlsOn } from '../support/fake-pop3.js';
import { loopbackAccount } from '../support/server-workspace.js';

/**
 * "skip" and "kill" rules (issue 16, mpop's skipsize and killsize): a message a rule
 * leaves unread is never downloaded; "skip" leaves it on the server and never deletes
 * it, "kill" deletes it in the same run, whatever the retention.
 */
const sized = (subject: string, bytes: number): Buffer => Buffer.from(`Subject: ${subject}\r\nFrom: a@example.org\r\n\r\n${'x'.repeat(bytes)}\r\n`);
const small = sized('small', 100);
const medium = sized('medium', 20_000);
const big = sized('big', 200_000);
const junk = sized('junk offer', 50);

let server: DevPop3Server;
let port: number;
let ws: Workspace;
let commands: string[];

beforeEach(async () => {
  server = fakeServer([small, medium, big, junk]);
  ({ port } = await server.listen('plain'));
  commands = recordCommands(server);
  ws = new Workspace();
});

afterEach(async () => {
  await server.close();
  ws.remove();
});

const [smallId, mediumId, bigId, junkId] = ['000000015f3a1c22', '000000025f3a1c22', '000000035f3a1c22', '000000045f3a1c22'];
const SIZE_RULES = [
  { match: { sizeOver: '100K' }, kill: true },
  { match: { sizeOver: '10K' }, skip: true },
];

function configWith(route: unknown[], extra: Record<string, unknown> = {}): string {
  return ws.config({ accounts: [loopbackAccount(port, ws, { retention: '7d', route, ...extra })] });
}

const read = (cmds: string[], uidlNo: number): string[] => cmds.filter((c) => c === `RETR ${uidlNo}` || c.startsWith(`TOP ${uidlNo} `));

describe('size rules', () => {
  it('kills the big one and skips the medium one without reading either; the rest is delivered; exit 0', async () => {
    const config = configWith(SIZE_RULES);
    const run = await runCli(['-c', config, '--json', '-v']);
    expect(run.code, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout).accounts[0];
    expect(doc).toMatchObject({ delivered: 2, failed: 0, skipped: 1, killed: 1, deleted: 1, leftOnServer: 3 });
    expect(doc.delete).toEqual([expect.objectContaining({ uidl: bigId, unread: true })]);
    const outcome = (uidl: string): string => doc.fetch.find((f: { uidl: string }) => f.uidl === uidl).outcome;
    expect([outcome(smallId), outcome(mediumId), outcome(bigId)]).toEqual(['delivered', 'skipped', 'killed']);
    // Neither is read, not even its header: their sizes decided.
    expect(read(commands, 2)).toEqual([]);
    expect(read(commands, 3)).toEqual([]);
    expect(commands).toContain('DELE 3');
    expect(ws.maildir('Maildir')).toEqual([crlfToLf(small), crlfToLf(junk)].sort(Buffer.compare));
    expect(uidlsOn(server)).toEqual([smallId, mediumId, junkId]);
    expect(logMessages(run.stderr)).toEqual(
      expect.arrayContaining([`skipped ${mediumId}: left on the server unread by accounts[0].route[1]`, `killed ${bigId}: to be deleted from the server unread by accounts[0].route[0]`]),
    );
  });

  it('a skipped message stays skipped run after run (not a failure, not overdue), and is delivered once the rule goes', async () => {
    const config = configWith(SIZE_RULES);
    expect((await runCli(['-c', config])).stdout).toBe('jobs: 2 delivered, 1 skipped (left on the server unread), 1 killed (deleted unread), 1 deleted, 3 left on server\n');
    commands.length = 0;
    const again = await runCli(['-c', config]);
    expect(again.stdout).toBe('jobs: 0 delivered, 1 skipped (left on the server unread), 0 deleted, 3 left on server\n');
    expect(read(commands, 2)).toEqual([]);

    const status = await runCli(['-c', config, 'status']);
    expect(status.stdout).toContain('on server     3: 2 delivered, 0 failing, 1 skipped (left unread by a "skip" rule), 0 waiting');
    expect(JSON.parse((await runCli(['-c', config, 'status', '--json'])).stdout).accounts[0]).toMatchObject({ skipped: 1, failing: [] });
    const check = await runCli(['-c', config, 'status', '--check']);
    expect(check.code, check.stdout).toBe(0);

    const without = configWith([SIZE_RULES[0]]);
    const third = await runCli(['-c', without, '--json']);
    expect(JSON.parse(third.stdout).accounts[0]).toMatchObject({ delivered: 1, skipped: 0 });
    expect(ws.maildir('Maildir')).toEqual([crlfToLf(small), crlfToLf(medium), crlfToLf(junk)].sort(Buffer.compare));
    expect(JSON.parse((await runCli(['-c', without, 'status', '--json'])).stdout).accounts[0]).toMatchObject({ skipped: 0 });
  });

  it('a skip rule wins over maxMessageSize: the message is left, not failed', async () => {
    const failing = await runCli(['-c', configWith([], { maxMessageSize: '100K', route: undefined })]);
    expect(failing.code).toBe(75);
    const skipping = await runCli(['-c', configWith([{ match: { sizeOver: '100K' }, skip: true }], { maxMessageSize: '100K' }), '--json']);
    expect(skipping.code, skipping.stderr).toBe(0);
    expect(JSON.parse(skipping.stdout).accounts[0]).toMatchObject({ skipped: 1, failed: 0 });
  });

  it('a kill rule by the header reads only the header (TOP), and deletes whatever the retention', async () => {
    const run = await runCli(['-c', configWith([{ match: { subject: '^junk' }, kill: true }], { retention: 'never' }), '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).accounts[0]).toMatchObject({ delivered: 3, killed: 1, deleted: 1 });
    expect(read(commands, 4)).toEqual(['TOP 4 0']);
    expect(uidlsOn(server)).toEqual([smallId, mediumId, bigId]);
  });

  it('without TOP, a header rule reads the whole message, and still leaves it unread', async () => {
    server.faults.without = ['TOP'];
    const run = await runCli(['-c', configWith([{ match: { subject: '^junk' }, skip: true }]), '--json']);
    expect(JSON.parse(run.stdout).accounts[0]).toMatchObject({ delivered: 3, skipped: 1 });
    expect(ws.maildir('Maildir')).toEqual([crlfToLf(small), crlfToLf(medium), crlfToLf(big)].sort(Buffer.compare));
    expect(uidlsOn(server)).toContain(junkId);
  });

  it('a dry run shows what the sizes decide', async () => {
    const run = await runCli(['-c', configWith(SIZE_RULES), '--dry-run']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('jobs: 4 on server; would fetch 2, would delete 1, would skip 1 (left unread)');
    expect(run.stdout).toMatch(new RegExp(`delete\\s+${bigId}\\s+.*new \\(unread: a kill rule\\)`));
    expect(JSON.parse((await runCli(['-c', configWith(SIZE_RULES), '--dry-run', '--json'])).stdout).accounts[0]).toMatchObject({ skipped: 1, killed: 1 });
    expect(uidlsOn(server)).toHaveLength(4);
  });

  it('a skipped message does not count against the per-run limit, and is not reported missed when a peer deletes it', async () => {
    const config = configWith([SIZE_RULES[1]], { maxMessagesPerRun: 1 });
    const first = await runCli(['-c', config, '--json']);
    expect(JSON.parse(first.stdout).accounts[0]).toMatchObject({ delivered: 1, deferred: 3 });
    // Not yet known to be skipped, the medium and big ones wait their turn like any other; once
    // skipped, each run looks at them outside the limit, and still takes one more.
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(JSON.parse((await runCli(['-c', config, '--json'])).stdout).accounts[0]);
    expect(runs.map((r) => [r.delivered, r.skipped, r.deferred])).toEqual([
      [0, 1, 2],
      [0, 2, 1],
      [1, 2, 0],
    ]);
    expect(ws.maildir('Maildir')).toEqual([crlfToLf(small), crlfToLf(junk)].sort(Buffer.compare));

    const medium = server.store.messages(USER).filter((m) => m.uidl === mediumId);
    server.store.remove(USER, new Set(medium));
    const after = await runCli(['-c', config, '--json']);
    expect(JSON.parse(after.stdout).accounts[0]).toMatchObject({ vanished: [], skipped: 1 });
  });
});
