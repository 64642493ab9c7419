/**
 * pinchmail against mpop, fetchmail and getmail6 (issue 6). Rerun with:
 *
 *     npm run bench:peers                 # everything, 5 runs each, about 7 minutes
 *     BENCH_RUNS=7 BENCH_ONLY=1,2 npm run bench:peers
 *     BENCH_QUICK=1 npm run bench:peers   # small sizes, 2 runs, under a minute: checks the bench, not for reading
 *
 * Needs root (the private Dovecot), GNU time, and the peers from Debian:
 *     apt-get install --no-install-recommends time mpop fetchmail getmail6
 *
 * A private Dovecot is seeded and every tool does the same work, interleaved run by
 * run, timed from outside with GNU time (wall, user+system CPU including children,
 * peak RSS). Scenarios (sizes for a full run):
 *   1. cold fetch of 1000 x 10 KB into a Maildir;
 *   2. cold fetch of 1000 x 10 KB to a command, "cat > /dev/null";
 *   3. a poll with nothing new on a mailbox of 1,000, of 10,000 and of 100,000 messages;
 *   4. one 200 MB message: peak RSS;
 *   5. 200 x 10 KB from the dev server with 20 ms added to every reply (vs mpop);
 *   floors: Node's own start-up and cost per child process, beside C's, to read the ratios by.
 * "Cold" means the tool has never seen the mailbox: its state and the target are
 * cleared before every run, and nothing is ever deleted from the server.
 * The page (docs/benchmarks.md, or BENCH_OUT; BENCH_WRITE=0 writes none) and its chart
 * (the same path ending in .svg) give medians, the range over the runs, and every ratio
 * with its direction. A quick run writes to /tmp unless BENCH_OUT says otherwise, so it
 * never replaces the page of a full one.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DevPop3Server } from '../src/devserver/pop3-server.js';
import { dovecotUnavailable, startDovecot, type Dovecot } from '../test/support/dovecot.js';
import { chart } from './lib/chart.js';
import { fmt, stat, table, timeCommand, type Stat, type Timing } from './lib/measure.js';
import { PARALLEL, seconds, section, summary, type Scenario } from './lib/page.js';
import { keptSections } from './lib/sections.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(root, 'bin', 'pinchmail');
/** Small enough that every scenario, every tool and the page can be checked in a couple of minutes. */
const QUICK = process.env.BENCH_QUICK === '1';
const SIZE = QUICK
  ? { runs: 2, cold: 100, polls: [100, 1_000, 10_000] as const, bigMb: 20, late: 50 }
  : { runs: 5, cold: 1000, polls: [1_000, 10_000, 100_000] as const, bigMb: 200, late: 200 };
const RUNS = Number(process.env.BENCH_RUNS ?? SIZE.runs);
const ONLY = new Set((process.env.BENCH_ONLY ?? '1,2,3,4,5,floors').split(','));
/** getmail6 and fetchmail take many minutes to first see 100,000 messages; off unless asked for. */
const SLOW_PEERS = process.env.BENCH_SLOW_PEERS === '1';
const PAGE = path.resolve(process.env.BENCH_OUT ?? (QUICK ? path.join(os.tmpdir(), 'pinchmail-bench-quick', 'benchmarks.md') : path.join(root, 'docs', 'benchmarks.md')));
const CHART = PAGE.replace(/(\.md)?$/, '.svg');
/** Debian's getmail6 6.18 can lose a child's exit and stop a run; bench/lib/getmail6.py says why and how it is run without that. */
const GETMAIL = ['/usr/bin/python3', path.join(root, 'bench', 'lib', 'getmail6.py')];

interface Run {
  tool: string;
  argv: string[];
  env?: NodeJS.ProcessEnv;
  /** Before each measured run: clear state and targets (cold runs), or nothing (polls). */
  reset?: () => void;
  /** The Maildir this tool delivers to, counted after every run: a fast run that delivered nothing is no figure. */
  maildir?: string;
}

