import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DevPop3Server, ScriptAction } from '../../src/devserver/pop3-server.js';
import { Workspace, runCli, startCli, type CliResult } from '../support/cli.js';
import { USER, uidlsOn } from '../support/fake-pop3.js';
import { manyLines, measuredRun, silence, trickle, type MeasuredRun } from '../support/hostile.js';
import { recordOutcome } from '../support/reliability-log.js';
import { until } from '../support/until.js';
import { loopbackAccount, startServerAndWorkspace, stopServerAndWorkspace } from '../support/server-workspace.js';

/**
 * A hostile server (issue 11): replies that never end, trickle in under the timeout, or
 * are far too large; a server that echoes the password back; signals at every phase of a
 * session. Each runs the built CLI as a user would and asserts the exit status, the time
 * it took, the peak memory of the pinchmail process and that nothing was lost.
 */

let server: DevPop3Server;
let port: number;
let ws: Workspace;
const TEST = 'test/reliability/hostile-server.test.ts';
/** Far above what pinchmail needs for a small mailbox (about 60-90 MiB), far below what the attacks took (GiBs). */
const MEMORY_BOUND_MIB = 250;
/**
 * A mailbox of maxMessages (200,000) honest messages peaks near 450 MiB in a dry run with
 * --json: the most a server can make pinchmail hold is what such a mailbox costs.
 */
const FULL_MAILBOX_MIB = 700;

beforeEach(async () => void ({ server, port, ws } = await startServerAndWorkspace()));
afterEach(() => stopServerAndWorkspace(server, ws));

const mail = (n: number): Buffer => Buffer.from(`Subject: job ${n}\r\nFrom: a@example.org\r\n\r\nbody ${n}\r\n`);

const account = (extra: Record<string, unknown> = {}): Record<string, unknown> => loopbackAccount(port, ws, { retention: '0', ...extra });

function script(on: Record<string, (args: string[]) => ScriptAction | undefined>): void {
  server.faults.script = ({ verb, args }) => on[verb]?.(args);
}

/** The --json document's account, and the exit status. */
function parsed(run: CliResult): { code: number | null; doc: Record<string, unknown> } {
  expect(run.stdout, run.stderr).not.toBe('');
  return { code: run.code, doc: JSON.parse(run.stdout).accounts[0] };
}

/** One failure line on stderr: the last log event's message. */
function failureLine(stderr: string): string {
  const events = stderr.split('\n').filter((l) => l.startsWith('{'));
  return String((JSON.parse(events[events.length - 1]!) as { msg: string }).msg);
}

function record(fault: string, how: string, run: MeasuredRun | (CliResult & { elapsedMs: number }), note?: string): void {
  recordOutcome({
    group: 'hostile',
    fault,
    how,
    lost: 0,
    duplicates: 0,
    exit: String(run.code),
    test: TEST,
    seconds: Math.round(run.elapsedMs / 100) / 10,
    ...('peakMiB' in run ? { peakMiB: run.peakMiB } : {}),
    ...(note ? { note } : {}),
  });
}

