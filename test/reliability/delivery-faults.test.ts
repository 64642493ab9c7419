import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { Workspace, logMessages, runCli } from '../support/cli.js';
import { USER, seededServer, uidlsOn } from '../support/fake-pop3.js';
import { expectNoLoss } from '../support/no-loss.js';
import { recordOutcome } from '../support/reliability-log.js';
import { loopbackAccount } from '../support/server-workspace.js';

/**
 * The delivery command misbehaves (issue 4). A message is delivered only when the
 * command exits 0; anything else leaves it on the server for the next run, and the
 * other messages go on.
 */

const COUNT = 3;
let server: DevPop3Server;
let port: number;
let ws: Workspace;
let sent: Map<string, Buffer>;

beforeEach(async () => {
  const bodies = Array.from({ length: COUNT }, (_, i) => Buffer.from(`Subject: job-${i}\r\n\r\n${'x'.repeat(100 * (i + 1))}\r\n`));
  ({ server, port, sent } = await seededServer(bodies));
  ws = new Workspace();
});

afterEach(async () => {
  await server.close();
  ws.remove();
});

const onServer = (): string[] => uidlsOn(server);
/** A command that always works, writing each message to a file of its own. */
const GOOD = 'cat > "$OUT/$PINCHMAIL_UIDL.$$.eml"';
const delivered = (): Buffer[] =>
  readdirSync(ws.path('out'))
    .filter((f) => f.endsWith('.eml'))
    .map((f) => readFileSync(ws.path('out', f)));

function config(deliver: Record<string, unknown>, name = 'config.json'): string {
  return ws.config({ accounts: [loopbackAccount(port, ws, { retention: '0', deliver })] }, name);
}

interface Case {
  fault: string;
  how: string;
  deliver: () => Record<string, unknown>;
  line: RegExp;
  /** 75 unless the failure will not fix itself (issue 13): 78 for a command that cannot run at all. */
  exit?: number;
}

const cases: Case[] = [
  { fault: 'exits 75', how: 'cat > /dev/null; exit 75', deliver: () => ({ command: 'cat > /dev/null; exit 75' }), line: /exited with status 75/ },
  { fault: 'exits 1', how: 'prints "no such user" to stderr, exits 1', deliver: () => ({ command: 'cat > /dev/null; echo "no such user" >&2; exit 1' }), line: /exited with status 1 \(stderr: no such user\)/ },
  { fault: 'killed by a signal', how: 'kill -9 $$', deliver: () => ({ command: 'kill -9 $$' }), line: /killed by SIGKILL/ },
  { fault: 'not found', how: '["/nonexistent/bin/deliver-mail"]', deliver: () => ({ command: ['/nonexistent/bin/deliver-mail'] }), line: /command "\/nonexistent\/bin\/deliver-mail" cannot run it: not found/, exit: 78 },
  {
    fault: 'not executable',
    how: 'a script with mode 0644',
    deliver: () => {
      writeFileSync(ws.path('script.sh'), '#!/bin/sh\ncat > /dev/null\n');
      chmodSync(ws.path('script.sh'), 0o644);
      return { command: [ws.path('script.sh')] };
    },
    line: /cannot run it: not executable \(permission denied\)/,
    exit: 78,
  },
];

