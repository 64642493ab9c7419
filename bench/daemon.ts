/**
 * `pinchmail daemon` and `--parallel` (issue 17): what they buy over cron and over one
 * account at a time, and what a long-running daemon costs in memory. Rerun with:
 *
 *     npm run bench:daemon                  # everything, about 10 minutes
 *     BENCH_RUNS=3 BENCH_ONLY=accounts npm run bench:daemon
 *     BENCH_QUICK=1 npm run bench:daemon    # small sizes, a 10 s "minute", about a minute: checks the bench, not for reading
 *
 * Needs root (the private Dovecot), GNU time and mpop:
 *     apt-get install --no-install-recommends time mpop
 *
 * Three parts, each against one private Dovecot on loopback, deliveries into Maildirs on
 * /dev/shm (so the figures are pinchmail's and the server's, not the disk's):
 *   latency   mail-to-delivery latency: messages dropped into two mailboxes at the same
 *             random instants; `pinchmail daemon` polls one with "every": "5s", a
 *             simulated cron runs `pinchmail -q` on the other at every whole minute (a
 *             run started at each minute boundary of the wall clock, as cron does). The
 *             time from the message's arrival to its file in the Maildir's new/.
 *   accounts  200 accounts on one Dovecot, a few new messages of 10 KB each, cold (state
 *             and Maildirs cleared, mailboxes seeded again before every run): pinchmail
 *             --parallel 8, pinchmail one account at a time, and mpop --all-accounts,
 *             interleaved run by run, timed from outside with GNU time.
 *   memory    the daemon's RSS over 10,000 polls: 100 accounts, "every": "1s",
 *             --parallel 8, nothing new to fetch; polls counted in Dovecot's log (one
 *             "Logged out" per POP3 session), RSS read from /proc every 500 polls.
 * The rows are a section of docs/benchmarks.md (or of BENCH_OUT; BENCH_WRITE=0 writes none),
 * replaced in place, the rest of the page left as bench:peers wrote it; a quick run writes
 * to /tmp unless BENCH_OUT says otherwise, so it never replaces a full run's figures.
 * Nothing here asserts a timing: a failed run, a missing message or a wrong count is an
 * error, a slow one is a figure.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, fstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, watch, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dovecotUnavailable, startDovecot, type Dovecot } from '../test/support/dovecot.js';
import { freePort } from '../test/support/free-port.js';
import { fmt, median, table, timeCommand, type Timing } from './lib/measure.js';
import { demoteHeadings, withSection } from './lib/sections.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(root, 'bin', 'pinchmail');
const QUICK = process.env.BENCH_QUICK === '1';
const SIZE = QUICK
  ? { minuteMs: 10_000, cronMinutes: 2, latencyMessages: 4, accounts: 20, perAccount: 3, runs: 2, memAccounts: 40, polls: 800, sampleEvery: 100, memCapMs: 60_000, metricsFileMs: 15_000 }
  : { minuteMs: 60_000, cronMinutes: 4, latencyMessages: 24, accounts: 200, perAccount: 5, runs: 5, memAccounts: 100, polls: 10_000, sampleEvery: 500, memCapMs: 600_000, metricsFileMs: 60_000 };
const RUNS = Number(process.env.BENCH_RUNS ?? SIZE.runs);
const ONLY = new Set((process.env.BENCH_ONLY ?? 'latency,accounts,memory,metrics-file').split(','));
const PARALLEL = 8;
const DAEMON_EVERY = '5s';
const PAGE = path.resolve(process.env.BENCH_OUT ?? (QUICK ? path.join(os.tmpdir(), 'pinchmail-bench-quick', 'benchmarks.md') : path.join(root, 'docs', 'benchmarks.md')));
/** Dovecot's mail uid (test/support/dovecot.ts). */
const MAIL_UID = 5000;

const ws = mkdtempSync(path.join(os.tmpdir(), 'pinchmail-bench-daemon-'));
chmodSync(ws, 0o755);
const shm = mkdtempSync(path.join('/dev/shm', 'pinchmail-bench-daemon-'));
chmodSync(shm, 0o755);

const n = (count: number): string => count.toLocaleString('en');
const s = (ms: number, digits = 2): string => fmt(ms / 1000, digits);
const mb = (kb: number): string => fmt(kb / 1024, 1);
const load = (): string => fmt(os.loadavg()[0]!, 2);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** Nearest rank: the smallest sample with at least p of them at or below it. */
const percentile = (values: number[], p: number): number => [...values].sort((a, b) => a - b)[Math.max(0, Math.ceil(p * values.length) - 1)]!;
const range = (values: number[], format: (v: number) => string): string => `${format(Math.min(...values))}–${format(Math.max(...values))}`;
const pad3 = (i: number): string => String(i).padStart(3, '0');

function clear(...paths: string[]): void {
  for (const p of paths) rmSync(p, { recursive: true, force: true });
}

function maildir(dir: string): string {
  for (const sub of ['new', 'cur', 'tmp']) mkdirSync(path.join(dir, sub), { recursive: true });
  return dir;
}

function delivered(dir: string): number {
  return ['new', 'cur'].reduce((sum, sub) => sum + (existsSync(path.join(dir, sub)) ? readdirSync(path.join(dir, sub)).length : 0), 0);
}

function tenKb(subject: string, id: string): Buffer {
  const header = `From: bench@example.org\nTo: jobs@example.org\nSubject: ${subject}\nMessage-ID: <${id}@bench>\n\n`;
  const line = 'The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the\n';
  let body = header;
  while (body.length < 10 * 1024) body += line;
  return Buffer.from(`${body.slice(0, 10 * 1024 - 1)}\n`);
}

/** A user's Maildir on the server emptied (Dovecot's index too) and filled again: every run meets the same, never-seen mailbox. */
function reseed(dovecot: Dovecot, user: string, count: number): void {
  const box = dovecot.users.get(user)!.maildir;
  clear(box);
  for (const p of [box, ...['new', 'cur', 'tmp'].map((sub) => path.join(box, sub))]) {
    mkdirSync(p, { recursive: true });
    chownSync(p, MAIL_UID, MAIL_UID);
  }
  for (let i = 0; i < count; i++) dovecot.deliver(user, tenKb(`message ${i} for ${user}`, `${i}.${user}`));
}

