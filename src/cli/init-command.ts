import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface, type Interface } from 'node:readline/promises';
import { defaultConfigPath } from '../config/paths.js';
import { loadConfig, parseConfig } from '../config/load.js';
import { resolveSecret } from '../config/secrets.js';
import { PinchmailError } from '../errors.js';
import { Pop3Error } from '../pop3/errors.js';
import { answeredInPlainText } from '../pop3/tls-trust.js';
import type { TlsMode } from '../pop3/session.js';
import { connectAndLogin } from '../run/connect.js';
import { Exists, exists, writePrivateFile } from './private-file.js';
import { EXIT, describeFailure, exitCodeFor } from './exit-codes.js';
import type { Io } from './options.js';
import { terminalText } from './terminal-text.js';

export interface InitOptions {
  config: string;
  force: boolean;
  host?: string;
  port?: string;
  user?: string;
  tls?: TlsMode;
  passwordEnv?: string;
  passwordFile?: string;
  passwordCommand?: string;
  maildir?: string;
  command?: string;
}

/** How long each probe may take: a server that does not answer should not hold `init` for a run's deadline. */
const PROBE_MS = 15_000;

/** Asks one question on the terminal; '' for no answer (Enter, or Ctrl-D). */
type Ask = (question: string, fallback?: string) => Promise<string>;

/** A name the environment can hold: what --password-env takes. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const usage = (message: string): PinchmailError => new PinchmailError('USAGE', `${message} (see 'pinchmail init --help')`);

/** A path as given on the command line, made absolute ("~" kept: the loader resolves it). */
const absolute = (p: string): string => (p === '~' || p.startsWith('~/') ? p : path.resolve(p));

/** The flag's value, else the answer on a terminal, else a usage error naming the flag. */
async function need(value: string | undefined, flag: string, question: string, ask: Ask | null, fallback?: string): Promise<string> {
  if (value) return value;
  if (!ask) throw usage(`missing ${flag} (stdin is not a terminal to ask on)`);
  const answer = await ask(question, fallback);
  if (!answer) throw usage(`missing ${flag}`);
  return answer;
}

