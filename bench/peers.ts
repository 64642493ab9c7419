/**
 * pinchmail against mpop, fetchmail and getmail6 (issue 6). Rerun with:
 *
 *     npm run bench:peers                 # everything, 5 runs each, about 15 minutes
 *     BENCH_RUNS=7 BENCH_ONLY=1,2 npm run bench:peers
 *
 * Needs root (the private Dovecot), GNU time, and the peers from Debian:
 *     apt-get install time mpop fetchmail getmail6
 *
 * A private Dovecot is seeded and every tool does the same work, interleaved run by
 * run, timed from outside with GNU time (wall, user+system CPU including children,
 * peak RSS). Scenarios:
 *   1. cold fetch of 1000 x 10 KB into a Maildir;
 *   2. cold fetch of 1000 x 10 KB to a command, "cat > /dev/null";
 *   3. a poll with nothing new on a mailbox of 10,000 and of 100,000 messages;
 *   4. one 200 MB message: peak RSS;
 *   5. 200 x 10 KB from the dev server with 20 ms added to every reply (vs mpop);
 *   floors: Node's own start-up and cost per child process, beside C's, to read the ratios by.
 * "Cold" means the tool has never seen the mailbox: its state and the target are
 * cleared before every run, and nothing is ever deleted from the server.
 * The output (and docs/benchmarks.md, written at the end) reports medians and
 * pinchmail's ratio to each peer.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DevPop3Server } from '../src/devserver/pop3-server.js';
import { dovecotUnavailable, startDovecot, type Dovecot } from '../test/support/dovecot.js';
import { fmt, median, table, timeCommand, type Timing } from './lib/measure.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(root, 'bin', 'pinchmail');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ONLY = new Set((process.env.BENCH_ONLY ?? '1,2,3,4,5,floors').split(','));
/** getmail6 and fetchmail take many minutes to first see 100,000 messages; off unless asked for. */
const SLOW_PEERS = process.env.BENCH_SLOW_PEERS === '1';

interface Run {
  tool: string;
  argv: string[];
  env?: NodeJS.ProcessEnv;
  /** Before each measured run: clear state and targets (cold runs), or nothing (polls). */
  reset?: () => void;
}

interface Row {
  tool: string;
  samples: Timing[];
}

const ws = mkdtempSync(path.join(os.tmpdir(), 'pinchmail-bench-'));
chmodSync(ws, 0o755);
const shm = mkdtempSync(path.join('/dev/shm', 'pinchmail-bench-'));
chmodSync(shm, 0o755);
const out: string[] = [];
const say = (line = ''): void => {
  console.log(line);
  out.push(line);
};

function clear(...paths: string[]): void {
  for (const p of paths) rmSync(p, { recursive: true, force: true });
}

function maildir(dir: string, owner?: number): string {
  for (const sub of ['new', 'cur', 'tmp']) mkdirSync(path.join(dir, sub), { recursive: true });
  if (owner !== undefined) for (const p of [dir, ...['new', 'cur', 'tmp'].map((s) => path.join(dir, s))]) chownSync(p, owner, owner);
  return dir;
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
    runs.push({ tool: 'pinchmail', argv: [process.execPath, BIN, '-c', config, '-q'], reset: () => clear(db, `${db}-wal`, `${db}-shm`, ...('maildir' in target ? [target.maildir] : [])) });
    if ('command' in deliver && want('pinchmail parallel=4')) {
      const parallelConfig = path.join(dir, 'pinchmail-parallel.json');
      writeFileSync(
        parallelConfig,
        JSON.stringify({
          database: db,
          accounts: [{ name, host: '127.0.0.1', port: server.port, tls: 'none', user: server.user, password: server.password, auth: 'user', retention: 'never', deliver: { command: deliver.command, parallel: 4 } }],
        }),
      );
      chmodSync(parallelConfig, 0o600);
      runs.push({ tool: 'pinchmail parallel=4', argv: [process.execPath, BIN, '-c', parallelConfig, '-q'], reset: () => clear(db, `${db}-wal`, `${db}-shm`) });
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
      argv: ['getmail', '--getmaildir', home, '--rcfile', 'getmailrc'],
      reset: () => {
        execFileSync('sh', ['-c', `rm -f "${home}"/oldmail-*`]);
        if ('maildir' in deliver) {
          clear(`${deliver.maildir}-getmail`);
          maildir(`${deliver.maildir}-getmail`, nobody);
        }
      },
    });
  }
  return runs;
}