describe('delivery command faults', () => {
  it.each(cases)('command $fault: every message stays on the server, exit 75 (78 if it cannot run), and all arrive once it works', async (c) => {
    ws.mkdir('out');
    const env = { OUT: ws.path('out'), PINCHMAIL_LOG: 'json' };
    const met = await runCli(['-c', config(c.deliver()), '--json'], env);
    expect(met.code).toBe(c.exit ?? 75);
    expect(JSON.parse(met.stdout).accounts[0]).toMatchObject({ delivered: 0, failed: COUNT, deleted: 0 });
    const lines = logMessages(met.stderr);
    // The first message's failure and the account's line; the others are one count (issue 13).
    expect(lines.filter((l) => c.line.test(l))).toHaveLength(2);
    expect(lines.filter((l) => l.includes(`and ${COUNT - 1} more messages failed the same way`))).toHaveLength(1);
    expect(onServer()).toHaveLength(COUNT);

    const fixed = await runCli(['-c', config({ command: GOOD }, 'fixed.json')], env);
    expect(fixed.code, fixed.stderr).toBe(0);
    const { duplicates } = expectNoLoss({ sent, delivered: delivered(), onServer: onServer(), crashes: 0, complete: true });
    expect(onServer()).toEqual([]);
    recordOutcome({ group: 'delivery', fault: `command ${c.fault}`, how: c.how, lost: 0, duplicates, exit: String(met.code), test: 'test/reliability/delivery-faults.test.ts' });
  });

  it('command hangs past its timeout: killed with its whole process group, message kept', async () => {
    ws.mkdir('out');
    const marker = `999.${process.pid}${Date.now() % 1000}`;
    const hang = { command: `sleep ${marker} & sleep ${marker}`, timeout: '1s' };
    const started = Date.now();
    const met = await runCli(['-c', config(hang), '-a', 'jobs'], { OUT: ws.path('out'), PINCHMAIL_LOG: 'json' });
    expect(met.code).toBe(75);
    // The first message's failure and the account's line; the others are one count (issue 13).
    expect(logMessages(met.stderr).filter((l) => /killed after its timeout of 1s/.test(l))).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(COUNT * 1000 + 10_000);
    // Nothing of the command's process group survives, not even its background child.
    let left = '';
    try {
      left = execFileSync('pgrep', ['-f', `sleep ${marker}`], { encoding: 'utf8' });
    } catch {
      left = '';
    }
    expect(left).toBe('');
    expect(onServer()).toHaveLength(COUNT);
    const fixed = await runCli(['-c', config({ command: GOOD }, 'fixed.json')], { OUT: ws.path('out') });
    expect(fixed.code).toBe(0);
    const { duplicates } = expectNoLoss({ sent, delivered: delivered(), onServer: onServer(), crashes: 0, complete: true });
    recordOutcome({ group: 'delivery', fault: 'command hangs past its timeout', how: '"sleep & sleep" with timeout "1s"; pgrep afterwards finds none of its processes', lost: 0, duplicates, exit: String(met.code), test: 'test/reliability/delivery-faults.test.ts' });
  });

  it('command exits 0 without reading its input: that is a delivery (SPEC: exit 0 means delivered)', async () => {
    const met = await runCli(['-c', config({ command: 'exit 0' }), '--json']);
    expect(met.code).toBe(0);
    expect(JSON.parse(met.stdout).accounts[0]).toMatchObject({ delivered: COUNT, deleted: COUNT });
    recordOutcome({
      group: 'delivery',
      fault: 'command exits 0 without reading its input',
      how: '{"command":"exit 0"}',
      lost: 0,
      duplicates: 0,
      exit: '0',
      test: 'test/reliability/delivery-faults.test.ts',
      note: 'counted as delivered, as SPEC says; stdin is a file, so the command cannot be hurt by SIGPIPE either',
    });
  });

  it('command writes megabytes to stderr: drained, its tail logged, memory bounded', async () => {
    ws.mkdir('out');
    const noisy = { command: `head -c 8000000 /dev/zero | tr '\\0' e >&2; echo "the last word" >&2; ${GOOD}` };
    const met = await runCli(['-c', config(noisy), '-v'], { OUT: ws.path('out'), PINCHMAIL_LOG: 'json' });
    expect(met.code, met.stderr.slice(-500)).toBe(0);
    expect(met.stderr.length).toBeLessThan(COUNT * 8_000);
    expect(logMessages(met.stderr).filter((l) => l.startsWith('delivery command said:') && l.endsWith('the last word'))).toHaveLength(COUNT);
    const { duplicates } = expectNoLoss({ sent, delivered: delivered(), onServer: onServer(), crashes: 0, complete: true });
    recordOutcome({ group: 'delivery', fault: 'command writes 8 MB to stderr', how: 'head -c 8000000 /dev/zero | tr ... >&2', lost: 0, duplicates, exit: String(met.code), test: 'test/reliability/delivery-faults.test.ts', note: 'only the last 4 KB is kept and logged' });
  });

  it('one message fails, the others go on', async () => {
    ws.mkdir('out');
    const [, second] = server.store.messages(USER);
    const picky = { command: `if [ "$PINCHMAIL_UIDL" = "${second!.uidl}" ]; then exit 75; fi; ${GOOD}` };
    const met = await runCli(['-c', config(picky), '--json'], { OUT: ws.path('out') });
    expect(met.code).toBe(75);
    expect(JSON.parse(met.stdout).accounts[0]).toMatchObject({ delivered: COUNT - 1, failed: 1, deleted: COUNT - 1 });
    expect(onServer()).toEqual([second!.uidl]);
    expectNoLoss({ sent, delivered: delivered(), onServer: onServer(), crashes: 0 });
  });
});
