import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { BIN, runCli, type Workspace } from '../support/cli.js';
import { describeIf } from '../support/dovecot-suite.js';
import { PASSWORD, TLS, TLS_FILES, USER } from '../support/fake-pop3.js';
import { startServerAndWorkspace, stopServerAndWorkspace } from '../support/server-workspace.js';
import { until } from '../support/until.js';

/**
 * `pinchmail init` as a person meets it: the built bin/pinchmail on a real
 * pseudo-terminal, its questions answered as they appear. (test/integration/cli-init.test.ts
 * covers the same command off a terminal, from flags.) Also the TLS modes init settles on
 * when it is not told one, which is what a terminal user always gets: init does not ask.
 */

/**
 * A thin relay, so the test can drive the terminal from Node: runs argv[1:] on a new pty,
 * copies our stdin to it and its output to our stdout, and exits with the child's status
 * (128 + N for signal N, as a shell says it).
 */
const PTY_RELAY = `
import os, pty, select, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
stdin_open = True
while True:
    ready, _, _ = select.select([fd] + ([0] if stdin_open else []), [], [])
    if 0 in ready:
        data = os.read(0, 4096)
        if data:
            os.write(fd, data)
        else:
            stdin_open = False
    if fd in ready:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        os.write(1, data)
_, status = os.waitpid(pid, 0)
sys.exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))
`;

function pythonMissing(): string | null {
  const r = spawnSync('python3', ['-c', 'import pty, select'], { stdio: 'ignore' });
  return r.status === 0 ? null : 'python3 (with its pty module) is not installed, to run init on a pseudo-terminal (apt-get install python3)';
}

/** What a person would see: the terminal's output without readline's cursor moves, with plain newlines. */
const screen = (raw: string): string => raw.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r+\n/g, '\n');

const QUESTION = {
  host: 'POP3 server: ',
  user: 'login name: ',
  passwordEnv: 'environment variable holding the password (or rerun with --password-file or --password-command): ',
  maildir: 'Maildir to deliver to [~/Maildir]: ',
};
const ENTER = '\r';
const CTRL_C = '\x03';
const CTRL_D = '\x04';

/** `pinchmail ARGS` on a terminal of its own; `answer` waits for a question, then types. */
class Terminal {
  private raw = '';
  private seen = 0;
  readonly child: ChildProcess;
  readonly exit: Promise<number | null>;

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn('python3', ['-c', PTY_RELAY, process.execPath, BIN, ...args], {
      env: { PATH: process.env.PATH, LANG: 'C.UTF-8', TERM: 'xterm', ...env },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (d: string) => (this.raw += d));
    this.exit = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  /** Everything shown so far, as text. */
  get text(): string {
    return screen(this.raw);
  }

  /** Waits for `question` to be asked (after the last one answered), then types `keys`. */
  async answer(question: string, keys: string): Promise<void> {
    await until(() => this.text.indexOf(question, this.seen) >= 0, 15_000, `the question ${JSON.stringify(question)}; the screen shows ${JSON.stringify(this.text)}`);
    this.seen = this.text.indexOf(question, this.seen) + question.length;
    this.child.stdin!.write(keys);
  }

  /** The exit status, once the program is done and its terminal closed; a program still waiting after `timeoutMs` fails the test. */
  async done(timeoutMs = 30_000): Promise<number | null> {
    let finished = false;
    void this.exit.then(() => (finished = true));
    try {
      await until(() => finished, timeoutMs, `pinchmail to exit; the screen shows ${JSON.stringify(this.text)}`);
    } finally {
      this.child.stdin!.end();
    }
    return this.exit;
  }
}

/** The questions shown, in order, each as many times as it was asked. */
function questionsAsked(text: string): string[] {
  const all = Object.values(QUESTION);
  const found: { at: number; q: string }[] = [];
  for (const q of all) for (let i = text.indexOf(q); i >= 0; i = text.indexOf(q, i + 1)) found.push({ at: i, q });
  return found.sort((a, b) => a.at - b.at).map((f) => f.q);
}

let server: DevPop3Server;
let port: number;
let ws: Workspace;
const running: Terminal[] = [];
beforeEach(async () => {
  ({ server, port, ws } = await startServerAndWorkspace());
  mkdirSync(ws.path('home'), { mode: 0o700 });
});
afterEach(async () => {
  for (const t of running.splice(0)) if (t.child.exitCode === null) t.child.kill('SIGKILL');
  await stopServerAndWorkspace(server, ws);
});

/** HOME is the workspace's, so that "~/Maildir" never means the real one. */
const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  HOME: ws.path('home'),
  PW: PASSWORD,
  XDG_STATE_HOME: ws.path('state'),
  XDG_CONFIG_HOME: ws.path('xdg'),
  ...extra,
});

