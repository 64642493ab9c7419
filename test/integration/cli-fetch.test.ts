import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { Workspace, logMessages, runCli, startCli } from '../support/cli.js';
import { corpus, crlfToLf, expectedBody } from '../support/corpus.js';
import { PASSWORD, USER, fakeServer, uidlsOn } from '../support/fake-pop3.js';
import { loopbackAccount, startServerAndWorkspace, stopServerAndWorkspace } from '../support/server-workspace.js';
import { until } from '../support/until.js';

let server: DevPop3Server;
let port: number;
let ws: Workspace;

const messages = Object.values(corpus).filter((m) => m.length > 0);
const mail = (subject: string, body = 'hello'): Buffer => Buffer.from(`Subject: ${subject}\r\nFrom: a@example.org\r\n\r\n${body}\r\n`);

beforeEach(async () => void ({ server, port, ws } = await startServerAndWorkspace(messages)));
afterEach(() => stopServerAndWorkspace(server, ws));

const account = (extra: Record<string, unknown> = {}): Record<string, unknown> => loopbackAccount(port, ws, { retention: '7d', ...extra });

const onServer = (): string[] => uidlsOn(server);

describe('fetching', () => {
  it('delivers every message byte for byte (CRLF to LF), and a second run delivers nothing', async () => {
    const config = ws.config({ accounts: [account()] });
    const first = await runCli(['-c', config]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe(`jobs: ${messages.length} delivered, 0 deleted, ${messages.length} left on server\n`);
    expect(ws.maildir('Maildir')).toEqual(messages.map((m) => expectedBody(m, 'lf')).sort(Buffer.compare));

    const second = await runCli(['-c', config]);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(`jobs: 0 delivered, 0 deleted, ${messages.length} left on server\n`);
    expect(ws.maildir('Maildir')).toHaveLength(messages.length);
    expect(onServer()).toHaveLength(messages.length);
  });

  it('a command gets the message on stdin, PINCHMAIL_* in its environment, and never the password variable', async () => {
    server = fakeServer([mail('one', 'caf\xe9')]);
    ({ port } = await server.listen('plain'));
    const out = ws.mkdir('out');
    const config = ws.config({
      accounts: [account({ password: { env: 'JOBS_PW' }, deliver: { command: ['/bin/sh', '-c', 'cat > "$OUT/$PINCHMAIL_UIDL.eml"; env > "$OUT/$PINCHMAIL_UIDL.env"'] } })],
    });
    const run = await runCli(['-c', config], { JOBS_PW: PASSWORD, OUT: out });
    expect(run.code, run.stderr).toBe(0);
    const [uidl] = onServer();
    expect(readFileSync(`${out}/${uidl}.eml`)).toEqual(crlfToLf(mail('one', 'caf\xe9')));
    const env = readFileSync(`${out}/${uidl}.env`, 'utf8');
    expect(env).toContain('PINCHMAIL_ACCOUNT=jobs\n');
    expect(env).toContain(`PINCHMAIL_UIDL=${uidl}\n`);
    expect(env).toContain(`PINCHMAIL_SIZE=${crlfToLf(mail('one', 'caf\xe9')).length}\n`);
    expect(env).not.toContain('JOBS_PW');
    expect(env).not.toContain(PASSWORD);
  });

  it('a string command runs under /bin/sh -c', async () => {
    const config = ws.config({ accounts: [account({ deliver: { command: `cat >> ${ws.path('all.mbox')}` } })] });
    expect((await runCli(['-c', config])).code).toBe(0);
    expect(readFileSync(ws.path('all.mbox')).length).toBe(messages.reduce((n, m) => n + expectedBody(m, 'lf').length, 0));
  });

  it('retention "0" deletes each message once delivered', async () => {
    const config = ws.config({ accounts: [account({ retention: '0' })] });
    const run = await runCli(['-c', config]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`jobs: ${messages.length} delivered, ${messages.length} deleted, 0 left on server\n`);
    expect(onServer()).toEqual([]);
    expect(ws.maildir('Maildir')).toHaveLength(messages.length);
  });

  it('retention "never" deletes nothing', async () => {
    const config = ws.config({ accounts: [account({ retention: 'never' })] });
    await runCli(['-c', config]);
    expect((await runCli(['-c', config])).code).toBe(0);
    expect(onServer()).toHaveLength(messages.length);
  });

  it('--dry-run lists what would happen and changes nothing', async () => {
    const config = ws.config({ accounts: [account({ retention: '0' })] });
    const run = await runCli(['-c', config, '--dry-run']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`jobs: ${messages.length} on server; would fetch ${messages.length}, would delete ${messages.length}`);
    for (const uidl of onServer()) expect(run.stdout).toMatch(new RegExp(`fetch +${uidl} +\\S+ +- +new`));
    expect(existsSync(ws.path('state.sqlite'))).toBe(false);
    expect(existsSync(ws.path('Maildir'))).toBe(false);
    expect(onServer()).toHaveLength(messages.length);
    expect(server.commits.flatMap((c) => c.deleted)).toEqual([]);
  });

  it('a short retention deletes exactly what the dry run listed', async () => {
    const config = ws.config({ accounts: [account({ retention: '2s' })] });
    // The run's one clock reading, set: 2.1 s pass between the runs without waiting for them.
    const T = Date.now();
    const at = (ms: number): NodeJS.ProcessEnv => ({ PINCHMAIL_TEST_NOW: String(T + ms) });
    expect((await runCli(['-c', config], at(0))).code).toBe(0);
    const old = onServer();
    server.store.add(USER, mail('late'));
    const dry = JSON.parse((await runCli(['-c', config, '-n', '--json'], at(2_100))).stdout);
    const listed = dry.accounts[0].delete.map((d: { uidl: string }) => d.uidl);
    expect(listed.sort()).toEqual([...old].sort());
    for (const d of dry.accounts[0].delete) expect(d.ageSeconds).toBeGreaterThanOrEqual(2);
    const real = JSON.parse((await runCli(['-c', config, '--json'], at(2_100))).stdout);
    expect(real.accounts[0].delete.map((d: { uidl: string }) => d.uidl).sort()).toEqual(listed.sort());
    expect(real.accounts[0]).toMatchObject({ status: 'ok', exitCode: 0, delivered: 1, deleted: old.length });
    expect(onServer()).toHaveLength(1);
  });

  it('--json prints one document with the fields SPEC fixes', async () => {
    const config = ws.config({ accounts: [account({ retention: '0' })] });
    const run = await runCli(['-c', config, '--json']);
    const doc = JSON.parse(run.stdout);
    expect(doc.dryRun).toBe(false);
    const a = doc.accounts[0];
    expect(a).toMatchObject({ name: 'jobs', status: 'ok', error: null, exitCode: 0, delivered: messages.length, failed: 0, deleted: messages.length, onServer: messages.length });
    expect(a.fetch[0]).toEqual(expect.objectContaining({ uidl: expect.any(String), size: expect.any(Number) }));
    expect(a.delete[0]).toEqual(expect.objectContaining({ uidl: expect.any(String), size: expect.any(Number), firstSeen: expect.stringMatching(/Z$/), ageSeconds: 0 }));
  });

  it('-q prints nothing when all is well', async () => {
    const config = ws.config({ accounts: [account()] });
    const run = await runCli(['-c', config, '-q']);
    expect(run).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });
});

describe('failures', () => {
  it('a failing command leaves its message on the server for the next run; the others go on', async () => {
    server = fakeServer([mail('good 1'), mail('bad'), mail('good 2')]);
    ({ port } = await server.listen('plain'));
    const script =
      't="$OUT/t.$PINCHMAIL_UIDL"; cat > "$t"; if grep -q "^Subject: bad" "$t"; then echo "cannot take this one" >&2; exit 75; fi; cat "$t" >> "$OUT/delivered"';
    const config = ws.config({ accounts: [account({ retention: '0', deliver: { command: script } })] });
    const env = { OUT: ws.dir };
    const first = await runCli(['-c', config, '-q'], env);
    expect(first.code).toBe(75);
    expect(first.stdout).toBe('');
    expect(first.stderr).toContain('not delivered: command');
    expect(first.stderr).toContain('exited with status 75 (stderr: cannot take this one)');
    expect(readFileSync(ws.path('delivered'), 'utf8')).toBe(crlfToLf(Buffer.concat([mail('good 1'), mail('good 2')])).toString());
    const [bad] = onServer();
    expect(onServer()).toHaveLength(1);

    const status = JSON.parse((await runCli(['-c', config, 'status', '--json'])).stdout);
    expect(status.accounts[0].failing).toEqual([expect.objectContaining({ uidl: bad, attempts: 1, lastError: expect.stringContaining('exited with status 75') })]);

    const second = await runCli(['-c', config, '--json'], env);
    expect(second.code).toBe(75);
    expect(JSON.parse(second.stdout).accounts[0]).toMatchObject({ status: 'failed', exitCode: 75, delivered: 0, failed: 1, deleted: 0 });
    const again = JSON.parse((await runCli(['-c', config, 'status', '--json'])).stdout);
    expect(again.accounts[0].failing[0].attempts).toBe(2);
    expect(onServer()).toEqual([bad]);
  });

  it('two runs at once: the second skips the locked account with one line and exit 75', async () => {
    // The first run is held inside its first delivery (it holds the lock then) until released.
    const slow = ws.slowCommand();
    const config = ws.config({ accounts: [account({ deliver: slow.deliver })] });
    const first = startCli(['-c', config]);
    await until(() => readdirSync(slow.out).length > 0, 20_000, 'the first run delivering');
    const second = await runCli(['-c', config]);
    expect(second.code).toBe(75);
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    expect(second.stderr).toContain('another pinchmail run is working on this account');
    slow.release();
    expect((await first.result).code).toBe(0);
  });

  it('a dry run does not need the lock', async () => {
    const slow = ws.slowCommand();
    const config = ws.config({ accounts: [account({ deliver: slow.deliver })] });
    const first = startCli(['-c', config]);
    await until(() => readdirSync(slow.out).length > 0, 20_000, 'the first run delivering');
    expect((await runCli(['-c', config, '-n'])).code).toBe(0);
    slow.release();
    expect((await first.result).code).toBe(0);
  });

  it('QUIT refused: nothing is marked deleted, and the next run deletes again', async () => {
    const config = ws.config({ accounts: [account({ retention: '0' })] });
    server.faults.script = ({ verb }) => (verb === 'QUIT' ? { reply: '-ERR [SYS/TEMP] could not expunge\r\n' } : undefined);
    const first = await runCli(['-c', config, '--json']);
    expect(first.code).toBe(75);
    expect(JSON.parse(first.stdout).accounts[0]).toMatchObject({ delivered: messages.length, deleted: 0 });
    expect(onServer()).toHaveLength(messages.length);
    server.faults.script = undefined;
    const second = await runCli(['-c', config, '--json']);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout).accounts[0]).toMatchObject({ delivered: 0, deleted: messages.length });
    expect(onServer()).toEqual([]);
  });

  it('a DELE refused for one message (a peer got there first) is not a failure', async () => {
    const config = ws.config({ accounts: [account({ retention: '0' })] });
    server.faults.script = ({ verb, args }) => (verb === 'DELE' && args[0] === '1' ? { reply: '-ERR no such message\r\n' } : undefined);
    const run = await runCli(['-c', config, '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).accounts[0]).toMatchObject({ delivered: messages.length, deleted: messages.length - 1 });
  });

  it('one failing account does not stop the next; the exit status is the first failure in config order', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const deadPort = (closed.address() as net.AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const config = ws.config({
      accounts: [
        account({ name: 'down', port: deadPort, stateKey: 'down' }),
        account({ name: 'badpw', password: 'wrong', stateKey: 'badpw' }),
        account({ name: 'fine' }),
      ],
    });
    const run = await runCli(['-c', config, '--json']);
    expect(run.code).toBe(69);
    const doc = JSON.parse(run.stdout);
    expect(doc.accounts.map((a: { name: string; exitCode: number }) => [a.name, a.exitCode])).toEqual([
      ['down', 69],
      ['badpw', 77],
      ['fine', 0],
    ]);
    expect(ws.maildir('Maildir')).toHaveLength(messages.length);
  });

  it.each([
    ['connection refused', 69, (cfg: Record<string, unknown>) => ({ ...cfg, port: 1 }), /server unavailable: cannot connect to 127.0.0.1:1/],
    ['DNS failure', 69, (cfg: Record<string, unknown>) => ({ ...cfg, host: 'no-such-host.invalid' }), /cannot resolve no-such-host.invalid/],
    ['wrong password', 77, (cfg: Record<string, unknown>) => ({ ...cfg, password: 'wrong' }), /authentication failed: login as alice .* refused/],
  ])('%s: exit %d', async (_what, code, change, message) => {
    const config = ws.config({ accounts: [change(account())] });
    const run = await runCli(['-c', config]);
    expect(run.code).toBe(code);
    expect(run.stdout).toBe('');
    expect(logMessages(run.stderr)).toHaveLength(1);
    expect(logMessages(run.stderr)[0]).toMatch(message);
    expect(run.stderr).not.toContain(PASSWORD);
  });

  it.each([
    ['[IN-USE]', 75, '-ERR [IN-USE] Mailbox is locked\r\n'],
    ['[LOGIN-DELAY]', 75, '-ERR [LOGIN-DELAY] wait 15 minutes\r\n'],
    ['[SYS/PERM]', 69, '-ERR [SYS/PERM] mailbox unavailable\r\n'],
  ])('server says %s at login: exit %d', async (_what, code, reply) => {
    server.faults.script = ({ verb }) => (verb === 'PASS' || verb === 'AUTH' ? { reply } : undefined);
    const run = await runCli(['-c', ws.config({ accounts: [account()] })]);
    expect(run.code).toBe(code);
    expect(onServer()).toHaveLength(messages.length);
  });

  it('a server that does not speak POP3: exit 76', async () => {
    server.faults.greeting = 'HTTP/1.1 400 Bad Request';
    const run = await runCli(['-c', ws.config({ accounts: [account()] })]);
    expect(run.code).toBe(76);
    expect(logMessages(run.stderr)).toEqual(['protocol error: not a POP3 reply to greeting: "HTTP/1.1 400 Bad Request" (exit 76)']);
  });

  it('a timeout: exit 75, nothing lost', async () => {
    server.faults.script = ({ verb, args }) => (verb === 'RETR' && args[0] === '2' ? { stall: true } : undefined);
    const config = ws.config({ accounts: [account({ retention: '0', timeout: '1s' })] });
    const run = await runCli(['-c', config, '--json']);
    expect(run.code).toBe(75);
    const a = JSON.parse(run.stdout).accounts[0];
    expect(a.error).toContain('no reply from server within 1s');
    expect(a.deleted).toBe(0);
    expect(onServer()).toHaveLength(messages.length);
    expect(ws.maildir('Maildir')).toHaveLength(1);
    // The next run picks up where this one stopped, without a duplicate.
    server.faults.script = undefined;
    expect((await runCli(['-c', config])).code).toBe(0);
    expect(ws.maildir('Maildir')).toEqual(messages.map((m) => expectedBody(m, 'lf')).sort(Buffer.compare));
  });

  it('a config error: exit 78 with the JSON path', async () => {
    const config = ws.config({ accounts: [account({ retention: 'seven' })] });
    const run = await runCli(['-c', config]);
    expect(run.code).toBe(78);
    expect(run.stderr).toBe(`pinchmail: configuration error: accounts[0].retention: expected a duration like "7d", got "seven"\n`);
  });

  it('an unset password variable: exit 78 naming the setting', async () => {
    const run = await runCli(['-c', ws.config({ accounts: [account({ password: { env: 'NOT_SET_PW' } })] })]);
    expect(run.code).toBe(78);
    expect(run.stderr).toContain('accounts[0].password.env: environment variable NOT_SET_PW is not set');
  });

  it('usage errors: exit 64', async () => {
    expect((await runCli(['--frobnicate'])).code).toBe(64);
    expect((await runCli(['frobnicate'])).code).toBe(64);
    const unknown = await runCli(['-c', ws.config({ accounts: [account()] }), '-a', 'nosuch']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain('no account named "nosuch"');
  });

  it('--help and --version exit 0', async () => {
    for (const args of [['--help'], ['status', '--help'], ['check', '--help'], ['fetch', '--help'], ['--version']]) {
      const run = await runCli(args);
      expect(run.code, args.join(' ')).toBe(0);
      expect(run.stdout.length).toBeGreaterThan(0);
    }
  });
});

describe('accounts and state', () => {
  it('-a picks accounts; a disabled account runs only when named', async () => {
    const config = ws.config({ accounts: [account({ name: 'off', enabled: false, stateKey: 'off', deliver: { maildir: ws.path('Off') } }), account()] });
    const run = await runCli(['-c', config, '--json']);
    expect(JSON.parse(run.stdout).accounts.map((a: { name: string }) => a.name)).toEqual(['jobs']);
    const named = await runCli(['-c', config, '-a', 'off', '--json']);
    expect(JSON.parse(named.stdout).accounts.map((a: { name: string }) => a.name)).toEqual(['off']);
    expect(ws.maildir('Off')).toHaveLength(messages.length);
  });

  it('renaming an account or changing its port does not deliver its mail again', async () => {
    const first = ws.config({ accounts: [account()] });
    await runCli(['-c', first]);
    const renamed = ws.config({ accounts: [account({ name: 'renamed' })] }, 'renamed.json');
    const run = await runCli(['-c', renamed, '--json']);
    expect(JSON.parse(run.stdout).accounts[0]).toMatchObject({ name: 'renamed', delivered: 0 });
  });

  it('the database is created 0600 in a 0700 directory', async () => {
    const config = ws.config({ database: ws.path('deep', 'state', 'db.sqlite'), accounts: [account()] });
    expect((await runCli(['-c', config])).code).toBe(0);
    const { statSync } = await import('node:fs');
    expect(statSync(ws.path('deep', 'state')).mode & 0o777).toBe(0o700);
    expect(statSync(ws.path('deep', 'state', 'db.sqlite')).mode & 0o777).toBe(0o600);
  });

  it('status works offline and shows failing messages; with no database it says so', async () => {
    const config = ws.config({ accounts: [account({ retention: '1d' })] });
    const before = await runCli(['-c', config, 'status']);
    expect(before.code).toBe(0);
    expect(before.stdout).toContain('no state database yet');
    await runCli(['-c', config]);
    await server.close();
    const after = await runCli(['-c', config, 'status']);
    expect(after.code).toBe(0);
    expect(after.stdout).toContain(`on server     ${messages.length}: ${messages.length} delivered, 0 failing, 0 waiting`);
    expect(after.stdout).toMatch(/next deletion due +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d \(in (23h59m\d+s|1d)\)/);
  });

  it('check validates, masks secrets, and --connect logs in', async () => {
    const config = ws.config({ accounts: [account({ password: 'hunter2-secret' })] });
    server.store.addUser('other', 'hunter2-secret');
    const run = await runCli(['-c', config, 'check']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('valid');
    expect(run.stdout).not.toContain('hunter2');
    const bad = await runCli(['-c', config, 'check', '--connect']);
    expect(bad.code).toBe(77);
    expect(bad.stdout).toContain('PROBLEM    authentication failed');
    const good = await runCli(['-c', ws.config({ accounts: [account()] }, 'good.json'), 'check', '--connect', '--json']);
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout).accounts[0].connect.capabilities).toContain('UIDL');
  });

  it('leaves no spool files behind', async () => {
    const config = ws.config({ accounts: [account({ deliver: { command: 'cat > /dev/null' } })] });
    await runCli(['-c', config]);
    const spool = ws.path('state.sqlite-spool');
    const left = readdirSync(spool).flatMap((d) => readdirSync(`${spool}/${d}`));
    expect(left).toEqual([]);
  });

  it('writes nothing of the password to the database or the logs at -vv', async () => {
    const config = ws.config({ accounts: [account({ auth: 'user' })] });
    const run = await runCli(['-c', config, '-vv']);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('PASS ****');
    expect(run.stderr).not.toContain(PASSWORD);
    expect(readFileSync(ws.path('state.sqlite')).includes(PASSWORD)).toBe(false);
    writeFileSync(ws.path('noop'), '');
  });
});

describe('parallel delivery', () => {
  /** Each delivery notes how many were running when it started. */
  const counting = 'mkdir "$OUT/run.$PINCHMAIL_UIDL"; ls -d "$OUT"/run.* | wc -l > "$OUT/seen.$PINCHMAIL_UIDL"; sleep 0.2; cat > /dev/null; rmdir "$OUT/run.$PINCHMAIL_UIDL"';
  const most = (): number =>
    Math.max(...readdirSync(ws.path('out')).filter((f) => f.startsWith('seen.')).map((f) => Number(readFileSync(ws.path('out', f), 'utf8'))));

  it('by default a command runs for one message at a time', async () => {
    ws.mkdir('out');
    const run = await runCli(['-c', ws.config({ accounts: [account({ deliver: { command: counting } })] })], { OUT: ws.path('out') });
    expect(run.code, run.stderr).toBe(0);
    expect(most()).toBe(1);
  });

  it('"parallel": 3 lets up to three copies run at once, and every message still arrives once', async () => {
    ws.mkdir('out');
    const config = ws.config({ accounts: [account({ retention: '0', deliver: { command: counting, parallel: 3 } })] });
    const run = await runCli(['-c', config, '--json'], { OUT: ws.path('out') });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).accounts[0]).toMatchObject({ delivered: messages.length, deleted: messages.length });
    expect(most()).toBeGreaterThan(1);
    expect(most()).toBeLessThanOrEqual(3);
    expect(readdirSync(ws.path('out')).filter((f) => f.startsWith('seen.'))).toHaveLength(messages.length);
  });

  it('"parallel" is for commands only', async () => {
    const run = await runCli(['-c', ws.config({ accounts: [account({ deliver: { maildir: ws.path('M'), parallel: 2 } })] })]);
    expect(run.code).toBe(78);
    expect(run.stderr).toContain('accounts[0].deliver.parallel: "parallel" is for commands');
  });
});