describe('time: a deadline per account, whatever the server trickles', () => {
  it('a greeting trickled one byte every 0.4 s under a 1 s timeout ends at the deadline: exit 75', async () => {
    server.faults.greeting = trickle('+OK a greeting that never ends ', 400);
    const config = ws.config({ accounts: [account({ timeout: '1s', deadline: '3s' })] });
    const run = await measuredRun(['-c', config, '--json']);
    const { code, doc } = parsed(run);
    expect(code, run.stderr).toBe(75);
    expect(String(doc.error)).toContain('deadline');
    expect(run.elapsedMs).toBeLessThan(20_000);
    expect(run.peakMiB).toBeLessThan(MEMORY_BOUND_MIB);
    record('greeting trickled under the timeout', 'one byte every 0.4 s, timeout 1s, deadline 3s', run);
  });

  it('a message body trickled after another was delivered: the first stays recorded, nothing is deleted, exit 75', async () => {
    server.store.add(USER, mail(1), 'U1');
    server.store.add(USER, mail(2), 'U2');
    script({ RETR: (args) => (args[0] === '2' ? { reply: trickle('+OK\r\nSubject: slow\r\n', 400) } : undefined) });
    const config = ws.config({ accounts: [account({ timeout: '1s', deadline: '3s' })] });
    const run = await measuredRun(['-c', config, '--json']);
    const { code, doc } = parsed(run);
    expect(code, run.stderr).toBe(75);
    expect(doc).toMatchObject({ delivered: 1, deleted: 0 });
    expect(ws.maildir('Maildir').map((b) => b.toString())).toEqual([mail(1).toString().replace(/\r\n/g, '\n')]);
    expect(uidlsOn(server)).toEqual(['U1', 'U2']);
    expect(server.commits).toEqual([]);
    expect(run.elapsedMs).toBeLessThan(20_000);

    // The next run delivers nothing twice: U1 is known, U2 (trickled again) goes last.
    server.faults.script = undefined;
    const next = parsed(await runCli(['-c', config, '--json']));
    expect(next.code).toBe(0);
    expect(ws.maildir('Maildir')).toHaveLength(2);
    record('a message body trickled under the timeout', 'RETR of the 2nd message, one byte every 0.4 s, deadline 3s', run, 'the 1st message stays delivered; nothing deleted');
  });

  it('the deadline while QUIT is unanswered: the run says the server may have deleted, and the next run sees what it did', async () => {
    server.store.add(USER, mail(1), 'U1');
    script({ QUIT: () => ({ delayMs: 20_000 }) });
    const config = ws.config({ accounts: [account({ deadline: '2s' })] });
    const run = parsed(await runCli(['-c', config, '--json']));
    expect(run.code).toBe(75);
    expect(String(run.doc.error)).toContain('the server may have committed the deletions');
    expect(run.doc).toMatchObject({ delivered: 1, deleted: 0 });
    // The dev server committed the DELE as it took QUIT: the next run finds the message gone, and warns of nothing.
    expect(uidlsOn(server)).toEqual([]);
    server.faults.script = undefined;
    const next = await runCli(['-c', config, '--json']);
    expect(next.code).toBe(0);
    expect(JSON.parse(next.stdout).accounts[0]).toMatchObject({ delivered: 0, vanished: [] });
    expect(ws.maildir('Maildir')).toHaveLength(1);
  });
});