interface Row {
  tool: string;
  samples: Timing[];
}

const ws = mkdtempSync(path.join(os.tmpdir(), 'pinchmail-bench-'));
chmodSync(ws, 0o755);
const shm = mkdtempSync(path.join('/dev/shm', 'pinchmail-bench-'));
chmodSync(shm, 0o755);
const scenarios: Scenario[] = [];

function clear(...paths: string[]): void {
  for (const p of paths) rmSync(p, { recursive: true, force: true });
}

function maildir(dir: string, owner?: number): string {
  for (const sub of ['new', 'cur', 'tmp']) mkdirSync(path.join(dir, sub), { recursive: true });
  if (owner !== undefined) for (const p of [dir, ...['new', 'cur', 'tmp'].map((s) => path.join(dir, s))]) chownSync(p, owner, owner);
  return dir;
}

function delivered(dir: string): number {
  return ['new', 'cur'].reduce((n, sub) => n + (existsSync(path.join(dir, sub)) ? readdirSync(path.join(dir, sub)).length : 0), 0);
}

function tenKb(i: number): Buffer {
  const header = `From: bench@example.org\nTo: jobs@example.org\nSubject: message ${i}\nMessage-ID: <${i}@bench>\n\n`;
  const line = 'The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the\n';
  let body = header;
  while (body.length < 10 * 1024) body += line;
  return Buffer.from(`${body.slice(0, 10 * 1024 - 1)}\n`);
}

