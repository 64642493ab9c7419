/**
 * pinchmail against pinchmail: two or more builds (or Node flags) on the same private
 * Dovecot, interleaved run by run, to see what one change costs or saves before
 * bench:peers measures it against the other fetchers. Rerun with:
 *
 *     npm run build && tsx bench/versions.ts now=. before=/tmp/old
 *     BENCH_RUNS=9 BENCH_ONLY=cold,poll tsx bench/versions.ts a=/tmp/a b=/tmp/b
 *     tsx bench/versions.ts plain=. 'semi=.|--max-semi-space-size=1'
 *
 * Each argument is LABEL=CHECKOUT[|NODE FLAGS...]: a checkout with a built dist/ (a
 * `git worktree add` of an older commit, with node_modules linked in, will do), and the
 * flags Node is started with. Scenarios: `cold`, 1000 x 10 KB into an empty Maildir with
 * no state; `poll`, a poll with nothing new on 1,000 and on 10,000 messages; `big`, one
 * message of 200 MB (BENCH_BIG_MB) into a Maildir, for its peak memory. Measures
 * like bench:peers (GNU time: wall, CPU, peak RSS; median and range, never the best run
 * alone) and writes nothing but the console.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dovecotUnavailable, startDovecot } from '../test/support/dovecot.js';
import { fmt, stat, table, timeCommand, type Timing } from './lib/measure.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const ONLY = new Set((process.env.BENCH_ONLY ?? 'cold,poll').split(','));
const COLD = Number(process.env.BENCH_COLD ?? 1000);
const POLLS = (process.env.BENCH_POLLS ?? '1000,10000').split(',').map(Number);
const BIG_MB = Number(process.env.BENCH_BIG_MB ?? 200);

interface Variant {
  label: string;
  argv: string[];
}

function variants(args: string[]): Variant[] {
  if (args.length === 0) throw new Error('usage: tsx bench/versions.ts LABEL=CHECKOUT[|NODE FLAGS] ...');
  return args.map((arg) => {
    const m = /^([^=]+)=([^|]+)(?:\|(.*))?$/.exec(arg);
    if (!m) throw new Error(`not LABEL=CHECKOUT[|FLAGS]: ${arg}`);
    const bin = path.resolve(m[2]!, 'bin', 'pinchmail');
    if (!existsSync(path.resolve(m[2]!, 'dist', 'cli', 'main.js'))) throw new Error(`${m[2]} has no dist/: build it first`);
    return { label: m[1]!, argv: [process.execPath, ...(m[3] ? m[3].split(' ').filter(Boolean) : []), bin] };
  });
}

function tenKb(i: number): Buffer {
  const line = 'The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the\n';
  let body = `From: bench@example.org\nTo: jobs@example.org\nSubject: message ${i}\nMessage-ID: <${i}@bench>\n\n`;
  while (body.length < 10 * 1024) body += line;
  return Buffer.from(`${body.slice(0, 10 * 1024 - 1)}\n`);
}

const delivered = (dir: string): number => ['new', 'cur'].reduce((n, sub) => n + (existsSync(path.join(dir, sub)) ? readdirSync(path.join(dir, sub)).length : 0), 0);

async function main(): Promise<void> {
  const why = dovecotUnavailable();
  if (why) throw new Error(`needs a private Dovecot: ${why}`);
  const all = variants(process.argv.slice(2));
  const ws = mkdtempSync(path.join(os.tmpdir(), 'pinchmail-versions-'));
  const users = ['cold', 'big', ...POLLS.map((n) => `poll${n}`)];
  const dovecot = await startDovecot(users);
  try {
    const config = (name: string, user: string, maildir: string): { file: string; db: string } => {
      const dir = path.join(ws, name);
      mkdirSync(dir, { recursive: true });
      const db = path.join(dir, 'state.sqlite');
      const file = path.join(dir, 'pinchmail.json');
      const password = dovecot.users.get(user)!.password;
      writeFileSync(file, JSON.stringify({ database: db, accounts: [{ name: user, host: '127.0.0.1', port: dovecot.port, tls: 'none', user, password, auth: 'user', retention: 'never', deliver: { maildir } }] }));
      chmodSync(file, 0o600);
      return { file, db };
    };
    const run = async (argv: string[], file: string): Promise<Timing> => {
      const t = await timeCommand([...argv, '-c', file, '-q']);
      if (t.exitCode !== 0) throw new Error(`exit ${t.exitCode}: ${t.stderr.slice(0, 400)}`);
      return t;
    };
    const show = (title: string, rows: Map<string, Timing[]>): void => {
      const first = stat([...rows.values()][0]!);
      console.log(`\n${title}\n`);
      console.log(
        table(
          ['variant', 'median wall s', 'range s', 'median CPU s', 'peak RSS MB', 'vs first'],
          [...rows].map(([label, samples]) => {
            const st = stat(samples);
            return [label, fmt(st.wall / 1000, 3), `${fmt(st.wallMin / 1000, 3)}-${fmt(st.wallMax / 1000, 3)}`, fmt(st.cpu / 1000, 3), fmt(st.rss, 1), `${fmt(st.wall / first.wall, 2)}x`];
          }),
        ),
      );
    };

    if (ONLY.has('cold')) {
      for (let i = 0; i < COLD; i++) dovecot.deliver('cold', tenKb(i));
      const rows = new Map(all.map((v) => [v.label, [] as Timing[]]));
      for (let r = 0; r <= RUNS; r++) {
        for (const v of all) {
          const maildir = path.join(ws, `cold-${v.label}`, 'Maildir');
          const { file, db } = config(`cold-${v.label}`, 'cold', maildir);
          for (const p of [maildir, db, `${db}-wal`, `${db}-shm`]) rmSync(p, { recursive: true, force: true });
          const t = await run(v.argv, file);
          if (delivered(maildir) !== COLD) throw new Error(`${v.label} delivered ${delivered(maildir)} of ${COLD}`);
          // The first round warms Dovecot's index and the page cache for everyone: not counted.
          if (r > 0) rows.get(v.label)!.push(t);
        }
      }
      show(`Cold, ${COLD} x 10 KB into a Maildir`, rows);
    }
    if (ONLY.has('big')) {
      const block = Buffer.from(`${'0123456789'.repeat(7)}abcdefg\n`.repeat(1024));
      const chunks = [Buffer.from(`From: big@example.org\nSubject: ${BIG_MB} MB\n\n`)];
      for (let b = 0; b < BIG_MB * 1024 * 1024; b += block.length) chunks.push(block);
      dovecot.deliver('big', Buffer.concat(chunks));
      const rows = new Map(all.map((v) => [v.label, [] as Timing[]]));
      for (let r = 0; r <= Math.min(RUNS, 3); r++) {
        for (const v of all) {
          const maildir = path.join(ws, `big-${v.label}`, 'Maildir');
          const { file, db } = config(`big-${v.label}`, 'big', maildir);
          for (const p of [maildir, db, `${db}-wal`, `${db}-shm`]) rmSync(p, { recursive: true, force: true });
          const t = await run(v.argv, file);
          if (delivered(maildir) !== 1) throw new Error(`${v.label} did not deliver the big message`);
          if (r > 0) rows.get(v.label)!.push(t);
        }
      }
      show(`One message of ${BIG_MB} MB into a Maildir`, rows);
    }
    if (ONLY.has('poll')) {
      for (const count of POLLS) {
        for (let i = 0; i < count; i++) dovecot.deliver(`poll${count}`, Buffer.from(`Subject: poll ${i}\nMessage-ID: <${i}@poll>\n\nx\n`));
        const rows = new Map(all.map((v) => [v.label, [] as Timing[]]));
        const configs = new Map(all.map((v) => [v.label, config(`poll${count}-${v.label}`, `poll${count}`, path.join(ws, `poll${count}-${v.label}`, 'Maildir')).file]));
        for (let r = 0; r <= RUNS; r++) {
          for (const v of all) {
            const t = await run(v.argv, configs.get(v.label)!);
            if (r > 0) rows.get(v.label)!.push(t);
          }
        }
        show(`A poll with nothing new, ${count} messages`, rows);
      }
    }
  } finally {
    await dovecot.stop();
    rmSync(ws, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