describe('signals end the session at once, in every phase: exit 75, nothing lost', () => {
  const phases: { phase: string; setup: () => Record<string, unknown> | void; ready: () => boolean }[] = [
    { phase: 'greeting (silent server)', setup: () => void (server.faults.greeting = silence()), ready: () => server.sessions.size > 0 },
    { phase: 'greeting (trickled)', setup: () => void (server.faults.greeting = trickle('+OK slow', 300)), ready: () => server.sessions.size > 0 },
    {
      phase: 'TLS handshake',
      setup: () => {
        server.faults.greeting = silence();
        return { tls: 'implicit', tlsOptions: { insecure: true } };
      },
      ready: () => server.sessions.size > 0,
    },
    {
      phase: 'login',
      setup: () => {
        script({ PASS: () => ({ stall: true }) });
        return { auth: 'user' };
      },
      ready: () => stalledOn('PASS'),
    },
    { phase: 'listing', setup: () => script({ UIDL: () => ({ stall: true }) }), ready: () => stalledOn('UIDL') },
  ];
  let seen: string[] = [];
  const stalledOn = (verb: string): boolean => seen.includes(verb);

  for (const { phase, setup, ready } of phases) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      it(`${signal} during the ${phase}`, async () => {
        seen = [];
        server.store.add(USER, mail(1), 'U1');
        const extra = setup() ?? {};
        const inner = server.faults.script;
        server.faults.script = (event) => {
          seen.push(event.verb);
          return inner?.(event);
        };
        // A long timeout and deadline: only the signal can end this run soon.
        const config = ws.config({ accounts: [account({ timeout: '10m', deadline: '1h', ...extra })] });
        const started = Date.now();
        const run = startCli(['-c', config, '--json']);
        await until(ready, 10_000, `the run to reach the ${phase}`);
        run.kill(signal);
        const result = await run.result;
        const elapsedMs = Date.now() - started;
        const { code, doc } = parsed(result);
        expect(code, result.stderr).toBe(75);
        expect(String(doc.error)).toContain('stopped by a signal');
        expect(uidlsOn(server)).toEqual(['U1']);
        expect(server.commits).toEqual([]);
        expect(elapsedMs).toBeLessThan(10_000);
        if (signal === 'SIGTERM') record(`${signal} during the ${phase}`, 'timeout 10m, deadline 1h: only the signal ends the run', { ...result, elapsedMs });
      });
    }
  }

  it('SIGTERM while connecting (the server\'s accept queue is full, so the connection never completes)', async () => {
    const blackhole = await acceptQueueFull();
    try {
      const config = ws.config({ accounts: [account({ port: blackhole.port, timeout: '10m', deadline: '1h' })] });
      const before = blackhole.connecting();
      const started = Date.now();
      const run = startCli(['-c', config, '--json']);
      await until(() => blackhole.connecting() > before, 10_000, 'the run to start connecting');
      run.kill('SIGTERM');
      const result = await run.result;
      const elapsedMs = Date.now() - started;
      const { code, doc } = parsed(result);
      expect(code, result.stderr).toBe(75);
      expect(String(doc.error)).toContain('stopped by a signal');
      expect(elapsedMs).toBeLessThan(10_000);
      record('SIGTERM while connecting', 'the server\'s accept queue is full: the TCP handshake never completes', { ...result, elapsedMs });
    } finally {
      blackhole.close();
    }
  });
});

