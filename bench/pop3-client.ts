/**
 * POP3 client benchmark (issue 2). Rerun with:  npm run bench:client
 *
 * 1. 1000 × 10 KB from a private Dovecot: our client pipelined, our client one command
 *    at a time, and a raw socket that sends every RETR at once and only counts bytes
 *    (the ceiling).
 * 2. 200 × 10 KB from the dev server with 20 ms added to every reply: pipelined vs
 *    one at a time.
 * 3. One 200 MB message from Dovecot written to /dev/null: peak RSS.
 *
 * Our client retrieves as a fetch does (prepare-message): retrTo into a BodySink, bounded
 * by the LIST size, and each RETR confirmed by the UIDL n that rides behind it, so the
 * numbers include that second command. Each run is its own process
 * (bench/pop3-client-worker.mjs), so peak RSS is per run. msgs/s counts from the first
 * RETR to the last byte (the raw ceiling does no UIDL or LIST); the whole session,
 * connect to QUIT, is shown beside it.
 */
import { spawn } from 'node:child_process';
import { chownSync, createWriteStream, existsSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DevPop3Server } from '../src/devserver/pop3-server.js';
import { dovecotUnavailable, startDovecot, type Dovecot } from '../test/support/dovecot.js';
import { fmt, median, table } from './lib/measure.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const worker = path.join(root, 'bench/pop3-client-worker.mjs');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

interface WorkerResult {
  messages: number;
  bytes: number;
  /** The whole session, connect to QUIT. */
  ms: number;
  /** From the first RETR to the last byte of the last body: what msgs/s is computed from. */
  retrMs: number;
  maxRssKb: number;
}

function runWorker(mode: string, port: number, user: string, password: string): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker, mode, '127.0.0.1', String(port), user, password], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as WorkerResult) : reject(new Error(`${mode} exited ${code}`))));
  });
}

function tenKb(i: number): Buffer {
  const header = `From: bench@example.org\nTo: jobs@example.org\nSubject: message ${i}\nMessage-ID: <${i}@bench>\n\n`;
  const line = `${'The quick brown fox jumps over the lazy dog. '.repeat(2).slice(0, 78)}\n`;
  let body = header;
  while (body.length < 10 * 1024) body += line;
  return Buffer.from(body.slice(0, 10 * 1024 - 1) + '\n');
}

async function writeBigMessage(file: string, bytes: number): Promise<void> {
  const out = createWriteStream(file);
  out.write('From: big@example.org\nSubject: 200 MB\n\n');
  const line = Buffer.from(`${'0123456789'.repeat(7)}abcdefg\n`);
  const block = Buffer.concat(Array.from({ length: 1024 }, () => line));
  for (let written = 0; written < bytes; written += block.length) {
    if (!out.write(block)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve) => out.end(() => resolve()));
}

async function series(modes: string[], port: number, user: string, password: string, runs: number): Promise<Map<string, WorkerResult[]>> {
  const results = new Map<string, WorkerResult[]>(modes.map((m) => [m, []]));
  // Interleaved, so drift on the machine touches every mode alike.
  for (let r = 0; r < runs; r++) for (const mode of modes) results.get(mode)!.push(await runWorker(mode, port, user, password));
  return results;
}

interface Summary {
  msgsPerSec: number;
  mbPerSec: number;
  retrMs: number;
  sessionMs: number;
  rssMb: number;
}

function summarise(results: Map<string, WorkerResult[]>): Map<string, Summary> {
  const out = new Map<string, Summary>();
  for (const [mode, samples] of results) {
    const retrMs = median(samples.map((s) => s.retrMs));
    out.set(mode, {
      retrMs,
      sessionMs: median(samples.map((s) => s.ms)),
      msgsPerSec: (samples[0]!.messages / retrMs) * 1000,
      mbPerSec: (median(samples.map((s) => s.bytes)) / 1e6 / retrMs) * 1000,
      rssMb: Math.max(...samples.map((s) => s.maxRssKb)) / 1024,
    });
  }
  return out;
}

function print(results: Map<string, Summary>): void {
  console.log(
    table(
      ['client', 'msgs/s', 'MB/s', 'retrieval ms', 'session ms', 'peak RSS MB'],
      [...results].map(([mode, s]) => [mode, fmt(s.msgsPerSec), fmt(s.mbPerSec, 1), fmt(s.retrMs, 1), fmt(s.sessionMs, 1), fmt(s.rssMb, 1)]),
    ),
  );
}