function onTerminal(args: string[], extra: NodeJS.ProcessEnv = {}): Terminal {
  const t = new Terminal(['init', ...args], env(extra));
  running.push(t);
  return t;
}

describeIf('pinchmail init on a terminal', 'terminal tests', pythonMissing(), () => {
  it('asks for server, login, password variable and Maildir, writes a 0600 config without the password, and check accepts it', async () => {
    const file = ws.path('conf', 'config.json');
    // Port and TLS mode are never asked: a server on a port of its own must be named by flags.
    const t = onTerminal(['-c', file, '--port', String(port), '--tls', 'none']);
    await t.answer(QUESTION.host, `127.0.0.1${ENTER}`);
    await t.answer(QUESTION.user, `${USER}${ENTER}`);
    await t.answer(QUESTION.passwordEnv, `PW${ENTER}`);
    await t.answer(QUESTION.maildir, ENTER); // the default
    expect(await t.done(), t.text).toBe(0);

    expect(questionsAsked(t.text)).toEqual([QUESTION.host, QUESTION.user, QUESTION.passwordEnv, QUESTION.maildir]);
    const after = t.text.slice(t.text.indexOf(QUESTION.maildir) + QUESTION.maildir.length);
    expect(after.trimEnd().split('\n')).toEqual([
      '',
      `wrote ${file} (mode 0600): account ${USER}, 127.0.0.1:${port}, tls none, user ${USER}`,
      expect.stringMatching(/^probe: logged in with \S+; server offers .*\bUIDL\b/),
      'next:',
      `  pinchmail check --connect -c "${file}"`,
      `  pinchmail --dry-run -c "${file}"`,
    ]);
    expect(t.text).not.toContain(PASSWORD);

    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(ws.path('conf')).mode & 0o777).toBe(0o700);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(PASSWORD);
    expect(JSON.parse(text)).toEqual({
      accounts: [{ name: USER, host: '127.0.0.1', port, tls: 'none', user: USER, password: { env: 'PW' }, deliver: { maildir: '~/Maildir' } }],
    });

    const check = await runCli(['check', '--connect', '-c', file], env());
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(check.stdout).toContain(`Maildir ${ws.path('home', 'Maildir')}`);
  });

  it('asks only what the flags left out, and nothing when every flag is given', async () => {
    const file = ws.path('config.json');
    const some = onTerminal(['-c', file, '--host', '127.0.0.1', '--port', String(port), '--tls', 'none', '--user', USER, '--password-env', 'PW']);
    await some.answer(QUESTION.maildir, `${ws.path('box')}${ENTER}`);
    expect(await some.done(), some.text).toBe(0);
    expect(questionsAsked(some.text)).toEqual([QUESTION.maildir]);
    expect(JSON.parse(readFileSync(file, 'utf8')).accounts[0].deliver).toEqual({ maildir: ws.path('box') });

    const all = onTerminal(['-c', ws.path('other.json'), '--host', '127.0.0.1', '--port', String(port), '--tls', 'none', '--user', USER, '--password-env', 'PW', '--command', 'cat >/dev/null']);
    expect(await all.done(), all.text).toBe(0);
    expect(questionsAsked(all.text)).toEqual([]);
    expect(all.text).toMatch(/^wrote /);
  });

  it('a question left unanswered (Enter) is a usage error naming its flag, and nothing is written', async () => {
    const file = ws.path('config.json');
    const t = onTerminal(['-c', file, '--port', String(port), '--tls', 'none']);
    await t.answer(QUESTION.host, ENTER);
    expect(await t.done()).toBe(64);
    expect(t.text).toMatch(/\npinchmail: usage error: missing --host \(see 'pinchmail init --help'\)\n$/);
    expect(existsSync(file)).toBe(false);
  });

  it('Ctrl-D at a question ends it like an empty answer: a usage error naming the flag, nothing written', async () => {
    const file = ws.path('config.json');
    const t = onTerminal(['-c', file, '--port', String(port), '--tls', 'none']);
    await t.answer(QUESTION.host, `127.0.0.1${ENTER}`);
    await t.answer(QUESTION.user, CTRL_D);
    expect(await t.done(), t.text).toBe(64);
    expect(t.text).toMatch(/\npinchmail: usage error: missing --user\b.*\n$/);
    expect(t.text).not.toContain('\n\n');
    expect(t.text).not.toMatch(/internal error/);
    expect(existsSync(file)).toBe(false);
  });

  it('Ctrl-C at a question stops init with the status of an interrupted run (75), nothing written', async () => {
    const file = ws.path('config.json');
    const t = onTerminal(['-c', file, '--port', String(port), '--tls', 'none']);
    await t.answer(QUESTION.host, `127.0.0.1${ENTER}`);
    await t.answer(QUESTION.user, CTRL_C);
    expect(await t.done(), t.text).toBe(75);
    expect(t.text).toMatch(/\npinchmail: temporary failure: init interrupted \(Ctrl-C\); nothing written\n$/);
    expect(t.text).not.toContain('\n\n');
    expect(t.text).not.toMatch(/internal error/);
    expect(existsSync(file)).toBe(false);
  });

  it('refuses an existing config before asking anything (73), and leaves it as it was', async () => {
    const file = ws.path('config.json');
    writeFileSync(file, 'mine\n', { mode: 0o600 });
    const t = onTerminal(['-c', file, '--port', String(port), '--tls', 'none']);
    expect(await t.done(), t.text).toBe(73);
    expect(questionsAsked(t.text)).toEqual([]);
    expect(t.text).toBe(`pinchmail: ${file} exists; pass --force to overwrite it\n`);
    expect(readFileSync(file, 'utf8')).toBe('mine\n');
  });

  it('a password typed where the variable name is asked is not written to the file: it asks again', async () => {
    const file = ws.path('config.json');
    const t = onTerminal(['-c', file, '--port', String(port), '--tls', 'none']);
    await t.answer(QUESTION.host, `127.0.0.1${ENTER}`);
    await t.answer(QUESTION.user, `${USER}${ENTER}`);
    await t.answer(QUESTION.passwordEnv, `${PASSWORD}${ENTER}`);
    await t.answer(QUESTION.passwordEnv, `PW${ENTER}`);
    await t.answer(QUESTION.maildir, ENTER);
    expect(await t.done(), t.text).toBe(0);
    expect(questionsAsked(t.text)).toEqual([QUESTION.host, QUESTION.user, QUESTION.passwordEnv, QUESTION.passwordEnv, QUESTION.maildir]);
    // Said between the two questions, without repeating what was typed.
    const between = t.text.slice(t.text.indexOf(QUESTION.passwordEnv), t.text.lastIndexOf(QUESTION.passwordEnv));
    expect(between).toMatch(/no environment variable of that name is set/);
    expect(between.split(PASSWORD)).toHaveLength(2); // the echo of the typing, nothing more
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(PASSWORD);
    expect(JSON.parse(text).accounts[0].password).toEqual({ env: 'PW' });
  });
});

