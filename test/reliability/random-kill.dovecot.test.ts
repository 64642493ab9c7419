import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Workspace, runCli, startCli } from '../support/cli.js';
import { crlfToLf, prng } from '../support/corpus.js';
import { dovecotServes, startDovecot, type Dovecot } from '../support/dovecot.js';
import { describeWithDovecot } from '../support/dovecot-suite.js';
import { readMbox } from '../support/mbox.js';
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
    dovecot = await startDovecot(['queue-command', 'queue-maildir', 'queue-mbox']);
    ws = new Workspace();
  });
  afterAll(async () => {
    await dovecot?.stop();
    ws?.remove();
  });

  /** How much mail arrives before each run, and when within it the run is killed (ms): a Maildir gets through mail fastest. */
  const pace = { command: { arrive: 40, from: 100, spread: 500 }, maildir: { arrive: 400, from: 50, spread: 300 }, mbox: { arrive: 150, from: 50, spread: 400 } };

  it.each(['command', 'maildir', 'mbox'] as const)(`%s: ${KILLS} runs killed at random instants, then one that finishes: nothing lost, no truncated copy, at most one duplicate per kill`, async (kind) => {
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
              : kind === 'mbox'
                ? { mbox: ws.path('queue.mbox') }
                : { maildir: ws.path(`Maildir-${user}`) },
        },
      ],
    });
    const env = { OUT: out };
    const inMbox = (): Buffer[] => (existsSync(ws.path('queue.mbox')) ? readMbox(ws.path('queue.mbox')).map((m) => m.message) : []);
    const delivered = (): Buffer[] => {
      if (kind === 'maildir') return ws.maildir(`Maildir-${user}`);
      if (kind === 'mbox') return inMbox();
      return readdirSync(out)
        .filter((f) => f.endsWith('.eml'))
        .map((f) => readFileSync(`${out}/${f}`));
    };
    /**
     * Between runs: a run killed part way through an mbox append leaves that message cut off
     * at the end of the file, until the next run's recovery cuts it away (the final check
     * sees none); it must be the start of a message sent, and is not counted.
     */
    const deliveredSoFar = (): Buffer[] => {
      const copies = delivered();
      const last = copies.at(-1);
      if (kind !== 'mbox' || !last || [...sent.values()].some((m) => m.equals(last))) return copies;
      expect([...sent.values()].some((m) => m.length > last.length && m.subarray(0, last.length).equals(last)), 'the cut-off copy is the start of a message').toBe(true);
      return copies.slice(0, -1);
    };
    const onServer = (): string[] => dovecot.contents(user).map(jobOf);

    const random = prng(20261122);
    let kills = 0;
    for (let round = 0; round < KILLS; round++) {
      // Mail keeps arriving, so there is always work for the next kill to interrupt
      // (more of it for the Maildir, which gets through it faster).
      arrive(pace[kind].arrive);
      const run = startCli(['-c', config, '-q'], env);
      await new Promise((r) => setTimeout(r, pace[kind].from + Math.floor(random() * pace[kind].spread)));
      run.kill('SIGKILL');
      const result = await run.result;
      if (result.signal === 'SIGKILL') kills++;
      // A killed run's delivery command may still be finishing; give it a moment.
      await new Promise((r) => setTimeout(r, 50));
      expectNoLoss({ sent, delivered: deliveredSoFar(), onServer: onServer(), crashes: kills });
    }
    expect(kills).toBeGreaterThan(KILLS / 2);

    const final = await runCli(['-c', config], env);
    expect(final.code, final.stderr).toBe(0);
    expect(onServer()).toEqual([]);
    const { duplicates } = expectNoLoss({ sent, delivered: delivered(), onServer: [], crashes: kills, complete: true });
    // Maildir files and mbox appends are noted before they are made, so an interrupted run is finished, not repeated.
    if (kind !== 'command') expect(duplicates).toBe(0);
    recordOutcome({
      group: 'crash',
      fault: `SIGKILL at random instants, ${kills} runs, delivering to a ${kind}`,
      how: `Dovecot mailbox, ${sent.size} messages arriving (${pace[kind].arrive} per run), retention "0", each run killed ${pace[kind].from / 1000}-${(pace[kind].from + pace[kind].spread) / 1000} s after it starts, then a run that finishes`,
      lost: 0,
      duplicates,
      exit: 'SIGKILL, then 0',
      test: 'test/reliability/random-kill.dovecot.test.ts',
      note:
        kind === 'command'
          ? 'at most one duplicate per kill: the message whose command had finished when the run died'
          : kind === 'mbox'
            ? 'no duplicates, no cut-off copy left: an append noted but not recorded is found (or cut away) by the next run'
            : 'no duplicates: files placed but not yet recorded are found and recorded by the next run',
    });
  });
});