async function main(): Promise<void> {
  if (!existsSync(path.join(root, 'dist/pop3/session.js'))) throw new Error('run npm run build first');
  const why = dovecotUnavailable();
  if (why) throw new Error(`the benchmark needs a private Dovecot: ${why}`);
  const verdicts: string[] = [];
  const check = (ok: boolean, text: string): void => {
    verdicts.push(`${ok ? 'PASS' : 'MISS'}  ${text}`);
  };

  let dovecot: Dovecot | undefined;
  const devserver = new DevPop3Server();
  try {
    dovecot = await startDovecot(['bench', 'big']);
    for (let i = 0; i < 1000; i++) dovecot.deliver('bench', tenKb(i));
    const bigFile = path.join(dovecot.dir, 'big.eml');
    await writeBigMessage(bigFile, 200 * 1024 * 1024);
    const bigBox = dovecot.users.get('big')!;
    chownSync(bigFile, 5000, 5000);
    renameSync(bigFile, path.join(bigBox.maildir, 'new', `${Date.now()}.big.bench`));

    const pw = (u: string): string => dovecot!.users.get(u)!.password;
    // A warm-up run, not counted: Dovecot builds its indexes on first access.
    await runWorker('raw', dovecot.port, 'bench', pw('bench'));
    await runWorker('to-devnull', dovecot.port, 'big', pw('big'));

    console.log(`\n1. 1000 x 10 KB from Dovecot (loopback), median of ${RUNS} runs`);
    const local = summarise(await series(['pipelined', 'serial', 'raw'], dovecot.port, 'bench', pw('bench'), RUNS));
    print(local);
    const ceiling = local.get('raw')!.msgsPerSec;
    const pipelinedRatio = local.get('pipelined')!.msgsPerSec / ceiling;
    console.log(`pipelined / raw ceiling = ${fmt(pipelinedRatio, 2)}   serial / raw = ${fmt(local.get('serial')!.msgsPerSec / ceiling, 2)}`);
    check(pipelinedRatio >= 0.8, `pipelined >= 0.8 x raw ceiling (got ${fmt(pipelinedRatio, 2)})`);

    console.log(`\n2. 200 x 10 KB from the dev server with 20 ms latency per reply, median of ${Math.min(RUNS, 3)} runs`);
    devserver.store.addUser('bench', 'bench-pw');
    for (let i = 0; i < 200; i++) devserver.store.add('bench', tenKb(i));
    devserver.faults.latencyMs = 20;
    const { port: latePort } = await devserver.listen('plain');
    const late = summarise(await series(['pipelined', 'serial'], latePort, 'bench', 'bench-pw', Math.min(RUNS, 3)));
    print(late);
    // 200 replies, each 20 ms late, one after another, cannot take less than 4 s: if they
    // did, the one-at-a-time client was pipelining and the ratio below would mean nothing.
    if (late.get('serial')!.retrMs < 200 * 20) throw new Error('the one-at-a-time run was pipelined: the benchmark is broken');
    const latencyRatio = late.get('pipelined')!.msgsPerSec / late.get('serial')!.msgsPerSec;
    console.log(`pipelined / one-at-a-time = ${fmt(latencyRatio, 1)}x`);
    check(latencyRatio >= 10, `with 20 ms latency, pipelined >= 10 x one-at-a-time (got ${fmt(latencyRatio, 1)}x)`);

    console.log(`\n3. one 200 MB message from Dovecot written to /dev/null, ${Math.min(RUNS, 3)} runs`);
    const big = summarise(await series(['to-devnull'], dovecot.port, 'big', pw('big'), Math.min(RUNS, 3)));
    const b = big.get('to-devnull')!;
    print(big);
    check(b.rssMb < 100, `200 MB message under 100 MB peak RSS (got ${fmt(b.rssMb, 1)} MB)`);

    console.log(`\n${verdicts.join('\n')}`);
    process.exitCode = verdicts.some((v) => v.startsWith('MISS')) ? 1 : 0;
  } finally {
    await devserver.close();
    await dovecot?.stop();
  }
}

await main();