describe('memory: every reply that is not a message body is capped', () => {
  it('a CAPA reply of 450 MB: exit 76 at once, memory flat', async () => {
    script({ CAPA: () => ({ reply: manyLines('+OK\r\n', 4_500_000, (i) => `X-CAPABILITY-${i} ${'x'.repeat(80)}`) }) });
    const config = ws.config({ accounts: [account()] });
    const run = await measuredRun(['-c', config, '--json']);
    const { code, doc } = parsed(run);
    expect(code, run.stderr).toBe(76);
    expect(String(doc.error)).toMatch(/CAPA/);
    expect(run.peakMiB).toBeLessThan(MEMORY_BOUND_MIB);
    record('a CAPA reply of 450 MB', '4.5 million capability lines', run);
  });

  it('under a small heap the same attack still ends with exit 76 and one clear line, not an abort', async () => {
    script({ CAPA: () => ({ reply: manyLines('+OK\r\n', 4_500_000, (i) => `X-CAPABILITY-${i} ${'x'.repeat(80)}`) }) });
    const config = ws.config({ accounts: [account()] });
    const run = await measuredRun(['-c', config], {}, ['--max-old-space-size=40']);
    expect(run.code, run.stderr).toBe(76);
    expect(failureLine(run.stderr)).toMatch(/CAPA/);
    record('a CAPA reply of 450 MB, 40 MB heap', 'node --max-old-space-size=40', run);
  });

  it('STAT claims 5 million messages and UIDL lists them: exit 76 naming maxMessages, memory flat, nothing stored', async () => {
    script({
      STAT: () => ({ reply: '+OK 5000000 500000000\r\n' }),
      UIDL: () => ({ reply: manyLines('+OK\r\n', 5_000_000, (i) => `${i} uidl-${i}`) }),
    });
    const config = ws.config({ accounts: [account()] });
    const run = await measuredRun(['-c', config, '--json']);
    const { code, doc } = parsed(run);
    expect(code, run.stderr).toBe(76);
    expect(String(doc.error)).toContain('maxMessages');
    expect(run.peakMiB).toBeLessThan(MEMORY_BOUND_MIB);
    const status = JSON.parse((await runCli(['-c', config, 'status', '--json'])).stdout);
    expect(status.accounts[0].known ?? 0).toBe(0);
    record('a listing of 5 million messages', 'STAT and UIDL say 5,000,000 (maxMessages 200000)', run);
  });

  it('STAT says 10 and UIDL lists 5 million lines: exit 76, memory flat', async () => {
    script({
      STAT: () => ({ reply: '+OK 10 1000\r\n' }),
      UIDL: () => ({ reply: manyLines('+OK\r\n', 5_000_000, (i) => `${i} uidl-${i}`) }),
    });
    const config = ws.config({ accounts: [account()] });
    const run = await measuredRun(['-c', config, '--json']);
    const { code } = parsed(run);
    expect(code, run.stderr).toBe(76);
    expect(run.peakMiB).toBeLessThan(MEMORY_BOUND_MIB);
    record('a listing longer than STAT said', 'STAT 10, UIDL 5,000,000 lines', run);
  });

  it('STAT counts beyond 2^32 and beyond maxMessages: exit 76, not an internal error', async () => {
    for (const count of ['9999999999', '4294967296', '300000']) {
      script({ STAT: () => ({ reply: `+OK ${count} 1000\r\n` }) });
      const config = ws.config({ accounts: [account()] });
      const run = await measuredRun(['-c', config, '--json']);
      const { code, doc } = parsed(run);
      expect(code, `${count}: ${run.stderr}`).toBe(76);
      expect(String(doc.error)).toContain('maxMessages');
      if (count === '9999999999') record('STAT of 9999999999 messages', '+OK 9999999999 1000', run);
    }
  });

  it('maxMessages is the operator\'s to raise: a mailbox above the default is fetched when it allows', async () => {
    for (let i = 1; i <= 5; i++) server.store.add(USER, mail(i), `U${i}`);
    const tight = parsed(await runCli(['-c', ws.config({ accounts: [account({ maxMessages: 4 })] }), '--json']));
    expect(tight.code).toBe(76);
    expect(String(tight.doc.error)).toMatch(/5 messages.*maxMessages \(4\)/);
    expect(uidlsOn(server)).toHaveLength(5);
    const roomy = parsed(await runCli(['-c', ws.config({ accounts: [account({ maxMessages: 5 })] }), '--json']));
    expect(roomy.code).toBe(0);
    expect(roomy.doc).toMatchObject({ delivered: 5 });
  });

  it('200,000 UIDL lines of 1000 bytes each, none a valid unique-id: what is kept of each is short, memory flat', async () => {
    script({
      STAT: () => ({ reply: '+OK 200000 200000000\r\n' }),
      UIDL: () => ({ reply: manyLines('+OK\r\n', 200_000, (i) => `${i} not a unique-id ${'y'.repeat(960)}`) }),
      LIST: () => ({ reply: manyLines('+OK\r\n', 200_000, (i) => `${i} 1000`) }),
    });
    const config = ws.config({ accounts: [account()] });
    const run = await measuredRun(['-c', config, '--json']);
    const { code, doc } = parsed(run);
    expect(code, run.stderr).toBe(0);
    const unidentified = doc.unidentified as { uidl: string }[];
    expect(unidentified).toHaveLength(200_000);
    const longest = unidentified.reduce((most, u) => (u.uidl.length > most.length ? u.uidl : most), '');
    expect(longest.length, longest).toBeLessThanOrEqual(71);
    expect(run.peakMiB).toBeLessThan(FULL_MAILBOX_MIB);
    record('200,000 invalid UIDLs of 1000 bytes', 'each kept as at most 70 characters, left on the server; --json lists all 200,000', run);
  });

  it('a dry run of a full mailbox (maxMessages honest messages) lists them all, within the memory such a mailbox costs', async () => {
    script({
      STAT: () => ({ reply: '+OK 200000 200000000\r\n' }),
      UIDL: () => ({ reply: manyLines('+OK\r\n', 200_000, (i) => `${i} ${String(i).padStart(70, 'u')}`) }),
      LIST: () => ({ reply: manyLines('+OK\r\n', 200_000, (i) => `${i} 1000`) }),
    });
    const run = await measuredRun(['-c', ws.config({ accounts: [account()] }), '--dry-run']);
    expect(run.code, run.stderr.slice(0, 2000)).toBe(0);
    expect(run.stdout.split('\n').filter((l) => l.startsWith('  fetch'))).toHaveLength(200_000);
    expect(run.peakMiB).toBeLessThan(FULL_MAILBOX_MIB);
    record('a dry run of 200,000 honest messages', 'the most maxMessages allows by default (the cost an attacker cannot exceed)', run);
  });

  it('LIST lines far longer than a size: exit 76 at the first one', async () => {
    server.store.add(USER, mail(1), 'U1');
    script({ LIST: () => ({ reply: manyLines('+OK\r\n', 200_000, (i) => `${i} 1000 ${'z'.repeat(990)}`) }) });
    const run = await measuredRun(['-c', ws.config({ accounts: [account()] }), '--json']);
    expect(parsed(run).code, run.stderr).toBe(76);
    expect(run.peakMiB).toBeLessThan(MEMORY_BOUND_MIB);
  });

  it('a LIST size of 999999999999999 and a RETR that never ends: not retrieved at all, nothing written, the others delivered', async () => {
    server.store.add(USER, mail(1), 'U1');
    server.store.add(USER, mail(2), 'U2');
    script({
      LIST: (args) => (args.length === 0 ? { reply: '+OK\r\n1 999999999999999\r\n2 60\r\n.\r\n' } : undefined),
      RETR: (args) => (args[0] === '1' ? { reply: manyLines('+OK\r\n', 100_000_000, () => 'x'.repeat(100), '') } : undefined),
    });
    const config = ws.config({ accounts: [account({ maxMessageSize: '50M' })] });
    const run = await measuredRun(['-c', config, '--json']);
    const { code, doc } = parsed(run);
    expect(code, run.stderr).toBe(75);
    expect(doc).toMatchObject({ delivered: 1, failed: 1 });
    expect((doc.fetch as { uidl: string; error?: string }[]).find((f) => f.uidl === 'U1')?.error).toContain('more than maxMessageSize (50M)');
    expect(ws.maildir('Maildir')).toHaveLength(1);
    expect(readdirSync(ws.path('Maildir', 'tmp'))).toEqual([]);
    expect(uidlsOn(server)).toEqual(['U1']);
    expect(run.peakMiB).toBeLessThan(MEMORY_BOUND_MIB);
    record('a LIST size of 999999999999999, the body endless', 'maxMessageSize 50M: the message is not retrieved', run, 'the other message is delivered; nothing is written for this one');
  });

  it('a greeting line of 100 MB without a line end: exit 76, memory flat', async () => {
    server.faults.greeting = manyLines('+OK ', 1_000_000, () => 'x'.repeat(100).replace(/x/g, 'y'), '');
    const config = ws.config({ accounts: [account()] });
    const run = await measuredRun(['-c', config, '--json']);
    expect(parsed(run).code, run.stderr).toBe(76);
    expect(run.peakMiB).toBeLessThan(MEMORY_BOUND_MIB);
    record('a greeting of 100 MB in one line', 'no line end', run);
  });
});

