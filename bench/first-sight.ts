/**
 * First sight of a large mailbox with a per-run limit (issue 16): does each cron run fit
 * its interval? Rerun with:
 *
 *     npm run bench:first-sight                        # 100,000 messages, 5,000 a run
 *     BENCH_MESSAGES=20000 BENCH_PER_RUN=2000 npm run bench:first-sight
 *
 * Needs root (the private Dovecot) and GNU time (apt-get install time). A private
 * Dovecot is seeded with small messages; pinchmail, never having seen the mailbox, runs
 * again and again with maxMessagesPerRun until it has delivered every one, each run timed
 * from outside (wall, CPU, peak RSS). Then, for comparison, one run without the limit
 * takes the whole mailbox at once from a fresh state. Deliveries go to a Maildir on
 * /dev/shm, so the figures are pinchmail's and the server's, not the disk's. The page is
 * docs/first-sight.md (or BENCH_OUT).
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dovecotUnavailable, startDovecot } from '../test/support/dovecot.js';
import { fmt, median, timeCommand, type Timing } from './lib/measure.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(root, 'bin', 'pinchmail');
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000);
const PER_RUN = Number(process.env.BENCH_PER_RUN ?? 5_000);
const PAGE = path.resolve(process.env.BENCH_OUT ?? path.join(root, 'docs', 'first-sight.md'));

const n = (count: number): string => count.toLocaleString('en');
const s = (ms: number): string => fmt(ms / 1000, 2);
const mb = (kb: number): string => fmt(kb / 1024);

function delivered(dir: string): number {
  return ['new', 'cur'].reduce((sum, sub) => sum + (existsSync(path.join(dir, sub)) ? readdirSync(path.join(dir, sub)).length : 0), 0);
}

async function main(): Promise<void> {
  const why = dovecotUnavailable();
  if (why) throw new Error(`the benchmark needs a private Dovecot: ${why}`);
  if (!existsSync('/usr/bin/time')) throw new Error('/usr/bin/time is missing: apt-get install --no-install-recommends time');
  const dovecot = await startDovecot(['big']);
  const ws = mkdtempSync(path.join(os.tmpdir(), 'pinchmail-first-sight-'));
  const shm = mkdtempSync(path.join('/dev/shm', 'pinchmail-first-sight-'));
  try {
    const seeding = Date.now();
    for (let i = 0; i < MESSAGES; i++) dovecot.deliver('big', Buffer.from(`Subject: job ${i}\nMessage-ID: <${i}@first-sight>\n\nrequest ${i}\n`));
    process.stderr.write(`seeded ${n(MESSAGES)} messages in ${s(Date.now() - seeding)} s\n`);

    const configFor = (name: string, extra: Record<string, unknown>): { config: string; maildir: string } => {
      const dir = path.join(ws, name);
      const maildir = path.join(shm, name);
      mkdirSync(dir, { recursive: true });
      const config = path.join(dir, 'config.json');
      const account = { name, host: '127.0.0.1', port: dovecot.port, tls: 'none', user: 'big', password: dovecot.users.get('big')!.password, auth: 'user' };
      writeFileSync(config, JSON.stringify({ database: path.join(dir, 'state.sqlite'), accounts: [{ ...account, retention: 'never', deliver: { maildir }, ...extra }] }));
      chmodSync(config, 0o600);
      return { config, maildir };
    };
    const run = async (config: string): Promise<Timing> => {
      const t = await timeCommand([process.execPath, BIN, '-c', config, '-q']);
      if (t.exitCode !== 0) throw new Error(`pinchmail exited ${t.exitCode}: ${t.stderr}`);
      return t;
    };

    const capped = configFor('capped', { maxMessagesPerRun: PER_RUN });
    const runs: Timing[] = [];
    for (let i = 0; delivered(capped.maildir) < MESSAGES; i++) {
      if (i > Math.ceil(MESSAGES / PER_RUN) + 1) throw new Error(`${i} runs delivered only ${delivered(capped.maildir)} of ${MESSAGES}`);
      runs.push(await run(capped.config));
      process.stderr.write(`run ${runs.length}: ${s(runs.at(-1)!.wallMs)} s, ${delivered(capped.maildir)} delivered\n`);
    }
    const poll = await run(capped.config);
    const whole = configFor('whole', {});
    const uncapped = await run(whole.config);
    if (delivered(whole.maildir) !== MESSAGES) throw new Error(`the run without a limit delivered ${delivered(whole.maildir)} of ${MESSAGES}`);

    const later = runs.slice(1);
    const rows = [
      ['first run: every message first seen, the first ' + n(PER_RUN) + ' delivered', s(runs[0]!.wallMs), s(runs[0]!.cpuMs), mb(runs[0]!.maxRssKb)],
      [`later runs (${later.length}), median`, s(median(later.map((r) => r.wallMs))), s(median(later.map((r) => r.cpuMs))), mb(median(later.map((r) => r.maxRssKb)))],
      ['later runs, slowest', s(Math.max(...later.map((r) => r.wallMs))), s(Math.max(...later.map((r) => r.cpuMs))), mb(Math.max(...later.map((r) => r.maxRssKb)))],
      ['a poll once all are delivered', s(poll.wallMs), s(poll.cpuMs), mb(poll.maxRssKb)],
      [`no limit: all ${n(MESSAGES)} in one run`, s(uncapped.wallMs), s(uncapped.cpuMs), mb(uncapped.maxRssKb)],
    ];
    const total = runs.reduce((sum, r) => sum + r.wallMs, 0);
    const longest = Math.max(...runs.map((r) => r.wallMs));
    const page = [
      '# First sight of a large mailbox, with a per-run limit',
      '',
      `Generated by \`npm run bench:first-sight\` (bench/first-sight.ts) on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), Node ${process.version}, a private Dovecot on loopback.`,
      '',
      `${n(MESSAGES)} small messages wait in a mailbox pinchmail has never seen. With \`"maxMessagesPerRun": ${PER_RUN}\`, each run from cron takes the oldest ${n(PER_RUN)} it has not delivered, into a Maildir on /dev/shm; ${runs.length} runs deliver them all, ${s(total)} s in all. Every run is timed from outside (GNU time).`,
      '',
      '| run | wall (s) | CPU (s) | peak RSS (MB) |',
      '|---|---:|---:|---:|',
      ...rows.map((r) => `| ${r.join(' | ')} |`),
      '',
      `So the longest of the ${runs.length} runs takes ${s(longest)} s, ${longest < 60_000 ? 'inside' : 'longer than'} a cron interval of a minute (a run without the limit takes ${s(uncapped.wallMs)} s). The first run also records all ${n(MESSAGES)} first sights, so retention counts from then for every message.`,
      '',
    ].join('\n');
    writeFileSync(PAGE, page);
    process.stdout.write(page);
  } finally {
    await dovecot.stop();
    rmSync(ws, { recursive: true, force: true });
    rmSync(shm, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