interface Account {
  name: string;
  user: string;
  maildir: string;
  extra?: Record<string, unknown>;
}

function pinchmailConfig(file: string, dovecot: Dovecot, database: string, accounts: Account[]): string {
  const body = {
    database,
    accounts: accounts.map((a) => ({
      name: a.name,
      host: '127.0.0.1',
      port: dovecot.port,
      tls: 'none',
      user: a.user,
      password: dovecot.users.get(a.user)!.password,
      auth: 'user',
      retention: 'never',
      deliver: { maildir: a.maildir },
      ...a.extra,
    })),
  };
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(body, null, 1));
  chmodSync(file, 0o600);
  return file;
}

/** Dovecot's log read as it grows: its POP3 sessions, and any line that is not a clean login or logout. */
class DovecotLog {
  private offset = 0;
  private rest = '';
  loggedOut = 0;
  /** Sessions that logged out, per user. */
  readonly perUser = new Map<string, number>();
  readonly odd: string[] = [];

  constructor(private readonly file: string) {
    this.offset = existsSync(file) ? fstatSize(file) : 0;
  }

  /** Reads what was added since the last call. */
  read(): void {
    if (!existsSync(this.file)) return;
    const fd = openSync(this.file, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size <= this.offset) return;
      const buf = Buffer.alloc(size - this.offset);
      readSync(fd, buf, 0, buf.length, this.offset);
      this.offset = size;
      const lines = (this.rest + buf.toString('utf8')).split('\n');
      this.rest = lines.pop() ?? '';
      for (const line of lines) {
        const out = /pop3\(([^)]*)\).*Disconnected: Logged out/.exec(line);
        if (out) {
          this.loggedOut++;
          this.perUser.set(out[1]!, (this.perUser.get(out[1]!) ?? 0) + 1);
        } else if (!/pop3-login: Info: Login: /.test(line) && line.trim()) this.odd.push(line);
      }
    } finally {
      closeSync(fd);
    }
  }
}

function fstatSize(file: string): number {
  const fd = openSync(file, 'r');
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

/** What a daemon wrote on stderr, less the line every SIGTERM brings. */
function unexpected(stderr: string[]): string[] {
  return stderr.filter((l) => l.trim() && !/warning: SIGTERM: finishing the message in hand/.test(l));
}

/** Lines grouped by what they say, times, ids, names and numbers left out: "3 x `example`". */
function kinds(lines: string[]): string[] {
  const groups = new Map<string, { count: number; example: string }>();
  for (const line of lines) {
    const key = line
      .replace(/^\w{3} \d\d \d\d:\d\d:\d\d /, '')
      .replace(/\([^)]*\)|<[^>]*>|\d+/g, '#');
    const g = groups.get(key) ?? { count: 0, example: line };
    g.count++;
    groups.set(key, g);
  }
  return [...groups.values()].map((g) => `${g.count} x \`${g.example.replace(/`/g, "'")}\``);
}

interface Started {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<number>;
}

function startProcess(argv: string[]): Started {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Started = { child, stdout: [], stderr: [], exited: new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : -1)))) };
  const lines = (into: string[]) => {
    let rest = '';
    return (d: Buffer): void => {
      const parts = (rest + d.toString()).split('\n');
      rest = parts.pop() ?? '';
      into.push(...parts);
    };
  };
  child.stdout!.on('data', lines(out.stdout));
  child.stderr!.on('data', lines(out.stderr));
  return out;
}

/** When each daemon was sent SIGTERM and when it had exited: Dovecot logs the sessions it cut short then. */
const stopWindows: [number, number][] = [];

async function stopDaemon(daemon: Started, what: string): Promise<number> {
  const signalled = Date.now();
  daemon.child.kill('SIGTERM');
  const timer = setTimeout(() => daemon.child.kill('SIGKILL'), 30_000);
  const code = await daemon.exited;
  clearTimeout(timer);
  stopWindows.push([signalled, Date.now()]);
  if (code !== 0) throw new Error(`the ${what} daemon exited ${code} after SIGTERM: ${daemon.stderr.slice(-10).join('\n')}`);
  return code;
}

/** Calls `onFile` once for each file that appears in `dir`/new, with the time it was first seen (inotify, and a scan every 50 ms in case an event is missed). */
function watchNew(dir: string, onFile: (file: string, at: number) => void): () => void {
  const newDir = path.join(dir, 'new');
  const seen = new Set<string>();
  const scan = (): void => {
    const at = Date.now();
    for (const name of readdirSync(newDir)) {
      if (seen.has(name)) continue;
      seen.add(name);
      onFile(path.join(newDir, name), at);
    }
  };
  const watcher = watch(newDir, scan);
  const timer = setInterval(scan, 50);
  scan();
  return () => {
    watcher.close();
    clearInterval(timer);
  };
}