describe('secrets the server echoes are never printed or stored', () => {
  const SECRET = 'Hunter2-very-secret';

  function everything(run: CliResult, ...more: string[]): string {
    const files = readdirSync(ws.dir, { withFileTypes: true })
      .filter((f) => f.isFile() && f.name.startsWith('state.sqlite'))
      .map((f) => f.name);
    return [run.stdout, run.stderr, ...more, ...files.map((f) => readFileSync(ws.path(f)).toString('latin1'))].join('\n');
  }

  for (const auth of ['user', 'plain'] as const) {
    it(`${auth}: a server that says "-ERR [AUTH] bad password <what you sent>"`, async () => {
      server.store.addUser(USER, 'something-else');
      const echo = (args: string[]): ScriptAction => ({ reply: `-ERR [AUTH] bad password ${args.join(' ')} (${Buffer.from(SECRET).toString('base64')})\r\n` });
      script({ PASS: echo, AUTH: (args) => (args[1] ? echo(args) : undefined) });
      const config = ws.config({ accounts: [account({ auth, password: SECRET })] });
      const fetch = await measuredRun(['-c', config, '--json']);
      expect(fetch.code, fetch.stderr).toBe(77);
      const text = await runCli(['-c', config]);
      const check = await runCli(['-c', config, 'check', '--connect']);
      const status = await runCli(['-c', config, 'status']);
      const statusJson = await runCli(['-c', config, 'status', '--json']);
      const all = everything(fetch, text.stdout, text.stderr, check.stdout, check.stderr, status.stdout, status.stderr, statusJson.stdout);
      expect(all).toContain('bad password');
      expect(all).not.toContain(SECRET);
      expect(all).not.toContain(Buffer.from(SECRET).toString('base64'));
      expect(all).not.toContain(Buffer.from(`\0${USER}\0${SECRET}`).toString('base64'));
      if (auth === 'user') record('the server echoes the password', '-ERR [AUTH] bad password <what was sent>', fetch, 'not in stderr, --json, check --connect, status or the state database');
    });
  }
});