/** Runs every tool `runs` times, interleaved; a failed run is an error, not a figure. */
async function measure(runs: Run[], times: number, options: { cold: boolean }): Promise<Row[]> {
  const rows = runs.map((r) => ({ tool: r.tool, samples: [] as Timing[] }));
  for (let i = 0; i < times; i++) {
    for (const [k, run] of runs.entries()) {
      if (options.cold) run.reset?.();
      const t = await timeCommand(run.argv, { env: run.env });
      // fetchmail says 1 for "no new mail"; everything else must succeed.
      const ok = t.exitCode === 0 || (run.tool === 'fetchmail' && t.exitCode === 1 && !options.cold);
      if (!ok) throw new Error(`${run.tool} failed (exit ${t.exitCode}): ${t.stderr.slice(0, 500)}`);
      rows[k]!.samples.push(t);
    }
  }
  return rows;
}

function report(title: string, rows: Row[]): Map<string, { wall: number; cpu: number; rss: number }> {
  const stats = new Map(
    rows.map((r) => [r.tool, { wall: median(r.samples.map((s) => s.wallMs)), cpu: median(r.samples.map((s) => s.cpuMs)), rss: Math.max(...r.samples.map((s) => s.maxRssKb)) / 1024 }]),
  );
  const ours = stats.get('pinchmail')!;
  say(`\n### ${title}\n`);
  say('```');
  say(
    table(
      ['tool', 'median wall s', 'median CPU s', 'peak RSS MB', 'pinchmail / tool (wall)'],
      [...stats].map(([tool, s]) => [tool, fmt(s.wall / 1000, 3), fmt(s.cpu / 1000, 2), fmt(s.rss, 1), tool === 'pinchmail' ? '1.00' : fmt(ours.wall / s.wall, 2)]),
    ),
  );
  say('```');
  return stats;
}

const verdicts: string[] = [];
/** Each scenario's medians, for reading the misses against the floors. */
const seen = new Map<string, Map<string, { wall: number; cpu: number; rss: number }>>();
/** Lines explaining misses by what Node itself costs. */
const floors: string[] = [];
function target(ok: boolean, text: string): void {
  verdicts.push(`- ${ok ? 'MET' : 'MISSED'}: ${text}`);
}

async function seed(dovecot: Dovecot, user: string, count: number, make: (i: number) => Buffer): Promise<void> {
  for (let i = 0; i < count; i++) dovecot.deliver(user, make(i));
}