/** The account the flags and answers describe, as it goes in the file; never an inline password. */
async function account(o: InitOptions, ask: Ask | null, tell: (line: string) => void): Promise<Record<string, unknown>> {
  const host = await need(o.host, '--host', 'POP3 server', ask);
  const user = await need(o.user, '--user', 'login name', ask);
  const given = [o.passwordEnv && { env: o.passwordEnv }, o.passwordFile && { file: absolute(o.passwordFile) }, o.passwordCommand && { command: ['/bin/sh', '-c', o.passwordCommand] }].filter(Boolean);
  if (given.length > 1) throw usage('give one of --password-env, --password-file and --password-command');
  let password = given[0];
  while (!password) {
    const env = await need(undefined, '--password-env, --password-file or --password-command', 'environment variable holding the password (or rerun with --password-file or --password-command)', ask);
    // Asked for a name, a person may well type the password itself: that must not go in the file.
    // What was typed is not repeated: it may be the password.
    if (ENV_NAME.test(env) && process.env[env] !== undefined) password = { env };
    else tell('pinchmail: no environment variable of that name is set here; export it first (pinchmail reads the password from it at every run), or rerun with --password-env NAME, --password-file or --password-command');
  }
  if (o.maildir && o.command) throw usage('give either --maildir or --command, not both');
  const deliver = o.command ? { command: o.command } : { maildir: absolute(await need(o.maildir, '--maildir or --command', 'Maildir to deliver to', ask, '~/Maildir')) };
  let port: number | undefined;
  if (o.port !== undefined) {
    port = Number(o.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw usage(`--port: expected a port number, got ${JSON.stringify(o.port)}`);
  }
  return { name: user.replace(/[^A-Za-z0-9._-]/g, '_'), host, ...(port ? { port } : {}), user, password, deliver };
}

/**
 * How far a failed probe got: not to the server (nothing answered there, or not in
 * time), to a server that does not speak this TLS mode on that port (POP3 in clear text
 * where TLS was tried), or past both, to a server that speaks the mode: then the failure
 * is that mode's to fix (a certificate, a password), and the mode is the one to keep.
 */
function reach(err: unknown): 0 | 1 | 2 {
  if (err instanceof Pop3Error && ['DNS', 'CONNECT', 'TIMEOUT', 'CLOSED'].includes(err.code)) return 0;
  if (err instanceof Pop3Error && err.code === 'TLS' && err.cause instanceof Error && answeredInPlainText(err.cause)) return 1;
  return 2;
}

/**
 * Logs in as the account would, in each TLS mode to try (never clear text unless told):
 * the first mode that worked, or that failed past the connection, wins; otherwise the
 * attempt that got furthest. On a port that answered TLS, STLS is not tried: there it
 * would wait for a POP3 greeting until the probe's time is up.
 */
async function probe(base: Record<string, unknown>, file: string): Promise<{ account: Record<string, unknown>; ok: string | null; problem: unknown }> {
  const modes: TlsMode[] = base.tls ? [base.tls as TlsMode] : ['implicit', 'starttls'];
  let best: { account: Record<string, unknown>; ok: null; problem: unknown } | null = null;
  for (const tls of modes) {
    const { name, host, ...rest } = base;
    const candidate = { name, host, port: base.port ?? (tls === 'implicit' ? 995 : 110), tls, ...rest };
    try {
      const resolved = parseConfig(JSON.stringify({ accounts: [candidate] }), file).accounts[0]!;
      const secret = await resolveSecret(resolved.password, resolved.passwordPath);
      const end = new AbortController();
      const timer = setTimeout(() => end.abort(new Pop3Error('TIMEOUT', `no login within ${PROBE_MS / 1000}s`)), PROBE_MS);
      try {
        const { session, method } = await connectAndLogin(resolved, secret, { signal: end.signal });
        const caps = [...(session.caps?.keys() ?? [])].map((c) => session.client.scrub(c)).join(' ') || '(no CAPA)';
        const sasl = session.saslOffered.map((m) => session.client.scrub(m)).join(' ');
        await session.quit().catch(() => session.destroy());
        return { account: candidate, ok: `logged in with ${method}${session.secure ? ' over TLS' : ''}; server offers ${caps}${sasl ? `; SASL ${sasl}` : ''}`, problem: null };
      } finally {
        clearTimeout(timer);
      }
    } catch (err) {
      if (reach(err) === 2) return { account: candidate, ok: null, problem: err };
      if (!best || reach(err) > reach(best.problem)) best = { account: candidate, ok: null, problem: err };
    }
  }
  return best!;
}


/**
 * `pinchmail init`: asks (on a terminal) or takes flags for one account, probes the
 * server, writes the config 0600. A failed probe is reported and its exit status
 * returned, but the file is still written: the config says what was asked for, and
 * `pinchmail check --connect` tries again once the password or the server is fixed.
 */
export async function initCommand(options: InitOptions, io: Io): Promise<number> {
  try {
    return await init(options, io);
  } catch (err) {
    if (!(err instanceof Exists)) throw err;
    io.stderr.write(`pinchmail: ${terminalText(err.message)}\n`);
    return EXIT.CANTCREAT;
  }
}

/**
 * The questions, on a terminal. Ctrl-D ends a question unanswered (as Enter would, but
 * without taking a default); Ctrl-C stops init as a signal stops a run (75), before
 * anything is written.
 */
function asker(terminal: Interface): Ask {
  let ended = false;
  terminal.on('close', () => (ended = true));
  const interrupt = new AbortController();
  // With a listener, readline leaves Ctrl-C to us instead of closing the terminal under a pending question.
  terminal.on('SIGINT', () => interrupt.abort());
  return async (q, fallback) => {
    if (ended) return '';
    let answer: string;
    try {
      answer = await terminal.question(`${q}${fallback ? ` [${fallback}]` : ''}: `, { signal: interrupt.signal });
    } catch (err) {
      // (readline ends the line for an aborted question itself.)
      if (interrupt.signal.aborted) throw new PinchmailError('INTERRUPTED', 'init interrupted (Ctrl-C); nothing written');
      if (!ended) throw err;
      // Ctrl-D ended no line on the screen: what follows starts on a line of its own.
      process.stdout.write('\n');
      return '';
    }
    return answer.trim() || fallback || '';
  };
}

async function init(options: InitOptions, io: Io): Promise<number> {
  const file = path.resolve(options.config);
  // Before any question, and before the probe: no point asking, or logging in, for a file that will not be written.
  if (!options.force && existsSync(file)) throw exists(file);
  const terminal = process.stdin.isTTY ? createInterface({ input: process.stdin, output: process.stdout }) : null;
  let base: Record<string, unknown>;
  try {
    const ask = terminal && asker(terminal);
    base = await account(options, ask, (line) => io.stderr.write(`${line}\n`));
    // Not asked: without --tls, the probe finds it.
    if (options.tls) base.tls = options.tls;
  } finally {
    terminal?.close();
  }

  const { account: chosen, ok, problem } = await probe(base, file);
  writePrivateFile(file, `${JSON.stringify({ accounts: [chosen] }, null, 2)}\n`, options.force, 'the config');
  // What a run will load: its permission checks (the directory, if it already was there) included.
  loadConfig(file);

  const c = file === defaultConfigPath() ? '' : ` -c ${JSON.stringify(file)}`;
  const out = [
    `wrote ${file} (mode 0600): account ${String(chosen.name)}, ${String(chosen.host)}:${String(chosen.port)}, tls ${String(chosen.tls)}, user ${String(chosen.user)}`,
    ok ? `probe: ${ok}` : `probe: FAILED (the file is written; fix this, then check again)`,
    'next:',
    `  pinchmail check --connect${c}`,
    `  pinchmail --dry-run${c}`,
  ];
  io.stdout.write(`${terminalText(out.join('\n'))}\n`);
  if (!problem) return EXIT.OK;
  io.stderr.write(`pinchmail: ${terminalText(describeFailure(problem))}\n`);
  return exitCodeFor(problem);
}
