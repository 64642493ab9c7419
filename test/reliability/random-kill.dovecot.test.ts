import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Workspace, runCli, startCli } from '../support/cli.js';
import { crlfToLf, prng } from '../support/corpus.js';
import { dovecotServes, startDovecot, type Dovecot } from '../support/dovecot.js';
import { describeWithDovecot } from '../support/dovecot-suite.js';
import { expectNoLoss } from '../support/no-loss.js';
import { recordOutcome } from '../support/reliability-log.js';

/**
 * SIGKILL at random instants across many runs on a mailbox of hundreds of messages
 * with retention "0" (issue 4). PINCHMAIL_LONG_TESTS=1 runs the long version.
 */
const LONG = process.env.PINCHMAIL_LONG_TESTS === '1';
const MESSAGES = LONG ? 1000 : 300;
const KILLS = LONG ? 60 : 15;

const jobOf = (m: Buffer): string => /^Subject: (job-\d+)/m.exec(m.toString('latin1'))?.[1] ?? '?';

describeWithDovecot('random SIGKILLs against Dovecot', () => {
  let dovecot: Dovecot;
  let ws: Workspace;
  beforeAll(async () => {
    dovecot = await startDovecot(['queue-command', 'queue-maildir']);
    ws = new Workspace();
  });
  afterAll(async () => {
    await dovecot?.stop();
    ws?.remove();
  });

  it.each(['command', 'maildir'] as const)(`%s: ${KILLS} runs killed at random instants, then one that finishes: nothing lost, no truncated copy, at most one duplicate per kill`, async (kind) => {
    const user = `queue-${kind}`;
    const sent = new Map<string, Buffer>();
    const arrive = (count: number): void => {
      for (let k = 0; k < count; k++) {
        const i = sent.size;
        const file = Buffer.from(`Subject: job-${i}\nFrom: sender@example.org\n\n${`payload ${i} \xe9\xff\n`.repeat(20 + (i % 200))}`, 'latin1');
        dovecot.deliver(user, file);
        sent.set(`job-${i}`, crlfToLf(dovecotServes(file)));
      }
    };
    arrive(MESSAGES);
    const out = ws.mkdir(`out-${kind}`);
    const config = ws.config({
      accounts: [
        {
          name: 'queue',
          host: '127.0.0.1',
          port: dovecot.port,
          tls: 'none',
          user,
          password: dovecot.users.get(user)!.password,
          retention: '0',
          deliver:
            kind === 'command'
              ? { command: 'cat > "$OUT/$PINCHMAIL_UIDL.$$.tmp" && mv "$OUT/$PINCHMAIL_UIDL.$$.tmp" "$OUT/$PINCHMAIL_UIDL.$$.eml"' }
              : { maildir: ws.path(`Maildir-${user}`) },
        },
      ],
    });
    const env = { OUT: out };
    const delivered = (): Buffer[] =>
      kind === 'maildir'
        ? ws.maildir(`Maildir-${user}`)
        : readdirSync(out)
            .filter((f) => f.endsWith('.eml'))
            .map((f) => readFileSync(`${out}/${f}`));
    const onServer = (): string[] => dovecot.contents(user).map(jobOf);

    const random = prng(20261122);
    let kills = 0;
    for (let round = 0; round < KILLS; round++) {
      // Mail keeps arriving, so there is always work for the next kill to interrupt
      // (more of it for the Maildir, which gets through it faster).
      arrive(kind === 'maildir' ? 400 : 40);
      const run = startCli(['-c', config, '-q'], env);
      await new Promise((r) => setTimeout(r, (kind === 'maildir' ? 50 : 100) + Math.floor(random() * (kind === 'maildir' ? 300 : 500))));
      run.kill('SIGKILL');
      const result = await run.result;
      if (result.signal === 'SIGKILL') kills++;
      // A killed run's delivery command may still be finishing; give it a moment.
      await new Promise((r) => setTimeout(r, 50));
      expectNoLoss({ sent, delivered: delivered(), onServer: onServer(), crashes: kills });
    }
    expect(kills).toBeGreaterThan(KILLS / 2);

    const final = await runCli(['-c', config], env);
    expect(final.code, final.stderr).toBe(0);
    expect(onServer()).toEqual([]);
    const { duplicates } = expectNoLoss({ sent, delivered: delivered(), onServer: [], crashes: kills, complete: true });
    // Maildir files are noted before they are placed, so an interrupted run is finished, not repeated.
    if (kind === 'maildir') expect(duplicates).toBe(0);
    recordOutcome({
      group: 'crash',
      fault: `SIGKILL at random instants, ${kills} runs, delivering to a ${kind}`,
      how: `Dovecot mailbox, ${sent.size} messages arriving (${kind === 'maildir' ? 400 : 40} per run), retention "0", each run killed ${kind === 'maildir' ? '0.05-0.35' : '0.1-0.6'} s after it starts, then a run that finishes`,
      lost: 0,
      duplicates,
      exit: 'SIGKILL, then 0',
      test: 'test/reliability/random-kill.dovecot.test.ts',
      note: kind === 'command' ? 'at most one duplicate per kill: the message whose command had finished when the run died' : 'no duplicates: files placed but not yet recorded are found and recorded by the next run',
    });
  });
});