/** The configs of every tool for one mailbox; `deliver` is where messages go. */
function tools(
  name: string,
  server: { port: number; user: string; password: string },
  deliver: { maildir: string } | { command: string },
  only?: string[],
): Run[] {
  const dir = path.join(ws, name);
  mkdirSync(dir, { recursive: true });
  const runs: Run[] = [];
  const want = (tool: string): boolean => !only || only.includes(tool);

  if (want('pinchmail')) {
    const db = path.join(dir, 'pinchmail.sqlite');
    const config = path.join(dir, 'pinchmail.json');
    const target: { maildir: string } | { command: string } = 'maildir' in deliver ? { maildir: `${deliver.maildir}-pinchmail` } : { command: deliver.command };
    writeFileSync(
      config,
      JSON.stringify({
        database: db,
        accounts: [{ name, host: '127.0.0.1', port: server.port, tls: 'none', user: server.user, password: server.password, auth: 'user', retention: 'never', deliver: target }],
      }),
    );
    chmodSync(config, 0o600);
    runs.push({
      tool: 'pinchmail',
      argv: [process.execPath, BIN, '-c', config, '-q'],
      reset: () => clear(db, `${db}-wal`, `${db}-shm`, ...('maildir' in target ? [target.maildir] : [])),
      ...('maildir' in target ? { maildir: target.maildir } : {}),
    });
    if ('command' in deliver && want(PARALLEL)) {
      const parallelConfig = path.join(dir, 'pinchmail-parallel.json');
      writeFileSync(
        parallelConfig,
        JSON.stringify({
          database: db,
          accounts: [{ name, host: '127.0.0.1', port: server.port, tls: 'none', user: server.user, password: server.password, auth: 'user', retention: 'never', deliver: { command: deliver.command, parallel: 4 } }],
        }),
      );
      chmodSync(parallelConfig, 0o600);
      runs.push({ tool: PARALLEL, argv: [process.execPath, BIN, '-c', parallelConfig, '-q'], reset: () => clear(db, `${db}-wal`, `${db}-shm`) });
    }
  }

  if (want('mpop')) {
    const uidls = path.join(dir, 'mpop.uidls');
    const rc = path.join(dir, 'mpoprc');
    const target = 'maildir' in deliver ? `maildir ${maildir(`${deliver.maildir}-mpop`)}` : `mda "${deliver.command}"`;
    writeFileSync(
      rc,
      ['defaults', 'tls off', 'auth user', `account ${name}`, 'host 127.0.0.1', `port ${server.port}`, `user ${server.user}`, `password ${server.password}`, 'keep on', `delivery ${target}`, `uidls_file ${uidls}`, ''].join('\n'),
    );
    chmodSync(rc, 0o600);
    runs.push({
      tool: 'mpop',
      argv: ['mpop', '-q', `--file=${rc}`, name],
      reset: () => {
        clear(uidls);
        if ('maildir' in deliver) {
          clear(`${deliver.maildir}-mpop`);
          maildir(`${deliver.maildir}-mpop`);
        }
      },
      ...('maildir' in deliver ? { maildir: `${deliver.maildir}-mpop` } : {}),
    });
  }

  if (want('fetchmail') && 'command' in deliver) {
    const home = path.join(dir, 'fetchmail');
    mkdirSync(home, { recursive: true });
    const rc = path.join(home, 'fetchmailrc');
    const ids = path.join(home, 'ids');
    writeFileSync(
      rc,
      ['set no syslog', `poll 127.0.0.1 with proto POP3 port ${server.port} uidl`, `  user "${server.user}" there with password "${server.password}" is "root" here`, '  options keep no rewrite', `  mda "${deliver.command}"`, "  sslproto ''", ''].join('\n'),
    );
    chmodSync(rc, 0o600);
    runs.push({ tool: 'fetchmail', argv: ['fetchmail', '-s', '-f', rc, '--idfile', ids], env: { ...process.env, FETCHMAILHOME: home }, reset: () => clear(ids) });
  }

  if (want('getmail6')) {
    const home = path.join(dir, 'getmail');
    mkdirSync(home, { recursive: true });
    // The bench runs as root and getmail6 runs no command as root: it delivers as nobody, into a Maildir too, so that both do the same.
    const nobody = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
    const destination =
      'maildir' in deliver
        ? ['type = Maildir', `path = ${maildir(`${deliver.maildir}-getmail`, nobody)}/`, 'user = nobody']
        : ['type = MDA_external', 'path = /bin/sh', `arguments = ("-c", "${deliver.command}")`, 'user = nobody', 'group = nogroup'];
    writeFileSync(
      path.join(home, 'getmailrc'),
      ['[retriever]', 'type = SimplePOP3Retriever', 'server = 127.0.0.1', `port = ${server.port}`, `username = ${server.user}`, `password = ${server.password}`, '', '[destination]', ...destination, '', '[options]', 'read_all = false', 'delete = false', 'verbose = 0', 'message_log_verbose = false', ''].join('\n'),
    );
    runs.push({
      tool: 'getmail6',
      argv: [...GETMAIL, '--getmaildir', home, '--rcfile', 'getmailrc'],
      reset: () => {
        execFileSync('sh', ['-c', `rm -f "${home}"/oldmail-*`]);
        if ('maildir' in deliver) {
          clear(`${deliver.maildir}-getmail`);
          maildir(`${deliver.maildir}-getmail`, nobody);
        }
      },
      ...('maildir' in deliver ? { maildir: `${deliver.maildir}-getmail` } : {}),
    });
  }
  return runs;
}

/** Runs every tool `runs` times, interleaved; a failed run, or one that left the wrong count in its Maildir, is an error, not a figure. */
async function measure(runs: Run[], times: number, options: { cold: boolean; expect?: number }): Promise<Row[]> {
  const rows = runs.map((r) => ({ tool: r.tool, samples: [] as Timing[] }));
  for (let i = 0; i < times; i++) {
    for (const [k, run] of runs.entries()) {
      if (options.cold) run.reset?.();
      const t = await timeCommand(run.argv, { env: run.env });
      // fetchmail says 1 for "no new mail"; everything else must succeed.
      const ok = t.exitCode === 0 || (run.tool === 'fetchmail' && t.exitCode === 1 && !options.cold);
      if (!ok) throw new Error(`${run.tool} failed (exit ${t.exitCode}): ${t.stderr.slice(0, 500)}`);
      if (options.expect !== undefined && run.maildir && delivered(run.maildir) !== options.expect) {
        throw new Error(`${run.tool} left ${delivered(run.maildir)} messages in ${run.maildir}, not ${options.expect}`);
      }
      rows[k]!.samples.push(t);
    }
  }
  return rows;
}

