import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Io } from '../cli/options.js';
import { DevPop3Server } from '../devserver/pop3-server.js';

const BIN = fileURLToPath(new URL('../../bin/pinchmail', import.meta.url));
const RETENTION_SECONDS = 4;

const requests = [
  ['build', 'Build release 2.4.1 for arm64'],
  ['resize', 'Resize the uploaded photos in /incoming/2026-11'],
  ['report', 'Monthly report for Ren\xe9e (caf\xe9 accounts)'],
  ['backup', 'Back up the orders database'],
  ['notify', 'Tell the on-call team about the new rota'],
  ['cleanup', 'Remove build artefacts older than 30 days'],
];

function message(i: number): Buffer {
  const [job, text] = requests[i]!;
  return Buffer.from(
    `From: requests@example.org\r\nTo: jobs@example.org\r\nSubject: job ${job}\r\nMessage-ID: <${job}.${i}@demo>\r\n\r\n${text}\r\n`,
    'latin1',
  );
}

/**
 * `pinchmail demo`: a loopback POP3 server seeded with job requests, and the real
 * pinchmail CLI run as two peer hosts with their own state databases, showing that each
 * host gets every message once and that retention, not delivery, deletes server copies;
 * and a third host that polls less often than the others keep mail, and is told so.
 */
export async function runDemo(io: Io, options: { keep?: boolean } = {}): Promise<number> {
  const out = (text = ''): void => void io.stdout.write(`${text}\n`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pinchmail-demo-'));
  const server = new DevPop3Server();
  server.store.addUser('jobs@example.org', 'demo-password');
  for (let i = 0; i < 4; i++) server.store.add('jobs@example.org', message(i));
  const { port } = await server.listen('plain');

  const host = (name: string, deliver: Record<string, unknown>): string => {
    const file = path.join(dir, `${name}.json`);
    const account = {
      name: 'jobs',
      host: '127.0.0.1',
      port,
      tls: 'none',
      user: 'jobs@example.org',
      password: { env: 'DEMO_POP_PASSWORD' },
      retention: `${RETENTION_SECONDS}s`,
      deliver,
    };
    writeFileSync(file, `${JSON.stringify({ database: path.join(dir, `${name}.sqlite`), accounts: [account] }, null, 2)}\n`);
    return file;
  };
  const hostA = host('host-a', { maildir: path.join(dir, 'host-a-Maildir') });
  const hostB = host('host-b', { command: `sed -n 's/^Subject: //p' >> '${path.join(dir, 'host-b-jobs.log')}'` });
  const hostC = host('host-c', { maildir: path.join(dir, 'host-c-Maildir') });
  const configs: Record<string, string> = { 'host-a': hostA, 'host-b': hostB, 'host-c': hostC };

  let failures = 0;
  // Asynchronous on purpose: the POP3 server answering these runs lives in this process.
  /** Runs a host; `shown`: 'always', or 'if-deleting' (only a run that deleted something is shown, as a host's cron run would mail nothing otherwise). */
  const run = async (label: string, args: string[], shown: 'always' | 'if-deleting' = 'always'): Promise<void> => {
    if (shown === 'always') out(`  $ pinchmail -c ${label}.json ${args.join(' ')}`.trimEnd());
    const child = spawn(process.execPath, [BIN, '-c', configs[label]!, ...args], {
      env: { ...process.env, DEMO_POP_PASSWORD: 'demo-password', PINCHMAIL_LOG: 'text' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const show = shown === 'always' || status !== 0 || /\b[1-9]\d* deleted\b/.test(text);
    if (shown !== 'always' && show) out(`  $ pinchmail -c ${label}.json ${args.join(' ')}`.trimEnd());
    if (show) for (const line of text.trimEnd().split('\n')) if (line) out(`    ${line}`);
    if (status !== 0) failures++;
  };
  const onServer = (): number => server.store.messages('jobs@example.org').length;

  try {
    out('pinchmail demo: one POP3 mailbox as a work queue for two peer hosts');
    out(`(a loopback POP3 server on 127.0.0.1:${port}; host A delivers into a Maildir, host B pipes each`);
    out(` message to a shell command; each host keeps its own state database; retention ${RETENTION_SECONDS}s)`);
    out();
    out(`1. The mailbox holds ${onServer()} job requests. Host A looks first, changing nothing:`);
    await run('host-a', ['--dry-run']);
    out();
    out('2. Host A fetches. Delivery does not delete: the server keeps every message.');
    await run('host-a', []);
    out(`   on the server: ${onServer()}`);
    out();
    out('3. Host B polls the same mailbox with its own database, and gets every message too;');
    out('   so does host C, which will not poll again for a while:');
    await run('host-b', []);
    await run('host-c', []);
    out();
    out('4. Two more requests arrive. Each host gets only what it has not had:');
    server.store.add('jobs@example.org', message(4));
    server.store.add('jobs@example.org', message(5));
    await run('host-a', []);
    await run('host-b', []);
    out();
    out(`5. Nothing is deleted until a delivered message is ${RETENTION_SECONDS}s old (retention). Hosts A and B keep`);
    out('   polling every second or so, as cron would run them; only the runs that delete something are shown:');
    // Until the server is empty: each message goes once it is due, whichever host sees that first.
    const giveUp = Date.now() + 4 * RETENTION_SECONDS * 1000;
    while (onServer() > 0 && Date.now() < giveUp) {
      await run('host-a', [], 'if-deleting');
      await run('host-b', [], 'if-deleting');
      // Often enough that their worst interval stays under half the retention: they are the hosts that poll in time.
      await sleep(300);
    }
    out(`   on the server: ${onServer()}`);
    out();
    out('6. What each host received, every request exactly once:');
    const maildir = path.join(dir, 'host-a-Maildir', 'new');
    const subjects = readdirSync(maildir)
      .map((f) => /^Subject: (.*)$/m.exec(readFileSync(path.join(maildir, f), 'latin1'))?.[1] ?? '?')
      .sort();
    out(`   host A (Maildir): ${subjects.join(', ')}`);
    const logged = readFileSync(path.join(dir, 'host-b-jobs.log'), 'latin1').trim().split('\n').sort();
    out(`   host B (command): ${logged.join(', ')}`);
    out();
    await run('host-a', ['status']);
    out();
    out(`7. Host C comes back after more than ${RETENTION_SECONDS}s. The two requests of step 4 came and went while it`);
    out('   was away: it cannot fetch them, but it says it may have missed mail (and exits 0: nothing failed here),');
    out('   and its status shows the gap until it polls within the retention again:');
    await run('host-c', []);
    await run('host-c', ['status']);
    out();
    out(options.keep ? `Files kept in ${dir}` : `(demo files were in ${dir}; removed. Use pinchmail demo --keep to look at them.)`);
    return failures === 0 ? 0 : 70;
  } finally {
    await server.close();
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  }
}