/**
 * Without --tls (always so on a terminal, where it is not asked), init tries implicit
 * TLS, then STLS, and keeps the first mode that got past the connection; never clear
 * text. The dev server's certificate is trusted through NODE_EXTRA_CA_CERTS, or not.
 */
describeIf('pinchmail init: the TLS mode it settles on without --tls', 'terminal tests', pythonMissing(), () => {
  const TRUSTED = { NODE_EXTRA_CA_CERTS: TLS_FILES.cert };

  /** A dev server with implicit TLS (POP3S), counting the TCP connections it accepts. */
  async function pop3s(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
    let connections = 0;
    const s = tls.createServer({ ...TLS }, (socket) => server.attach(socket, true));
    s.on('connection', () => connections++);
    s.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    return { port: (s.address() as AddressInfo).port, connections: () => connections, close: () => new Promise((resolve) => s.close(() => resolve())) };
  }

  /** init from a terminal, with a Maildir given, so that the user only names server, login and password. */
  async function initAt(p: number, extra: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; text: string; config: Record<string, unknown> }> {
    const file = ws.path('config.json');
    const t = onTerminal(['-c', file, '--port', String(p), '--maildir', ws.path('Maildir')], extra);
    await t.answer(QUESTION.host, `127.0.0.1${ENTER}`);
    await t.answer(QUESTION.user, `${USER}${ENTER}`);
    await t.answer(QUESTION.passwordEnv, `PW${ENTER}`);
    const code = await t.done();
    expect(questionsAsked(t.text)).toEqual([QUESTION.host, QUESTION.user, QUESTION.passwordEnv]);
    return { code, text: t.text, config: JSON.parse(readFileSync(file, 'utf8')).accounts[0] };
  }

  it('a port that speaks POP3 with STLS: settles on starttls and logs in over TLS', async () => {
    const r = await initAt(port, TRUSTED);
    expect(r.code, r.text).toBe(0);
    expect(r.config).toMatchObject({ port, tls: 'starttls' });
    expect(r.text).toContain(`127.0.0.1:${port}, tls starttls`);
    expect(r.text).toMatch(/probe: logged in with \S+ over TLS/);
  });

  it('a POP3S port: settles on implicit TLS', async () => {
    const s = await pop3s();
    try {
      const r = await initAt(s.port, TRUSTED);
      expect(r.code, r.text).toBe(0);
      expect(r.config).toMatchObject({ port: s.port, tls: 'implicit' });
      expect(r.text).toMatch(/probe: logged in with \S+ over TLS/);
    } finally {
      await s.close();
    }
  });

  it('STLS with a certificate that is not trusted: writes starttls and names the certificate to pin (69)', async () => {
    const r = await initAt(port);
    expect(r.code, r.text).toBe(69);
    expect(r.config).toMatchObject({ port, tls: 'starttls' });
    expect(r.text).toContain('probe: FAILED');
    expect(r.text).toMatch(/the certificate of 127\.0\.0\.1 is not trusted \(self-signed\).*"fingerprint": "sha256:[0-9A-F:]+"/);
    expect(r.text).not.toMatch(/answered in plain text/);
  });

  it('POP3S with a certificate that is not trusted: keeps implicit, names the certificate, and does not try STLS on the TLS port', async () => {
    const s = await pop3s();
    try {
      const started = Date.now();
      const r = await initAt(s.port);
      expect(r.code, r.text).toBe(69);
      expect(r.config).toMatchObject({ port: s.port, tls: 'implicit' });
      expect(r.text).toMatch(/the certificate of 127\.0\.0\.1 is not trusted \(self-signed\).*"fingerprint": "sha256:[0-9A-F:]+"/);
      // An STLS attempt there would wait for a POP3 greeting that never comes, until the probe's time is up (15 s).
      expect(s.connections()).toBe(1);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await s.close();
    }
  });

  it('a server with neither TLS nor STLS: says STLS is not offered, and never sends the password in clear text (69)', async () => {
    server.faults.without = ['STLS'];
    const verbs: string[] = [];
    server.faults.script = (e) => void verbs.push(e.verb);
    const r = await initAt(port, TRUSTED);
    expect(r.code, r.text).toBe(69);
    expect(r.config).toMatchObject({ port, tls: 'starttls' });
    expect(r.text).toMatch(/pinchmail: server unavailable: 127\.0\.0\.1 does not offer STLS/);
    expect(r.text).not.toMatch(/answered in plain text/);
    expect(verbs).not.toContain('USER');
    expect(verbs).not.toContain('PASS');
    expect(verbs).not.toContain('AUTH');
    expect(verbs).not.toContain('APOP');
  });
});