async function main(): Promise<void> {
  const why = dovecotUnavailable();
  if (why) throw new Error(`the benchmark needs a private Dovecot: ${why}`);
  for (const tool of ['/usr/bin/time', '/usr/bin/mpop', '/usr/bin/fetchmail', '/usr/bin/getmail']) {
    if (!existsSync(tool)) throw new Error(`${tool} is missing: apt-get install time mpop fetchmail getmail6`);
  }
  const started = Date.now();
  const versions = {
    node: process.version,
    mpop: execFileSync('mpop', ['--version'], { encoding: 'utf8' }).split('\n')[0],
    fetchmail: /release ([\d.]+)/.exec(execFileSync('sh', ['-c', 'fetchmail --version 2>&1 || true'], { encoding: 'utf8' }))?.[1],
    getmail: execFileSync('getmail', ['--version'], { encoding: 'utf8' }).trim(),
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
  };
  say(`# pinchmail against mpop, fetchmail and getmail6`);
  say();
  say(`Command: \`${process.env.BENCH_RUNS ? `BENCH_RUNS=${RUNS} ` : ''}${process.env.BENCH_ONLY ? `BENCH_ONLY=${process.env.BENCH_ONLY} ` : ''}npm run bench:peers\` (bench/peers.ts), ${new Date().toISOString().slice(0, 10)}.`);
  say(`Machine: ${versions.cpus} x ${versions.cpu}; Node ${versions.node}; ${versions.mpop}; fetchmail ${versions.fetchmail}; ${versions.getmail}; Dovecot 2.3 on loopback.`);
  say(`Medians of ${RUNS} interleaved runs per tool unless noted; wall time from outside the process, CPU is user+system of the tool and every child it waited for.`);

  const dovecot = await startDovecot(['cold', 'poll10k', 'poll100k', 'big']);
  const devserver = new DevPop3Server();
  try {
    const pw = (u: string): string => dovecot.users.get(u)!.password;
    const at = (user: string): { port: number; user: string; password: string } => ({ port: dovecot.port, user, password: pw(user) });

    if (ONLY.has('1') || ONLY.has('2')) {
      await seed(dovecot, 'cold', 1000, tenKb);
      // Dovecot indexes a mailbox on first access; do that before any timing.
      await measure(tools('warmup', at('cold'), { command: 'cat > /dev/null' }, ['mpop']), 1, { cold: true });
    }
    if (ONLY.has('1')) {
      const rows = await measure(tools('cold-maildir', at('cold'), { maildir: path.join(ws, 'cold-maildir', 'Maildir') }), RUNS, { cold: true });
      const s = report('1. Cold fetch, 1000 x 10 KB into a Maildir', rows);
      say('fetchmail has no Maildir delivery of its own (it needs an MDA), so it sits this one out.');
      target(s.get('pinchmail')!.wall <= s.get('mpop')!.wall, `(1) Maildir, pinchmail / mpop <= 1.0: ${fmt(s.get('pinchmail')!.wall / s.get('mpop')!.wall, 2)}`);
    }
    if (ONLY.has('2')) {
      const rows = await measure(tools('cold-command', at('cold'), { command: 'cat > /dev/null' }), RUNS, { cold: true });
      const s = report('2. Cold fetch, 1000 x 10 KB to a command, "cat > /dev/null"', rows);
      seen.set('2', s);
      const ratio = s.get('pinchmail')!.wall / s.get('mpop')!.wall;
      target(ratio <= 1.0, `(2) command, pinchmail / mpop <= 1.0: ${fmt(ratio, 2)} (with "parallel": 4: ${fmt(s.get('pinchmail parallel=4')!.wall / s.get('mpop')!.wall, 2)})`);
    }
    if (ONLY.has('3')) {
      const polls = new Map<number, ReturnType<typeof report>>();
      const small = (i: number): Buffer => Buffer.from(`Subject: poll ${i}\nMessage-ID: <${i}@poll>\n\nx\n`);
      for (const [user, count] of [['poll10k', 10_000], ['poll100k', 100_000]] as const) {
        const started3 = Date.now();
        await seed(dovecot, user, count, small);
        const everyone = tools(`${user}`, at(user), { maildir: path.join(shm, `${user}-Maildir`) }, count > 10_000 && !SLOW_PEERS ? ['pinchmail', 'mpop'] : undefined);
        const commandPeers = tools(`${user}-fetchmail`, at(user), { command: 'cat > /dev/null' }, ['fetchmail']);
        const runs = [...everyone, ...(count > 10_000 && !SLOW_PEERS ? [] : commandPeers)];
        // First sight of every message (not timed): delivery onto a tmpfs, so it is quick.
        await measure(runs, 1, { cold: true });
        const rows = await measure(runs, RUNS, { cold: false });
        const s = report(`3. A poll with nothing new, ${count.toLocaleString('en')} messages on the server (seeding and first sight took ${Math.round((Date.now() - started3) / 1000)} s)`, rows);
        if (count > 10_000 && !SLOW_PEERS) {
          say('getmail6 and fetchmail are left out at 100,000 (first sight of the mailbox takes them many minutes: fetchmail\'s UID list is O(n^2)); BENCH_SLOW_PEERS=1 includes them.');
        }
        const ratio = s.get('pinchmail')!.wall / s.get('mpop')!.wall;
        target(ratio <= (count > 10_000 ? 1.5 : 2.0), `(3) poll with nothing new at ${count.toLocaleString('en')}, pinchmail / mpop <= ${count > 10_000 ? '1.5' : '2.0'}: ${fmt(ratio, 2)}`);
        polls.set(count, s);
        seen.set(`3-${count}`, s);
      }
      // Ten times the messages: linear cost is at most ten times the time (start-up makes it less).
      const growth = (tool: string): number => polls.get(100_000)!.get(tool)!.wall / polls.get(10_000)!.get(tool)!.wall;
      target(growth('pinchmail') <= 10, `(3) 10,000 to 100,000 messages, pinchmail's poll grows x${fmt(growth('pinchmail'), 1)} (mpop x${fmt(growth('mpop'), 1)}): linear, not quadratic`);
    }
    if (ONLY.has('4')) {
      const file = path.join(dovecot.dir, 'big.eml');
      const outStream = createWriteStream(file);
      outStream.write('From: big@example.org\nSubject: 200 MB\n\n');
      const block = Buffer.from(`${'0123456789'.repeat(7)}abcdefg\n`.repeat(1024));
      for (let n = 0; n < 200 * 1024 * 1024; n += block.length) if (!outStream.write(block)) await new Promise<void>((r) => outStream.once('drain', () => r()));
      await new Promise<void>((r) => outStream.end(() => r()));
      chownSync(file, 5000, 5000);
      renameSync(file, path.join(dovecot.users.get('big')!.maildir, 'new', `${Date.now()}.big`));
      const maildirRuns = tools('big-maildir', at('big'), { maildir: path.join(ws, 'big-maildir', 'Maildir') }, ['pinchmail', 'mpop']);
      const commandRuns = tools('big-command', at('big'), { command: 'cat > /dev/null' }, ['pinchmail']).map((r) => ({ ...r, tool: `${r.tool} (command)` }));
      const rows = await measure([...maildirRuns, ...commandRuns], Math.min(RUNS, 3), { cold: true });
      const s = report('4. One 200 MB message (Maildir; and pinchmail to "cat > /dev/null"): peak RSS', rows);
      const rss = Math.max(s.get('pinchmail')!.rss, s.get('pinchmail (command)')!.rss);
      target(rss < 100, `(4) 200 MB message, pinchmail peak RSS < 100 MB: ${fmt(rss, 1)} MB`);
    }
    if (ONLY.has('5')) {
      devserver.store.addUser('late', 'late-pw');
      for (let i = 0; i < 200; i++) devserver.store.add('late', tenKb(i));
      devserver.faults.latencyMs = 20;
      const { port } = await devserver.listen('plain');
      const rows = await measure(tools('latency', { port, user: 'late', password: 'late-pw' }, { maildir: path.join(ws, 'latency', 'Maildir') }, ['pinchmail', 'mpop']), RUNS, { cold: true });
      const s = report('5. 200 x 10 KB with 20 ms added to every reply (dev server), into a Maildir', rows);
      seen.set('5', s);
      const ratio = s.get('pinchmail')!.wall / s.get('mpop')!.wall;
      target(ratio <= 1.2, `(5) 20 ms latency, pinchmail / mpop <= 1.2: ${fmt(ratio, 2)}`);
    }

    if (ONLY.has('floors')) {
      // Not a target: what Node itself costs before pinchmail does anything, for reading the ratios above.
      const tenKbFile = path.join(ws, 'ten-kb');
      writeFileSync(tenKbFile, Buffer.alloc(10 * 1024, 0x61));
      const rows = await measure(
        [
          { tool: 'node -e 0 (Node start-up)', argv: [process.execPath, '-e', '0'] },
          { tool: 'mpop --version (C start-up)', argv: ['mpop', '--version'] },
          { tool: 'Node: 1000 x spawn sh -c "cat > /dev/null"', argv: [process.execPath, path.join(root, 'bench', 'lib', 'spawn-floor.mjs'), '1000'] },
          { tool: 'dash: 1000 x sh -c "cat > /dev/null"', argv: ['/bin/sh', '-c', `i=0; while [ $i -lt 1000 ]; do /bin/sh -c 'cat > /dev/null' < ${tenKbFile}; i=$((i+1)); done`] },
        ],
        RUNS,
        { cold: false },
      );
      say('\n### Floors: what Node costs before pinchmail does anything\n');
      say('```');
      say(table(['', 'median wall s', 'median CPU s', 'peak RSS MB'], rows.map((r) => [r.tool, fmt(median(r.samples.map((t) => t.wallMs)) / 1000, 3), fmt(median(r.samples.map((t) => t.cpuMs)) / 1000, 2), fmt(Math.max(...r.samples.map((t) => t.maxRssKb)) / 1024, 1)])));
      say('```');
      const wall = (i: number): number => median(rows[i]!.samples.map((t) => t.wallMs)) / 1000;
      const [nodeStart, cStart, nodeSpawns] = [wall(0), wall(1), wall(2)];
      const lines: string[] = [];
      const two = seen.get('2');
      if (two) {
        lines.push(
          `- (2): Node takes ${fmt(nodeSpawns, 2)} s only to spawn 1000 children that copy 10 KB to /dev/null, ` +
            `${fmt((nodeSpawns / two.get('mpop')!.wall) * 1000, 2)}x mpop's whole run (${fmt(two.get('mpop')!.wall / 1000, 2)} s), so one command at a time cannot match mpop; "parallel" overlaps the spawns.`,
        );
      }
      for (const [key, label] of [['3-10000', '(3) at 10,000'], ['3-100000', '(3) at 100,000'], ['5', '(5)']] as const) {
        const st = seen.get(key);
        if (!st) continue;
        const ours = st.get('pinchmail')!.wall / 1000;
        const theirs = st.get('mpop')!.wall / 1000;
        lines.push(
          `- ${label}: Node's start-up alone is ${fmt(nodeStart, 3)} s (C's: ${fmt(cStart, 3)} s), ${fmt((nodeStart / theirs) * 100)}% of mpop's whole run (${fmt(theirs, 3)} s); ` +
            `with both start-ups taken out, pinchmail / mpop is ${fmt((ours - nodeStart) / (theirs - cStart), 2)}.`,
        );
      }
      if (lines.length) floors.push(...lines);
    }

    say('\n### Targets (ratios to mpop in the same run)\n');
    for (const v of verdicts) say(v);
    if (floors.length) {
      say('\nWhat stands in the way, from the floors measured in this run:\n');
      for (const f of floors) say(f);
    }
    say(`\nWhole run: ${Math.round((Date.now() - started) / 1000)} s.`);
  } finally {
    await devserver.close();
    await dovecot.stop();
    clear(ws, shm);
  }
  if (process.env.BENCH_WRITE !== '0') {
    writeFileSync(path.join(root, 'docs', 'benchmarks.md'), `${out.join('\n')}\n`);
    console.log('\nwrote docs/benchmarks.md');
  }
}

await main();