/** Files a scenario for the page and shows it on the console as soon as it is measured. */
function report(scenario: Omit<Scenario, 'stats' | 'notes'>, rows: Row[], notes: string[] = []): Map<string, Stat> {
  const stats = new Map(rows.map((r) => [r.tool, stat(r.samples)]));
  scenarios.push({ ...scenario, stats, notes });
  const ours = stats.get('pinchmail')!;
  console.log(`\n${scenario.title}\n`);
  console.log(
    table(
      ['tool', 'median wall s', 'range s', 'median CPU s', 'peak RSS MB', 'pinchmail vs tool'],
      [...stats].map(([tool, st]) => [tool, seconds(st.wall), `${seconds(st.wallMin)}-${seconds(st.wallMax)}`, fmt(st.cpu / 1000, 2), fmt(st.rss, 1), tool === 'pinchmail' ? '' : `${fmt(ours.wall / st.wall, 2)}x`]),
    ),
  );
  return stats;
}

async function seed(dovecot: Dovecot, user: string, count: number, make: (i: number) => Buffer): Promise<void> {
  for (let i = 0; i < count; i++) dovecot.deliver(user, make(i));
}

const n = (count: number): string => count.toLocaleString('en');

/** The one-minute load average: a page measured on a busy machine should say so. */
const load = (): string => fmt(os.loadavg()[0]!, 2);

