import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { CRASH_POINTS, type CrashPoint } from '../../src/run/crash-points.js';
import { Workspace, runCli } from '../support/cli.js';
import { PASSWORD, USER, seededServer, uidlsOn } from '../support/fake-pop3.js';
import { expectNoLoss } from '../support/no-loss.js';
import { recordOutcome } from '../support/reliability-log.js';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Crash at every step (issue 4): the run is stopped with SIGKILL at the n-th time it
 * reaches each point of the run, then a normal run resumes. Nothing may be lost,
 * nothing truncated, and the crash may cost at most one duplicate.
 */

const COUNT = 5;
/** Points reached once per message, and points reached once per run. */
const PER_MESSAGE: CrashPoint[] = ['mid-retr', 'delivered-unrecorded', 'recorded'];

let server: DevPop3Server;
let port: number;
let ws: Workspace;
let sent: Map<string, Buffer>;

beforeEach(async () => {
  const bodies = Array.from({ length: COUNT }, (_, i) =>
    Buffer.from(`Subject: job-${i}\r\n\r\n${`line ${i} of a message long enough to come in pieces\r\n`.repeat(2000)}.${i}\r\n`),
  );
  ({ server, port, sent } = await seededServer(bodies));
  ws = new Workspace();
});

afterEach(async () => {
  await server.close();
  ws.remove();
});

function delivered(kind: 'maildir' | 'command'): Buffer[] {
  if (kind === 'maildir') return ws.maildir('Maildir');
  return readdirSync(ws.path('out'))
    .filter((f) => f.endsWith('.eml'))
    .map((f) => readFileSync(ws.path('out', f)));
}

const targets = {
  maildir: (): Record<string, unknown> => ({ maildir: ws.path('Maildir') }),
  // Each delivery lands in a file of its own, renamed into place, so every copy is counted.
  command: (): Record<string, unknown> => ({
    command: `cat > "$OUT/$PINCHMAIL_UIDL.$$.tmp" && mv "$OUT/$PINCHMAIL_UIDL.$$.tmp" "$OUT/$PINCHMAIL_UIDL.$$.eml"`,
  }),
};

const cases: [CrashPoint, number][] = CRASH_POINTS.flatMap((point) =>
  (PER_MESSAGE.includes(point) ? [1, 2, COUNT] : [1]).map((n) => [point, n] as [CrashPoint, number]),
);

describe.each(['maildir', 'command'] as const)('crash at every step, delivering to a %s', (kind) => {
  it.each(cases)('SIGKILL at %s (#%d), then a normal run', async (point, n) => {
    ws.mkdir('out');
    const config = ws.config({
      accounts: [{ name: 'jobs', host: '127.0.0.1', port, tls: 'none', user: USER, password: PASSWORD, retention: '0', deliver: targets[kind]() }],
    });
    const env = { OUT: ws.path('out') };
    const crashed = await runCli(['-c', config, '-q'], { ...env, PINCHMAIL_TEST_CRASH: `${point}:${n}` });
    expect(crashed.signal, `${point}:${n} was never reached (exit ${crashed.code}: ${crashed.stderr})`).toBe('SIGKILL');
    // Between the crash and the next run: whatever left the server was delivered.
    expectNoLoss({ sent, delivered: delivered(kind), onServer: uidlsOn(server), crashes: 1 });

    const resumed = await runCli(['-c', config, '-q'], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    const after = uidlsOn(server);
    expect(after).toEqual([]);
    const { duplicates } = expectNoLoss({ sent, delivered: delivered(kind), onServer: after, crashes: 1, complete: true });
    if (kind === 'maildir') {
      // A Maildir file is noted before it is placed, so the next run finds it instead of
      // delivering it again: no duplicate at any point.
      expect(duplicates).toBe(0);
    } else if (point === 'mid-retr') {
      // Bodies are retrieved while the previous message's command runs: that one may be caught.
      expect(duplicates).toBeLessThanOrEqual(1);
    } else {
      // A crash between a command exiting 0 and the mark costs that one duplicate.
      expect(duplicates).toBe(point === 'delivered-unrecorded' ? 1 : 0);
    }
    recordOutcome({
      group: 'crash',
      fault: `SIGKILL at ${point} (#${n}), ${kind}`,
      how: `PINCHMAIL_TEST_CRASH=${point}:${n}, ${COUNT} messages, retention "0", then a normal run`,
      lost: 0,
      duplicates,
      exit: 'SIGKILL, then 0',
      test: 'test/reliability/crash-steps.test.ts',
    });
  });
});