describe('a large mailbox', () => {
  // Over the size (2000) below which LIST is simply pipelined behind UIDL.
  const COUNT = 2100;

  it('a poll with nothing new sends no LIST; a few new messages get LIST n each; every byte still arrives', async () => {
    for (let i = 0; i < COUNT - messages.length; i++) server.store.add(USER, mail(`bulk ${i}`));
    const verbs: string[] = [];
    server.faults.script = ({ verb, args }) => {
      if (verb === 'LIST') verbs.push(args.length ? `LIST ${args[0]}` : 'LIST');
      return undefined;
    };
    const config = ws.config({ accounts: [account({ retention: 'never' })] });

    const cold = await runCli(['-c', config, '--json']);
    expect(cold.code, cold.stderr).toBe(0);
    expect(JSON.parse(cold.stdout).accounts[0]).toMatchObject({ delivered: COUNT });
    expect(verbs).toEqual(['LIST']);

    verbs.length = 0;
    const poll = await runCli(['-c', config, '--json']);
    expect(poll.code, poll.stderr).toBe(0);
    expect(JSON.parse(poll.stdout).accounts[0]).toMatchObject({ onServer: COUNT, delivered: 0 });
    expect(verbs).toEqual([]);

    const fresh = [mail('new one', 'x'.repeat(5000)), mail('new two'), mail('new three')];
    for (const m of fresh) server.store.add(USER, m);
    const warm = await runCli(['-c', config, '--json']);
    expect(warm.code, warm.stderr).toBe(0);
    expect(JSON.parse(warm.stdout).accounts[0]).toMatchObject({ onServer: COUNT + 3, delivered: 3 });
    expect(verbs).toEqual([`LIST ${COUNT + 1}`, `LIST ${COUNT + 2}`, `LIST ${COUNT + 3}`]);

    const want = server.store.messages(USER).map((m) => expectedBody(m.content as Buffer, 'lf'));
    expect(ws.maildir('Maildir')).toEqual(want.sort(Buffer.compare));
  });
});