async function main(): Promise<void> {
  const why = dovecotUnavailable();
  if (why) throw new Error(`the benchmark needs a private Dovecot: ${why}`);
  for (const tool of ['/usr/bin/time', '/usr/bin/mpop', '/usr/bin/fetchmail', '/usr/bin/getmail', '/usr/bin/python3']) {
    if (!existsSync(tool)) throw new Error(`${tool} is missing: apt-get install --no-install-recommends time mpop fetchmail getmail6`);
  }
  const started = Date.now();
  const loadBefore = load();
  const versions = {
    node: process.version,
    mpop: execFileSync('mpop', ['--version'], { encoding: 'utf8' }).split('\n')[0],
    fetchmail: /release ([\d.]+)/.exec(execFileSync('sh', ['-c', 'fetchmail --version 2>&1 || true'], { encoding: 'utf8' }))?.[1],
    getmail: execFileSync('getmail', ['--version'], { encoding: 'utf8' }).trim(),
    dovecot: execFileSync(['/usr/sbin/dovecot', '/usr/local/sbin/dovecot'].find((p) => existsSync(p))!, ['--version'], { encoding: 'utf8' }).split(' ')[0],
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
  };
  const floorLines: string[] = [];
  let floorRows: string[][] = [];

  const dovecot = await startDovecot(['cold', 'poll-tiny', 'poll-small', 'poll-large', 'big']);
  const devserver = new DevPop3Server();
  try {
    const pw = (u: string): string => dovecot.users.get(u)!.password;
    const at = (user: string): { port: number; user: string; password: string } => ({ port: dovecot.port, user, password: pw(user) });
    const cold = SIZE.cold;

    if (ONLY.has('1') || ONLY.has('2')) {
      await seed(dovecot, 'cold', cold, tenKb);
      // Dovecot indexes a mailbox on first access; do that before any timing.
      await measure(tools('warmup', at('cold'), { command: 'cat > /dev/null' }, ['mpop']), 1, { cold: true });
    }
    if (ONLY.has('1')) {
      const rows = await measure(tools('cold-maildir', at('cold'), { maildir: path.join(ws, 'cold-maildir', 'Maildir') }), RUNS, { cold: true, expect: cold });
      report(
        {
          id: '1',
          title: `1. Cold fetch of ${n(cold)} messages of 10 KB into a Maildir`,
          label: `1. Cold fetch, ${n(cold)} x 10 KB into a Maildir`,
          inShort: 'into a Maildir',
          about: `Each tool fetches ${n(cold)} messages of 10 KB that it has never seen and writes each to a Maildir of its own, the way most fetchers run from cron; the Maildir is emptied and the tool's memory of the mailbox cleared before every run.`,
        },
        rows,
        ['fetchmail has no Maildir delivery of its own (it hands every message to a command or an SMTP server), so it sits this one out.'],
      );
    }
    if (ONLY.has('2')) {
      const rows = await measure(tools('cold-command', at('cold'), { command: 'cat > /dev/null' }), RUNS, { cold: true });
      report(
        {
          id: '2',
          title: `2. Cold fetch of ${n(cold)} messages of 10 KB to a command`,
          label: `2. Cold fetch, ${n(cold)} x 10 KB to a command`,
          inShort: 'to a command',
          about: `The same ${n(cold)} messages, each handed to a command of its own, \`sh -c "cat > /dev/null"\`, as a delivery to procmail or a script would be: this measures the cost of starting one command per message. pinchmail runs once with its default of one command at a time and once with \`"parallel": 4\` (four at a time).`,
        },
        rows,
      );
    }
    if (ONLY.has('3')) {
      const [few, small, large] = SIZE.polls;
      const tiny = (i: number): Buffer => Buffer.from(`Subject: poll ${i}\nMessage-ID: <${i}@poll>\n\nx\n`);
      const polls = new Map<number, Map<string, Stat>>();
      for (const [user, count] of [['poll-tiny', few], ['poll-small', small], ['poll-large', large]] as const) {
        await seed(dovecot, user, count, tiny);
        const slowOut = count === large && !SLOW_PEERS;
        const everyone = tools(user, at(user), { maildir: path.join(shm, `${user}-Maildir`) }, slowOut ? ['pinchmail', 'mpop'] : undefined);
        const commandPeers = tools(`${user}-fetchmail`, at(user), { command: 'cat > /dev/null' }, ['fetchmail']);
        const runs = [...everyone, ...(slowOut ? [] : commandPeers)];
        // First sight of every message (not timed): delivery onto a tmpfs, so it is quick.
        await measure(runs, 1, { cold: true, expect: count });
        const rows = await measure(runs, RUNS, { cold: false, expect: count });
        const notes = slowOut
          ? [
              QUICK
                ? `getmail6 and fetchmail are left out at ${n(large)} to keep a quick run short, as they are at 100,000 in a full one; BENCH_SLOW_PEERS=1 includes them.`
                : `getmail6 and fetchmail are left out at ${n(large)} (first sight of the mailbox takes them many minutes: fetchmail's list of the messages it has seen grows as the square of their number); BENCH_SLOW_PEERS=1 includes them.`,
            ]
          : [];
        polls.set(
          count,
          report(
            {
              id: user,
              title: `3. A poll with nothing new, ${n(count)} messages on the server`,
              label: `3. Poll with nothing new, ${n(count)} messages`,
              inShort: `for a poll with nothing new on ${n(count)} messages`,
              about: `The mailbox holds ${n(count)} small messages, and each tool has already fetched every one of them (untimed, before the first run): a timed run logs in, lists the mailbox, finds nothing it has not seen, and quits. This is what a fetcher does on most runs from cron when the server keeps mail${count === large ? ', and it shows how that cost grows with the mailbox' : ''}. fetchmail delivers to a command here; as nothing is new, it runs none.`,
            },
            rows,
            notes,
          ),
        );
      }
      // Ten times the messages: linear cost is at most ten times the time (start-up makes it less).
      const growth = (tool: string): string => fmt(polls.get(large)!.get(tool)!.wall / polls.get(small)!.get(tool)!.wall, 1);
      scenarios.at(-1)!.notes.push(`From ${n(small)} to ${n(large)} messages (${fmt(large / small)} times as many), pinchmail's poll takes ${growth('pinchmail')} times as long and mpop's ${growth('mpop')} times.`);
    }
    if (ONLY.has('4')) {
      const mb = SIZE.bigMb;
      const file = path.join(dovecot.dir, 'big.eml');
      const outStream = createWriteStream(file);
      outStream.write(`From: big@example.org\nSubject: ${mb} MB\n\n`);
      const block = Buffer.from(`${'0123456789'.repeat(7)}abcdefg\n`.repeat(1024));
      for (let b = 0; b < mb * 1024 * 1024; b += block.length) if (!outStream.write(block)) await new Promise<void>((r) => outStream.once('drain', () => r()));
      await new Promise<void>((r) => outStream.end(() => r()));
      chownSync(file, 5000, 5000);
      renameSync(file, path.join(dovecot.users.get('big')!.maildir, 'new', `${Date.now()}.big`));
      const maildirRuns = tools('big-maildir', at('big'), { maildir: path.join(ws, 'big-maildir', 'Maildir') }, ['pinchmail', 'mpop']);
      const commandRuns = tools('big-command', at('big'), { command: 'cat > /dev/null' }, ['pinchmail']).map((r) => ({ ...r, tool: `${r.tool} (to a command)` }));
      const rows = await measure([...maildirRuns, ...commandRuns], Math.min(RUNS, 3), { cold: true, expect: 1 });
      report(
        {
          id: '4',
          title: `4. One message of ${mb} MB`,
          label: `4. One ${mb} MB message`,
          inShort: `for one ${mb} MB message`,
          about: `A single message of ${mb} MB, into a Maildir by pinchmail and mpop, and from pinchmail to \`cat > /dev/null\` as well. The point is peak memory: a tool that held the message whole would need more than ${mb} MB. At most 3 runs, as each moves ${mb} MB.`,
        },
        rows,
      );
    }
    if (ONLY.has('5')) {
      const late = SIZE.late;
      devserver.store.addUser('late', 'late-pw');
      for (let i = 0; i < late; i++) devserver.store.add('late', tenKb(i));
      devserver.faults.latencyMs = 20;
      const { port } = await devserver.listen('plain');
      const rows = await measure(tools('latency', { port, user: 'late', password: 'late-pw' }, { maildir: path.join(ws, 'latency', 'Maildir') }, ['pinchmail', 'mpop']), RUNS, { cold: true, expect: late });
      report(
        {
          id: '5',
          title: `5. ${n(late)} messages of 10 KB from a server 20 ms away, into a Maildir`,
          label: `5. ${n(late)} x 10 KB, 20 ms added to every reply`,
          inShort: 'with 20 ms added to every reply',
          about: `pinchmail's own development server holds ${n(late)} messages of 10 KB and waits 20 ms before every reply, as a server across the internet would: what counts here is how many round trips a tool waits for, not how fast it is on loopback. Cold, into a Maildir, pinchmail and mpop only.`,
        },
        rows,
      );
    }

    if (ONLY.has('floors')) {
      // Not a comparison: what Node itself costs before pinchmail does anything, for reading the ratios above.
      const tenKbFile = path.join(ws, 'ten-kb');
      writeFileSync(tenKbFile, Buffer.alloc(10 * 1024, 0x61));
      const rows = await measure(
        [
          { tool: 'Node start-up: node -e 0', argv: [process.execPath, '-e', '0'] },
          { tool: 'C start-up: mpop --version', argv: ['mpop', '--version'] },
          { tool: `Node: ${n(cold)} x spawn sh -c "cat > /dev/null"`, argv: [process.execPath, path.join(root, 'bench', 'lib', 'spawn-floor.mjs'), String(cold)] },
          { tool: `dash: ${n(cold)} x sh -c "cat > /dev/null"`, argv: ['/bin/sh', '-c', `i=0; while [ $i -lt ${cold} ]; do /bin/sh -c 'cat > /dev/null' < ${tenKbFile}; i=$((i+1)); done`] },
        ],
        RUNS,
        { cold: false },
      );
      const st = rows.map((r) => stat(r.samples));
      floorRows = rows.map((r, i) => [r.tool, seconds(st[i]!.wall), `${seconds(st[i]!.wallMin)}–${seconds(st[i]!.wallMax)}`, fmt(st[i]!.cpu / 1000, 2), fmt(st[i]!.rss, 1)]);
      console.log(`\nFloors\n\n${table(['', 'median wall s', 'range s', 'median CPU s', 'peak RSS MB'], floorRows)}`);
      floorLines.push(...readFloors(st[0]!.wall / 1000, st[1]!.wall / 1000, st[2]!.wall / 1000, cold));
    }
  } finally {
    await devserver.close();
    await dovecot.stop();
    clear(ws, shm);
  }

  const took = Math.round((Date.now() - started) / 1000);
  const command = `${QUICK ? 'BENCH_QUICK=1 ' : ''}${process.env.BENCH_RUNS ? `BENCH_RUNS=${RUNS} ` : ''}${process.env.BENCH_ONLY ? `BENCH_ONLY=${process.env.BENCH_ONLY} ` : ''}${SLOW_PEERS ? 'BENCH_SLOW_PEERS=1 ' : ''}npm run bench:peers`;
  const lines = [
    '# pinchmail against mpop, fetchmail and getmail6',
    '',
    ...(QUICK ? ['**Quick mode** (BENCH_QUICK=1): small sizes and few runs, to check that the benchmark works; do not read the figures.', ''] : []),
    // BENCH_ONLY=floors measures no scenario: nothing to sum up or draw.
    ...(scenarios.length ? [summary(scenarios), '', `![Wall time and peak memory per scenario and tool](${path.basename(CHART)})`, ''] : []),
    '## How this was measured',
    '',
    `Written by \`${command}\` (bench/peers.ts), ${new Date(started).toISOString().slice(0, 10)}, in ${took} s; the one-minute load average was ${loadBefore} before and ${load()} after.`,
    `Machine: ${versions.cpus} x ${versions.cpu}; Node ${versions.node}; ${versions.mpop}; fetchmail ${versions.fetchmail}; ${versions.getmail} (Debian); Dovecot ${versions.dovecot} on loopback.`,
    '',
    'Every tool fetches from the same private Dovecot on loopback and runs as it would from cron: one process per run, started fresh.',
    `The tools take turns, run by run, ${RUNS} runs each unless a scenario says otherwise, so a slow moment of the machine falls on all of them.`,
    'Wall time is measured from outside the process, start to exit; a table gives its median and the fastest and slowest run, never the fastest alone.',
    'CPU time is user plus system time of the tool and every child it waited for; peak memory is the highest resident set size (RSS) of any run.',
    `The last column is pinchmail's median wall time divided by that tool's: above 1, pinchmail takes longer; below 1, it is done sooner. On another row of pinchmail (with \`"parallel": 4\`, or to a command) it compares the row named just "pinchmail" with that one.`,
    'No tool deletes anything from the server (pinchmail runs with `"retention": "never"`); a cold run starts with no memory of the mailbox and an empty Maildir, and a run counts only if it exits successfully and its Maildir holds every message.',
    'getmail6 runs through bench/lib/getmail6.py, which waits for each delivery with waitpid: the Debian package (6.18) can miss a delivery\'s exit, wait 180 s and stop with "waiting child pid N timed out" (fixed upstream in 6.19.09).',
    '',
    '## Scenarios',
    '',
    ...scenarios.flatMap(section),
  ];
  if (floorRows.length) {
    lines.push(
      '## What Node costs before pinchmail does anything',
      '',
      'Not a comparison of fetchers, but what pinchmail cannot go below, measured in the same run to read the ratios above by:',
      '',
      '- *Node start-up*: start Node and exit at once, what every pinchmail run pays before its first line;',
      "- *C start-up*: the same for a C program (mpop printing its version);",
      `- *Node: ${n(SIZE.cold)} x spawn*: a Node program that starts \`sh -c "cat > /dev/null"\` ${n(SIZE.cold)} times, one after another, each given 10 KB: the cost of one command per message from Node;`,
      `- *dash: ${n(SIZE.cold)} x sh*: the same loop in the shell, about what a C fetcher pays for it.`,
      '',
      '| | wall time, s (median) | fastest–slowest, s | CPU time, s (median) | peak memory, MB |',
      '| :-- | --: | --: | --: | --: |',
      ...floorRows.map((r) => `| ${r.join(' | ')} |`),
      '',
      ...floorLines,
      '',
    );
  }
  if (process.env.BENCH_WRITE === '0') return;
  mkdirSync(path.dirname(PAGE), { recursive: true });
  // bench:daemon's rows belong on this page too: written anew, it keeps them as they were.
  const kept = keptSections(PAGE);
  writeFileSync(PAGE, [lines.join('\n').trimEnd(), ...kept].join('\n\n') + '\n');
  if (scenarios.length) writeFileSync(CHART, chart(scenarios, chartNotes()));
  console.log(`\nwrote ${PAGE}${scenarios.length ? ` and ${CHART}` : ''}`);
}