describe('secrets are struck from what is shown, never from what is parsed', () => {
  it('a password that is also part of a UIDL and of a size ("0000"): the mail is delivered and deleted as usual', async () => {
    server.store.addUser(USER, '0000');
    server.store.add(USER, Buffer.from('Subject: zeros\r\n\r\n0000 0000\r\n'), '00000001deadbeef');
    server.faults.listSize = () => 100_000;
    server.faults.script = ({ verb, args }) => (verb === 'RETR' ? { reply: `+OK\r\n${'0'.repeat(99_990)}\r\n.\r\n` } : undefined);
    const run = parsed(await runCli(['-c', ws.config({ accounts: [account({ auth: 'user', password: '0000' })] }), '--json']));
    expect(run.code, JSON.stringify(run.doc)).toBe(0);
    expect(run.doc).toMatchObject({ delivered: 1, deleted: 1 });
    expect(uidlsOn(server)).toEqual([]);
  });

  it('a LIST line or an invalid UIDL that echoes the password: struck out of --json, status and the state database', async () => {
    const SECRET = 'Hunter2-very-secret';
    server.store.addUser(USER, SECRET);
    server.store.add(USER, mail(1), 'U1');
    server.store.add(USER, mail(2), 'U2');
    for (const [verb, reply] of [
      ['LIST', `+OK\r\n1 ${SECRET}\r\n2 100\r\n.\r\n`],
      ['UIDL', `+OK\r\n1 U1\r\n2 bad password ${SECRET}\r\n.\r\n`],
    ] as const) {
      script({ [verb]: (args: string[]) => (args.length === 0 ? { reply } : undefined) });
      const config = ws.config({ accounts: [account({ auth: 'user', password: SECRET, retention: '1h' })] });
      const fetch = await runCli(['-c', config, '--json']);
      const status = await runCli(['-c', config, 'status', '--json']);
      const stored = readdirSync(ws.dir, { withFileTypes: true })
        .filter((f) => f.isFile() && f.name.startsWith('state.sqlite'))
        .map((f) => readFileSync(ws.path(f.name)).toString('latin1'));
      expect([fetch.stdout, fetch.stderr, status.stdout, ...stored].join('\n'), verb).not.toContain(SECRET);
      expect(fetch.stdout + fetch.stderr, verb).toContain('****');
    }
  });
});