/** Waits until `done()` or the deadline; false if the deadline came first. */
async function until(done: () => boolean, deadline: number): Promise<boolean> {
  while (!done()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// 1. Latency

interface LatencyResult {
  daemon: number[];
  cron: number[];
  cronRuns: { startedLate: number; ms: number; exitCode: number }[];
  windowMs: number;
  spanMs: number;
  daemonStderr: string[];
  daemonStdout: string[];
}

async function latency(dovecot: Dovecot): Promise<LatencyResult> {
  const dir = path.join(ws, 'latency');
  const cronMaildir = path.join(shm, 'latency', 'cron');
  const daemonMaildir = path.join(shm, 'latency', 'daemon');
  mkdirSync(path.dirname(cronMaildir), { recursive: true });
  const cronConfig = pinchmailConfig(path.join(dir, 'cron.json'), dovecot, path.join(dir, 'cron.sqlite'), [{ name: 'cron', user: 'lat-cron', maildir: cronMaildir }]);
  const daemonConfig = pinchmailConfig(path.join(dir, 'daemon.json'), dovecot, path.join(dir, 'daemon.sqlite'), [
    { name: 'daemon', user: 'lat-daemon', maildir: daemonMaildir, extra: { every: DAEMON_EVERY } },
  ]);

  // Warm-up, not measured: each side has seen its mailbox once (state database made, Dovecot's index built, the Maildir made).
  for (const user of ['lat-cron', 'lat-daemon']) dovecot.deliver(user, tenKb('warm-up', `warm-up.${user}`));
  const warm = await timeCommand([process.execPath, BIN, '-c', cronConfig, '-q']);
  if (warm.exitCode !== 0 || delivered(cronMaildir) !== 1) throw new Error(`the warm-up cron run failed (exit ${warm.exitCode}): ${warm.stderr}`);
  const daemon = startProcess([process.execPath, BIN, '-c', daemonConfig, 'daemon']);
  if (!(await until(() => delivered(daemonMaildir) === 1, Date.now() + 20_000))) throw new Error(`the daemon did not deliver the warm-up message: ${daemon.stderr.join('\n')}`);

  const count = SIZE.latencyMessages;
  const minute = SIZE.minuteMs;
  const arrived = { cron: new Map<number, number>(), daemon: new Map<number, number>() };
  const seen = { cron: new Map<number, number>(), daemon: new Map<number, number>() };
  const stops = (['cron', 'daemon'] as const).map((side) =>
    watchNew(side === 'cron' ? cronMaildir : daemonMaildir, (file, at) => {
      const m = /^Subject: latency (\d+)$/m.exec(readFileSync(file, 'latin1'));
      if (m) seen[side].set(Number(m[1]), at);
    }),
  );

  // Arrivals uniform over a whole number of "minutes", so every phase of the cron minute is as likely.
  const start = Date.now() + 2_000;
  const windowMs = SIZE.cronMinutes * minute;
  const instants = Array.from({ length: count }, () => start + Math.random() * windowMs).sort((a, b) => a - b);
  const arrivals = instants.map(
    (at, i) =>
      new Promise<void>((resolve) =>
        setTimeout(() => {
          // Both mailboxes at the same instant, the one served first alternating.
          for (const side of i % 2 ? (['daemon', 'cron'] as const) : (['cron', 'daemon'] as const)) {
            dovecot.deliver(`lat-${side}`, tenKb(`latency ${i}`, `${i}.lat-${side}`));
            arrived[side].set(i, Date.now());
          }
          resolve();
        }, at - Date.now()),
      ),
  );

  // cron: a run at each whole minute of the wall clock after the first arrival could come, up to the first after the last one could.
  const ticks: number[] = [];
  for (let t = Math.ceil(start / minute) * minute; t <= Math.ceil((start + windowMs) / minute) * minute; t += minute) ticks.push(t);
  const cronRuns: LatencyResult['cronRuns'] = [];
  const runs: Promise<void>[] = [];
  await new Promise<void>((resolve) => {
    ticks.forEach((tick, k) =>
      setTimeout(() => {
        const startedLate = Date.now() - tick;
        const begun = performance.now();
        const run = startProcess([process.execPath, BIN, '-c', cronConfig, '-q']);
        runs.push(
          run.exited.then((exitCode) => {
            cronRuns.push({ startedLate, ms: performance.now() - begun, exitCode });
            if (exitCode !== 0) process.stderr.write(`cron run at ${new Date(tick).toISOString()} exited ${exitCode}: ${run.stderr.join('\n')}\n`);
          }),
        );
        process.stderr.write(`latency: cron tick ${k + 1} of ${ticks.length}, ${seen.cron.size}/${count} delivered by cron, ${seen.daemon.size}/${count} by the daemon\n`);
        if (k === ticks.length - 1) resolve();
      }, tick - Date.now()),
    );
  });
  await Promise.all([...arrivals, ...runs]);
  const allSeen = await until(() => seen.cron.size === count && seen.daemon.size === count, Date.now() + 30_000);
  for (const stop of stops) stop();
  await stopDaemon(daemon, 'latency');
  if (!allSeen) throw new Error(`not every message arrived: cron ${seen.cron.size}, daemon ${seen.daemon.size} of ${count}`);
  if (cronRuns.some((r) => r.exitCode !== 0)) throw new Error('a cron run failed (see above)');
  const latencies = (side: 'cron' | 'daemon'): number[] => [...arrived[side]].map(([i, at]) => seen[side].get(i)! - at);
  return {
    daemon: latencies('daemon'),
    cron: latencies('cron'),
    cronRuns,
    windowMs,
    spanMs: Date.now() - start,
    daemonStderr: unexpected(daemon.stderr),
    daemonStdout: daemon.stdout,
  };
}

// ---------------------------------------------------------------------------------------
// 2. Many accounts

const SERIAL = 'pinchmail (one account at a time)';
const PARALLELED = `pinchmail --parallel ${PARALLEL}`;
const MPOP = 'mpop --all-accounts';

interface Tool {
  tool: string;
  argv: string[];
  reset(): void;
  maildirs: string[];
}

interface AccountsResult {
  samples: Map<string, Timing[]>;
  /** What each tool wrote on stderr in its runs (a run that exits 0 may still warn). */
  stderr: Map<string, string[]>;
  users: number;
  perAccount: number;
}

async function manyAccounts(dovecot: Dovecot, users: string[]): Promise<AccountsResult> {
  const dir = path.join(ws, 'accounts');
  const pinchRoot = path.join(shm, 'accounts', 'pinchmail');
  const mpopRoot = path.join(shm, 'accounts', 'mpop');
  const database = path.join(dir, 'pinchmail.sqlite');
  const config = pinchmailConfig(
    path.join(dir, 'pinchmail.json'),
    dovecot,
    database,
    users.map((u) => ({ name: u, user: u, maildir: path.join(pinchRoot, u) })),
  );
  const rc = path.join(dir, 'mpoprc');
  const uidls = path.join(dir, 'mpop-uidls');
  writeFileSync(
    rc,
    [
      'defaults',
      'tls off',
      'auth user',
      'keep on',
      `uidls_file ${uidls}/%U_at_%H`,
      ...users.flatMap((u) => ['', `account ${u}`, 'host 127.0.0.1', `port ${dovecot.port}`, `user ${u}`, `password ${dovecot.users.get(u)!.password}`, `delivery maildir ${path.join(mpopRoot, u)}`]),
      '',
    ].join('\n'),
  );
  chmodSync(rc, 0o600);
  const resetPinchmail = (): void => {
    clear(database, `${database}-wal`, `${database}-shm`, pinchRoot);
    // pinchmail makes each Maildir, in a parent that must exist.
    mkdirSync(pinchRoot, { recursive: true });
  };
  const tools: Tool[] = [
    { tool: PARALLELED, argv: [process.execPath, BIN, '-c', config, '-q', '--parallel', String(PARALLEL)], reset: resetPinchmail, maildirs: users.map((u) => path.join(pinchRoot, u)) },
    { tool: SERIAL, argv: [process.execPath, BIN, '-c', config, '-q'], reset: resetPinchmail, maildirs: users.map((u) => path.join(pinchRoot, u)) },
    {
      tool: MPOP,
      argv: ['mpop', '-q', `--file=${rc}`, '--all-accounts'],
      reset: () => {
        clear(uidls, mpopRoot);
        // mpop makes no directory: every Maildir must be there.
        for (const u of users) maildir(path.join(mpopRoot, u));
      },
      maildirs: users.map((u) => path.join(mpopRoot, u)),
    },
  ];

  const samples = new Map(tools.map((t) => [t.tool, [] as Timing[]]));
  const stderr = new Map(tools.map((t) => [t.tool, [] as string[]]));
  for (let round = 0; round < RUNS; round++) {
    // Interleaved, the order turning each round, so no tool always follows the same one.
    for (let k = 0; k < tools.length; k++) {
      const t = tools[(round + k) % tools.length]!;
      t.reset();
      for (const u of users) reseed(dovecot, u, SIZE.perAccount);
      const timing = await timeCommand(t.argv);
      if (timing.exitCode !== 0) throw new Error(`${t.tool} failed (exit ${timing.exitCode}): ${timing.stderr.slice(0, 1000)}`);
      const wrong = t.maildirs.filter((m) => delivered(m) !== SIZE.perAccount);
      if (wrong.length) throw new Error(`${t.tool}: ${wrong.length} Maildirs do not hold ${SIZE.perAccount} messages, e.g. ${wrong[0]} holds ${delivered(wrong[0]!)}`);
      samples.get(t.tool)!.push(timing);
      stderr.get(t.tool)!.push(...timing.stderr.split('\n').filter((l) => l.trim()));
      process.stderr.write(`accounts: round ${round + 1}/${RUNS}, ${t.tool}: ${s(timing.wallMs)} s\n`);
    }
  }
  return { samples, stderr, users: users.length, perAccount: SIZE.perAccount };
}

// ---------------------------------------------------------------------------------------
// 3. Memory

interface MemorySample {
  polls: number;
  ms: number;
  rssKb: number;
  hwmKb: number;
  fds: number;
  cpuMs: number;
  /** From the /metrics scrape at the sample: accounts present, and the oldest last run, seconds ago. */
  accounts: number;
  stalestS: number;
  scrapeMs: number;
}

interface MemoryResult {
  samples: MemorySample[];
  accounts: number;
  polls: number;
  ms: number;
  capped: boolean;
  stderr: string[];
  odd: string[];
  failedRuns: number;
  /** The fewest and most polls of one account, from Dovecot's log. */
  perAccount: [number, number];
}

async function readProc(pid: number): Promise<{ rssKb: number; hwmKb: number; fds: number; cpuMs: number }> {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  // utime and stime: fields 14 and 15, counted after the ")" that ends the command name.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM'), fds: readdirSync(`/proc/${pid}/fd`).length, cpuMs: (ticks * 1000) / CLOCK_TICKS };
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

interface Scrape {
  accounts: number;
  /** Seconds since the least and the most recently polled account last ran. */
  stalestS: number;
  freshestS: number;
  failing: number;
  /** How long the scrape took, ms. */
  ms: number;
}

/** The metrics text read: from /metrics on `port`, or from the file the daemon rewrites. */
async function scrape(from: number | string): Promise<Scrape> {
  const begun = performance.now();
  const text = typeof from === 'number' ? await (await fetch(`http://127.0.0.1:${from}/metrics`)).text() : existsSync(from) ? readFileSync(from, 'utf8') : '';
  const ms = performance.now() - begun;
  const now = Date.now() / 1000;
  const last = [...text.matchAll(/^pinchmail_last_run_timestamp_seconds\{account="[^"]*"\} ([\d.e+]+)$/gm)].map((m) => Number(m[1]));
  const failing = [...text.matchAll(/^pinchmail_last_run_success\{account="[^"]*"\} 0$/gm)].length;
  return { accounts: last.length, stalestS: last.length ? now - Math.min(...last) : Number.NaN, freshestS: last.length ? now - Math.max(...last) : Number.NaN, failing, ms };
}

async function memory(dovecot: Dovecot, users: string[]): Promise<MemoryResult> {
  const dir = path.join(ws, 'memory');
  const root = path.join(shm, 'memory');
  mkdirSync(root, { recursive: true });
  for (const u of users) dovecot.deliver(u, Buffer.from(`Subject: only ${u}\nMessage-ID: <only.${u}@bench>\n\nthe one message\n`));
  const config = pinchmailConfig(
    path.join(dir, 'pinchmail.json'),
    dovecot,
    path.join(dir, 'pinchmail.sqlite'),
    users.map((u) => ({ name: u, user: u, maildir: path.join(root, u), extra: { every: '1s' } })),
  );
  const log = new DovecotLog(path.join(dovecot.dir, 'log', 'dovecot.log'));
  const port = await freePort();
  const started = Date.now();
  const daemon = startProcess([process.execPath, BIN, '-c', config, '-q', 'daemon', '--parallel', String(PARALLEL), '--listen', `127.0.0.1:${port}`]);
  const pid = daemon.child.pid!;
  const samples: MemorySample[] = [];
  let failedRuns = 0;
  let next = SIZE.sampleEvery;
  let capped = false;
  let exitedEarly: number | null = null;
  void daemon.exited.then((code) => (exitedEarly = code));
  for (;;) {
    await sleep(100);
    if (exitedEarly !== null) throw new Error(`the memory daemon exited ${exitedEarly}: ${daemon.stderr.slice(-10).join('\n')}`);
    log.read();
    if (log.loggedOut >= next || log.loggedOut >= SIZE.polls) {
      const polls = log.loggedOut;
      const proc = await readProc(pid);
      const m = await scrape(port);
      failedRuns = Math.max(failedRuns, m.failing);
      samples.push({ polls, ms: Date.now() - started, ...proc, accounts: m.accounts, stalestS: m.stalestS, scrapeMs: m.ms });
      process.stderr.write(`memory: ${n(polls)} polls in ${s(Date.now() - started, 1)} s, RSS ${mb(proc.rssKb)} MB, ${proc.fds} fds, metrics for ${m.accounts} accounts, the oldest last run ${fmt(m.stalestS, 1)} s ago\n`);
      while (next <= polls) next += SIZE.sampleEvery;
      if (polls >= SIZE.polls) break;
    }
    if (Date.now() - started > SIZE.memCapMs) {
      capped = true;
      break;
    }
  }
  const ms = Date.now() - started;
  await stopDaemon(daemon, 'memory');
  const delivered1 = users.filter((u) => delivered(path.join(root, u)) === 1).length;
  if (delivered1 !== users.length) throw new Error(`the memory daemon delivered the one message of ${delivered1} accounts of ${users.length}`);
  log.read();
  const perUser = users.map((u) => log.perUser.get(u) ?? 0);
  return {
    samples,
    accounts: users.length,
    polls: samples.at(-1)?.polls ?? 0,
    ms,
    capped,
    stderr: unexpected(daemon.stderr),
    odd: log.odd,
    failedRuns,
    perAccount: [Math.min(...perUser), Math.max(...perUser)],
  };
}

// ---------------------------------------------------------------------------------------
// 3b. The same daemon with --metrics FILE, rewritten after every poll

interface FileSample {
  ms: number;
  polls: number;
  rssKb: number;
  /** Seconds since the most recent last run the file shows, and the one /metrics shows at the same moment. */
  fileLagS: number;
  liveLagS: number;
}

interface MetricsFileResult {
  samples: FileSample[];
  accounts: number;
  ms: number;
  stderr: string[];
}

async function metricsFileRun(dovecot: Dovecot, users: string[]): Promise<MetricsFileResult> {
  const dir = path.join(ws, 'metrics-file');
  const root = path.join(shm, 'metrics-file');
  mkdirSync(root, { recursive: true });
  // The mailboxes of part 3 as they are (one message each), a new state database: the first poll of each delivers it again.
  const config = pinchmailConfig(
    path.join(dir, 'pinchmail.json'),
    dovecot,
    path.join(dir, 'pinchmail.sqlite'),
    users.map((u) => ({ name: u, user: u, maildir: path.join(root, u), extra: { every: '1s' } })),
  );
  // On disk, as node_exporter's textfile directory would be: each rewrite is fsynced.
  const file = path.join(dir, 'pinchmail.prom');
  const log = new DovecotLog(path.join(dovecot.dir, 'log', 'dovecot.log'));
  const port = await freePort();
  const started = Date.now();
  const daemon = startProcess([process.execPath, BIN, '-c', config, '-q', 'daemon', '--parallel', String(PARALLEL), '--metrics', file, '--listen', `127.0.0.1:${port}`]);
  const samples: FileSample[] = [];
  while (Date.now() - started < SIZE.metricsFileMs) {
    await sleep(5_000);
    if (daemon.child.exitCode !== null) throw new Error(`the --metrics daemon exited ${daemon.child.exitCode}: ${daemon.stderr.slice(-10).join('\n')}`);
    log.read();
    const [proc, onFile, live] = [await readProc(daemon.child.pid!), await scrape(file), await scrape(port)];
    samples.push({ ms: Date.now() - started, polls: log.loggedOut, rssKb: proc.rssKb, fileLagS: onFile.freshestS, liveLagS: live.freshestS });
    process.stderr.write(`metrics file: ${n(log.loggedOut)} polls in ${s(Date.now() - started, 1)} s, RSS ${mb(proc.rssKb)} MB, the file's newest run ${fmt(onFile.freshestS, 1)} s ago, /metrics' ${fmt(live.freshestS, 1)} s ago\n`);
  }
  const ms = Date.now() - started;
  await stopDaemon(daemon, '--metrics');
  return { samples, accounts: users.length, ms, stderr: unexpected(daemon.stderr) };
}

// ---------------------------------------------------------------------------------------
// The page

async function main(): Promise<void> {
  const why = dovecotUnavailable();
  if (why) throw new Error(`the benchmark needs a private Dovecot: ${why}`);
  for (const tool of ['/usr/bin/time', '/usr/bin/mpop']) if (!existsSync(tool)) throw new Error(`${tool} is missing: apt-get install --no-install-recommends time mpop`);
  const started = Date.now();
  const loadBefore = load();
  const versions = {
    mpop: execFileSync('mpop', ['--version'], { encoding: 'utf8' }).split('\n')[0],
    dovecot: execFileSync(['/usr/sbin/dovecot', '/usr/local/sbin/dovecot'].find((p) => existsSync(p))!, ['--version'], { encoding: 'utf8' }).split(' ')[0],
  };
  const accountUsers = Array.from({ length: SIZE.accounts }, (_, i) => `a${pad3(i + 1)}`);
  const memoryUsers = Array.from({ length: SIZE.memAccounts }, (_, i) => `m${pad3(i + 1)}`);
  const dovecot = await startDovecot(['lat-cron', 'lat-daemon', ...accountUsers, ...memoryUsers]);
  // startDovecot's probe of the port (a connection closed with no login) is logged: not part of any measurement.
  await sleep(500);
  const dovecotLog = new DovecotLog(path.join(dovecot.dir, 'log', 'dovecot.log'));
  let lat: LatencyResult | null = null;
  let acc: AccountsResult | null = null;
  let mem: MemoryResult | null = null;
  let file: MetricsFileResult | null = null;
  try {
    if (ONLY.has('latency')) lat = await latency(dovecot);
    if (ONLY.has('accounts')) acc = await manyAccounts(dovecot, accountUsers);
    if (ONLY.has('memory')) mem = await memory(dovecot, memoryUsers);
    if (ONLY.has('metrics-file')) file = await metricsFileRun(dovecot, memoryUsers);
    dovecotLog.read();
  } finally {
    await dovecot.stop();
    clear(ws, shm);
  }
  const took = Date.now() - started;

  const command = `${QUICK ? 'BENCH_QUICK=1 ' : ''}${process.env.BENCH_RUNS ? `BENCH_RUNS=${RUNS} ` : ''}${process.env.BENCH_ONLY ? `BENCH_ONLY=${process.env.BENCH_ONLY} ` : ''}npm run bench:daemon`;
  const short: string[] = [];
  const lines: string[] = [];

  if (lat) {
    const { daemon, cron } = lat;
    const [dMed, cMed, dP90, cP90] = [median(daemon), median(cron), percentile(daemon, 0.9), percentile(cron, 0.9)];
    const runMs = lat.cronRuns.map((r) => r.ms);
    const late = lat.cronRuns.map((r) => r.startedLate);
    const minuteWord = QUICK ? `compressed "minute" of ${s(SIZE.minuteMs, 0)} s` : 'minute';
    short.push(`a message waits ${s(dMed)} s (median; p90 ${s(dP90)} s) for the daemon polling every ${DAEMON_EVERY.replace(/s$/, ' s')} and ${s(cMed)} s (p90 ${s(cP90)} s) for a cron run every ${minuteWord}: cron takes ${fmt(cMed / dMed, 1)} times as long at the median, ${fmt(cP90 / dP90, 1)} at p90`);
    lines.push(
      `## 1. From arrival to the Maildir: the daemon every ${DAEMON_EVERY} against cron every ${minuteWord}`,
      '',
      `${lat.daemon.length} messages of 10 KB arrive at random instants, uniform over ${s(lat.windowMs, 0)} s (${SIZE.cronMinutes} whole ${QUICK ? 'compressed minutes' : 'minutes'}, so every moment of the cron minute is as likely), each dropped into two mailboxes of the same Dovecot at once (a rename into the Maildir's new/, as a local delivery agent does).`,
      `One mailbox is polled by \`pinchmail daemon\` with \`"every": "${DAEMON_EVERY}"\` (so a poll starts every 4.5 to 5.5 s, at random within a tenth of the interval); the other by a simulated cron: \`pinchmail -c CONFIG -q\` started at every whole ${QUICK ? `multiple of ${s(SIZE.minuteMs, 0)} s` : 'minute'} of the wall clock, as \`* * * * *\` in a crontab would, a run started whether or not the one before has ended.`,
      `The latency is from the moment the message is in the server's Maildir to the moment its file is in the target Maildir's new/ (seen by inotify, with a scan of the directory every 50 ms besides). Both pollers run at the same time, on their own state database; each had fetched one warm-up message before the measurement, so neither pays a first sight.${QUICK ? ' **Quick mode: the cron "minute" is compressed, the figures say nothing about a real crontab.**' : ''}`,
      '',
      '| poller | median, s | p90, s | fastest–slowest, s | messages |',
      '| :-- | --: | --: | --: | --: |',
      `| \`pinchmail daemon\`, "every": "${DAEMON_EVERY}" | ${s(dMed)} | ${s(dP90)} | ${range(daemon, (v) => s(v))} | ${daemon.length} |`,
      `| cron every ${minuteWord}, \`pinchmail -q\` | ${s(cMed)} | ${s(cP90)} | ${range(cron, (v) => s(v))} | ${cron.length} |`,
      `| cron's latency / the daemon's | ${fmt(cMed / dMed, 1)}x | ${fmt(cP90 / dP90, 1)}x | | |`,
      '',
      `What to expect: the daemon's wait is about half its interval (2.5 s) plus one poll, cron's about half a minute plus one run. The ${lat.cronRuns.length} cron runs took ${s(median(runMs))} s (median; ${range(runMs, (v) => s(v))} s) from start to exit, Node's start-up included, and started ${fmt(median(late), 0)} ms after the minute (median; at most ${fmt(Math.max(...late), 0)} ms). The measurement took ${s(lat.spanMs, 0)} s.`,
      '',
      lat.daemonStderr.length
        ? `Besides the line SIGTERM brings, the daemon wrote on stderr: ${kinds(lat.daemonStderr).join('; ')}.`
        : 'The daemon wrote nothing on stderr but the line SIGTERM brings, and exited 0.',
      '',
    );
  }

  if (acc) {
    const stats = new Map(
      [...acc.samples].map(([tool, t]) => [
        tool,
        { wall: median(t.map((x) => x.wallMs)), walls: t.map((x) => x.wallMs), cpu: median(t.map((x) => x.cpuMs)), rss: Math.max(...t.map((x) => x.maxRssKb)) },
      ]),
    );
    const ratio = (a: string, b: string): { med: number; per: number[] } => {
      const [x, y] = [acc!.samples.get(a)!, acc!.samples.get(b)!];
      return { med: stats.get(a)!.wall / stats.get(b)!.wall, per: x.map((t, i) => t.wallMs / y[i]!.wallMs) };
    };
    const ratios = [
      [`${PARALLELED} / mpop`, ratio(PARALLELED, MPOP)],
      [`${SERIAL} / mpop`, ratio(SERIAL, MPOP)],
      [`${PARALLELED} / one at a time`, ratio(PARALLELED, SERIAL)],
    ] as const;
    const total = acc.users * acc.perAccount;
    short.push(
      `${n(acc.users)} accounts with ${acc.perAccount} new messages each: pinchmail --parallel ${PARALLEL} takes ${fmt(ratios[0][1].med, 2)}x mpop's time, one account at a time ${fmt(ratios[1][1].med, 2)}x, so --parallel ${PARALLEL} takes ${fmt(ratios[2][1].med, 2)}x the time of one at a time`,
    );
    lines.push(
      `## 2. ${n(acc.users)} accounts on one server`,
      '',
      `${n(acc.users)} users on one Dovecot, each with ${acc.perAccount} new messages of 10 KB (${n(total)} in all), fetched into a Maildir per account by one process: pinchmail with ${n(acc.users)} accounts in its config, run with \`--parallel ${PARALLEL}\` and with its default of one account at a time, and mpop with one mpoprc of ${n(acc.users)} accounts, \`mpop --all-accounts\` (\`delivery maildir\`, one account after another; mpop has no parallel mode).`,
      `Cold, as a first run from cron: before every run the tool's state and Maildirs are cleared and every mailbox on the server is emptied and seeded again (Dovecot's index too, so each run meets the same mailboxes, never seen). Nothing is deleted from the server. The three take turns, ${RUNS} rounds, the order turning each round; each run is timed from outside (GNU time; CPU is user plus system), and counts only if it exits 0 with every Maildir holding its ${acc.perAccount} messages.`,
      '',
      `| tool | wall time, s (median) | fastest–slowest of ${RUNS}, s | CPU time, s (median) | peak RSS, MB (highest) |`,
      '| :-- | --: | --: | --: | --: |',
      ...[...stats].map(([tool, st]) => `| ${tool} | ${s(st.wall, 3)} | ${range(st.walls, (v) => s(v, 3))} | ${s(st.cpu)} | ${mb(st.rss)} |`),
      '',
      'Ratios of wall time, above 1 the first is slower: of the medians, and the median and range of the ratio within each round (the two runs of a round follow one another).',
      '',
      `| ratio | of the medians | within a round: median | within a round: lowest–highest |`,
      '| :-- | --: | --: | --: |',
      ...ratios.map(([label, r]) => `| ${label} | ${fmt(r.med, 2)} | ${fmt(median(r.per), 2)} | ${range(r.per, (v) => fmt(v, 2))} |`),
      '',
      ...[...acc.stderr].map(([tool, l]) => (l.length ? `${tool} wrote on stderr, over its ${RUNS} runs (each exited 0): ${kinds(l).join('; ')}.\n` : '')).filter(Boolean),
      `Per account: pinchmail one at a time ${fmt(stats.get(SERIAL)!.wall / acc.users, 1)} ms, with --parallel ${PARALLEL} ${fmt(stats.get(PARALLELED)!.wall / acc.users, 1)} ms, mpop ${fmt(stats.get(MPOP)!.wall / acc.users, 1)} ms of wall time. The machine has ${os.cpus().length} CPUs, which Dovecot (a login and a POP3 process per session) and the fetcher share.`,
      '',
    );
  }

  if (mem) {
    const first = mem.samples.find((x) => x.polls >= SIZE.polls / 10) ?? mem.samples[0]!;
    const last = mem.samples.at(-1)!;
    const growthKb = last.rssKb - first.rssKb;
    const cpuPerPoll = last.cpuMs / last.polls;
    short.push(
      `the daemon's RSS is ${mb(first.rssKb)} MB after ${n(first.polls)} polls and ${mb(last.rssKb)} MB after ${n(last.polls)} (${growthKb >= 0 ? '+' : ''}${mb(growthKb)} MB, ${fmt((growthKb / first.rssKb) * 100, 0)}%), ${s(mem.ms, 0)} s of polling ${n(mem.accounts)} accounts every second`,
    );
    const rss = mem.samples.map((x) => x.rssKb);
    lines.push(
      `## 3. The daemon's memory over ${n(SIZE.polls)} polls`,
      '',
      `\`pinchmail daemon --parallel ${PARALLEL} --listen PORT -q\` polls ${n(mem.accounts)} accounts, each \`"every": "1s"\`, on mailboxes holding one small message each (delivered at the first poll; every later poll lists, finds nothing new and quits): ${n(mem.accounts)} polls a second asked for.`,
      `Polls are counted in Dovecot's log, one "Logged out" per POP3 session; every ${n(SIZE.sampleEvery)} polls (read every 100 ms, so a sample may come a few polls late) the daemon's RSS (VmRSS in /proc/PID/status), its open file descriptors and its CPU time are read, and /metrics is scraped: the accounts it reports and how long ago the least recently polled of them last ran.`,
      '',
      `It took ${s(mem.ms, 1)} s to reach ${n(mem.polls)} polls${mem.capped ? `, **stopped by the time limit of ${s(SIZE.memCapMs, 0)} s before ${n(SIZE.polls)}**` : ''}: ${fmt(mem.polls / (mem.ms / 1000), 1)} polls a second, against the ${n(mem.accounts)} asked for (a poll every 0.9 to 1.1 s per account). The daemon used ${s(last.cpuMs, 1)} s of CPU, ${fmt(cpuPerPoll, 2)} ms a poll.`,
      '',
      '| | polls | RSS, MB |',
      '| :-- | --: | --: |',
      `| after about ${n(SIZE.polls / 10)} polls | ${n(first.polls)} | ${mb(first.rssKb)} |`,
      `| after about ${n(SIZE.polls)} polls | ${n(last.polls)} | ${mb(last.rssKb)} |`,
      `| growth | ${n(last.polls - first.polls)} | ${growthKb >= 0 ? '+' : ''}${mb(growthKb)} (${fmt((growthKb / first.rssKb) * 100, 1)}%) |`,
      '',
      `Each account was polled ${mem.perAccount[0]} to ${mem.perAccount[1]} times (Dovecot's log). Over all ${mem.samples.length} samples RSS ranged ${range(rss, mb)} MB (peak, VmHWM: ${mb(last.hwmKb)} MB); open file descriptors ${range(mem.samples.map((x) => x.fds), (v) => String(v))}; /metrics listed ${range(mem.samples.map((x) => x.accounts), (v) => String(v))} accounts, the least recently polled ${range(mem.samples.map((x) => x.stalestS), (v) => fmt(v, 1))} s before the scrape, and a scrape took ${fmt(median(mem.samples.map((x) => x.scrapeMs)), 1)} ms (median; ${range(mem.samples.map((x) => x.scrapeMs), (v) => fmt(v, 1))} ms); ${mem.failedRuns ? `up to ${mem.failedRuns} accounts had a failed last run at a scrape` : 'no account had a failed last run at any scrape'}.`,
      '',
      '<details><summary>Every sample</summary>',
      '',
      '| polls | seconds | RSS, MB | open fds | daemon CPU, s | /metrics: accounts | /metrics: oldest last run, s ago | /metrics: scrape, ms |',
      '| --: | --: | --: | --: | --: | --: | --: | --: |',
      ...mem.samples.map((x) => `| ${n(x.polls)} | ${s(x.ms, 1)} | ${mb(x.rssKb)} | ${x.fds} | ${s(x.cpuMs, 1)} | ${x.accounts} | ${fmt(x.stalestS, 1)} | ${fmt(x.scrapeMs, 1)} |`),
      '',
      '</details>',
      '',
      mem.stderr.length
        ? `Besides the line SIGTERM brings, the daemon wrote on stderr: ${kinds(mem.stderr).join('; ')}. It exited 0 on SIGTERM.`
        : 'The daemon wrote nothing on stderr but the line SIGTERM brings, and exited 0.',
      '',
    );
  }

  if (file && file.samples.length) {
    const rate = (x: FileSample | undefined, y: FileSample | undefined): number => (x && y ? (y.polls - x.polls) / ((y.ms - x.ms) / 1000) : Number.NaN);
    // After the first samples, when every account has had its first poll.
    const steady = rate(file.samples[1], file.samples.at(-1));
    const [head, tail] = [file.samples[0]!, file.samples.at(-1)!];
    const without = mem ? fmt(mem.polls / (mem.ms / 1000), 1) : null;
    short.push(`with \`--metrics FILE\` the same daemon managed ${fmt(steady, 1)} polls a second${without ? ` (${without} without)` : ''}, and the file's newest run was ${fmt(tail.fileLagS, 1)} s old at the end`);
    lines.push(
      `## 3b. The same daemon with \`--metrics FILE\``,
      '',
      `As part 3 (the same ${n(file.accounts)} mailboxes, a new state database), with \`--metrics FILE\` as well, the file on disk (${path.dirname(ws)}), as node_exporter's textfile directory would be: the daemon rewrites it, fsynced, after every poll. ${s(file.ms, 0)} s, a sample every 5 s: the polls so far (Dovecot's log), RSS, and how long ago the most recent run the file shows started, beside the most recent one /metrics shows at the same moment.`,
      '',
      '| seconds | polls | polls a second since the sample before | RSS, MB | newest run in the file, s ago | newest run on /metrics, s ago |',
      '| --: | --: | --: | --: | --: | --: |',
      ...file.samples.map((x, i) => `| ${s(x.ms, 0)} | ${n(x.polls)} | ${fmt(i ? rate(file!.samples[i - 1], x) : x.polls / (x.ms / 1000), 1)} | ${mb(x.rssKb)} | ${fmt(x.fileLagS, 1)} | ${fmt(x.liveLagS, 1)} |`),
      '',
      `From the second sample on, ${fmt(steady, 1)} polls a second${without ? `, against ${without} without \`--metrics\` in part 3` : ''}, ${n(file.accounts)} asked for; RSS from ${mb(head.rssKb)} to ${mb(tail.rssKb)} MB.`,
      file.stderr.length ? `Besides the line SIGTERM brings, the daemon wrote on stderr: ${kinds(file.stderr).join('; ')}.` : 'The daemon wrote nothing on stderr but the line SIGTERM brings, and exited 0.',
      '',
    );
  }

  // Dovecot's time stamps are local and to the second.
  const atStop = (line: string): boolean => {
    const m = /^(\w{3} \d\d \d\d:\d\d:\d\d) /.exec(line);
    const at = m ? new Date(`${new Date(started).getFullYear()} ${m[1]}`).getTime() : Number.NaN;
    return stopWindows.some(([from, to]) => at >= Math.floor(from / 1000) * 1000 - 1000 && at <= to + 1000);
  };
  const odd = kinds(dovecotLog.odd.filter((l) => !atStop(l)));
  const cut = dovecotLog.odd.filter(atStop);
  const page = [
    '# pinchmail daemon and --parallel: latency, many accounts, memory',
    '',
    ...(QUICK ? ['**Quick mode** (BENCH_QUICK=1): small sizes, few runs, a compressed cron minute, to check that the benchmark works; do not read the figures.', ''] : []),
    `**In short:** ${short.join('; ')}.`,
    '',
    '## How this was measured',
    '',
    `Written by \`${command}\` (bench/daemon.ts; root, ${QUICK ? 'about a minute' : 'about 10 minutes'}) on ${new Date(started).toISOString().slice(0, 10)}, in ${s(took, 0)} s; the one-minute load average was ${loadBefore} before and ${load()} after.`,
    `Machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}; Node ${process.version}; ${versions.mpop}; Dovecot ${versions.dovecot}, private, on loopback, plain POP3 with USER/PASS; Maildirs on /dev/shm. pinchmail runs as \`bin/pinchmail\` from dist/, with \`"retention": "never"\` (nothing is deleted from the server).`,
    'No figure is the best of several: a median with the fastest and slowest, or every sample. Ratios are taken within one run of this script.',
    `Dovecot's log${odd.length ? `, besides logins and clean logouts, had: ${odd.join('; ')}` : ' held nothing but logins and clean logouts'}${cut.length ? `, and ${cut.length} session${cut.length === 1 ? '' : 's'} closed without QUIT within a second of a daemon's SIGTERM (polls under way, ended by the stop without QUIT)` : ''}.`,
    '',
    ...lines,
  ].join('\n');
  process.stdout.write(`\n${page}\n`);
  if (acc) {
    console.log(
      table(
        ['tool', 'median wall s', 'range s', 'median CPU s', 'peak RSS MB'],
        [...acc.samples].map(([tool, t]) => [tool, s(median(t.map((x) => x.wallMs)), 3), range(t.map((x) => x.wallMs), (v) => s(v, 3)), s(median(t.map((x) => x.cpuMs))), mb(Math.max(...t.map((x) => x.maxRssKb)))]),
      ),
    );
  }
  if (process.env.BENCH_WRITE === '0') return;
  mkdirSync(path.dirname(PAGE), { recursive: true });
  writeFileSync(PAGE, withSection(existsSync(PAGE) ? readFileSync(PAGE, 'utf8') : '', 'daemon', demoteHeadings(page)));
  console.log(`\nwrote the daemon's section of ${PAGE} (${s(took, 0)} s)`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