/** The chart's own key, so the image can be read without the page. */
function chartNotes(): string[] {
  return [
    `${QUICK ? 'QUICK MODE, do not read the figures. ' : ''}pinchmail ${new Date().toISOString().slice(0, 10)}, ${RUNS} interleaved runs per tool (at most 3 for the big message); from bench/peers.ts.`,
    'Time bars are scaled to the slowest run within each scenario; memory bars share one scale.',
  ];
}

/** What the floors say about the scenarios that are slower than mpop, in the words of the page. */
function readFloors(nodeStart: number, cStart: number, nodeSpawns: number, count: number): string[] {
  const lines: string[] = [];
  const mpop = (id: string): number | undefined => scenarios.find((s) => s.id === id)?.stats.get('mpop')?.wall;
  const ours = (id: string): number => scenarios.find((s) => s.id === id)!.stats.get('pinchmail')!.wall / 1000;
  const two = mpop('2');
  if (two) {
    lines.push(
      `- To a command: Node alone takes ${fmt(nodeSpawns, 2)} s to start ${n(count)} commands that copy 10 KB to /dev/null, ` +
        `${fmt(nodeSpawns / (two / 1000), 2)}x mpop's whole run (${fmt(two / 1000, 2)} s), so one command at a time cannot match mpop; "parallel" overlaps the starts.`,
    );
  }
  for (const s of scenarios.filter((x) => ['poll-tiny', 'poll-small', 'poll-large', '5'].includes(x.id))) {
    const theirs = mpop(s.id)! / 1000;
    lines.push(
      `- ${s.label.replace(/^\d+\. /, '')}: Node's start-up alone is ${fmt(nodeStart, 3)} s (C's: ${fmt(cStart, 3)} s), ${fmt((nodeStart / theirs) * 100)}% of mpop's whole run (${fmt(theirs, 3)} s); ` +
        `less both start-ups, pinchmail takes ${fmt((ours(s.id) - nodeStart) / (theirs - cStart), 2)}x mpop's time.`,
    );
  }
  return lines;
}

await main();