describe('what goes on the wire', () => {
  it('a password whose characters U+010D U+010A would become CR LF in Latin-1 is sent as UTF-8, one command', async () => {
    const password = 'pw\u010d\u010aDELE 1';
    server.store.addUser(USER, password);
    server.store.add(USER, mail(1), 'U1');
    const verbs: string[] = [];
    server.faults.script = ({ verb }) => void verbs.push(verb);
    const config = ws.config({ accounts: [account({ auth: 'user', password, retention: '1h' })] });
    const run = parsed(await runCli(['-c', config, '--json']));
    expect(run.code).toBe(0);
    expect(run.doc).toMatchObject({ delivered: 1 });
    expect(verbs.slice(verbs.indexOf('USER'), verbs.indexOf('USER') + 3)).toEqual(['USER', 'PASS', 'CAPA']);
    expect(verbs).not.toContain('DELE');
  });

  for (const auth of ['user', 'plain', 'login'] as const) {
    it(`${auth}: a password outside Latin-1 logs in (sent as UTF-8)`, async () => {
      const password = 'pässwörd-✓-密码';
      server.store.addUser(USER, password);
      const config = ws.config({ accounts: [account({ auth, password })] });
      const run = parsed(await runCli(['-c', config, '--json']));
      expect(run.code, JSON.stringify(run.doc)).toBe(0);
    });
  }

  it('a password with a line break is a configuration error: exit 78, nothing sent', async () => {
    const verbs: string[] = [];
    server.faults.script = ({ verb }) => void verbs.push(verb);
    const config = ws.config({ accounts: [account({ password: { env: 'PW' } })] });
    const run = await runCli(['-c', config], { PW: 'line\r\nDELE 1' });
    expect(run.code, run.stderr).toBe(78);
    expect(run.stderr).toContain('accounts[0].password');
    expect(run.stderr).not.toContain('DELE 1');
    expect(verbs).not.toContain('PASS');
  });
});

describe('exit codes', () => {
  it('STLS refused: 69, the secure channel cannot be had', async () => {
    script({ STLS: () => ({ reply: '-ERR not today\r\n' }) });
    const run = parsed(await runCli(['-c', ws.config({ accounts: [account({ tls: 'starttls', tlsOptions: { insecure: true } })] }), '--json']));
    expect(run.code).toBe(69);
    expect(String(run.doc.error)).toContain('not today');
  });

  it('a name under .localhost is not loopback: a clear-text password to it is refused at load (78)', async () => {
    const config = ws.config({ accounts: [account({ host: 'pinchmail-test.localhost', auth: 'user' })] });
    const run = await runCli(['-c', config, 'check']);
    expect(run.code, run.stdout + run.stderr).toBe(78);
    expect(run.stderr).toContain('accounts[0]');
  });
});

/** Connections to 127.0.0.1:`port` still waiting for the server's SYN-ACK (state SYN_SENT in /proc/net/tcp). */
function halfOpenTo(port: number): number {
  const remote = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'latin1')
    .split('\n')
    .filter((line) => {
      const fields = line.trim().split(/\s+/);
      return fields[2] === remote && fields[3] === '02';
    }).length;
}

/** A listening socket that never accepts, with its queue filled: a connect to it never completes. */
async function acceptQueueFull(): Promise<{ port: number; connecting: () => number; close: () => void }> {
  const { spawn } = await import('node:child_process');
  // Node accepts every connection itself; Python's listen(0) without accept() does not.
  const py = spawn('python3', ['-c', 'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(600)'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve) => py.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  const fillers: net.Socket[] = [];
  // Fill the queue (Linux drops SYNs once it is full): once a connect stays half open, the next one (pinchmail's) does too.
  while (halfOpenTo(port) === 0) {
    if (fillers.length >= 16) throw new Error('could not fill the accept queue');
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    fillers.push(s);
    let connected = false;
    s.once('connect', () => (connected = true));
    await until(() => connected || halfOpenTo(port) > 0, 5_000, 'the connection to complete or stay half open');
  }
  return {
    port,
    connecting: () => halfOpenTo(port),
    close: () => {
      for (const s of fillers) s.destroy();
      py.kill();
    },
  };
}
