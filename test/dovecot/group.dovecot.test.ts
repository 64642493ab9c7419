import { expect, it } from 'vitest';
import { runCli, startCli, type CliResult } from '../support/cli.js';
import { crlfToLf, prng } from '../support/corpus.js';
import { dovecotServes, dovecotUnavailable } from '../support/dovecot.js';
import { describeIf, privateDovecotAndWorkspace } from '../support/dovecot-suite.js';
import { postgresUnavailable, privatePostgres } from '../support/postgres.js';

const SECOND = 1000;
const RETENTION_S = 60;

/**
 * A group on PostgreSQL as one consumer, against the private Dovecot: three members poll
 * one account at random (virtual) times while mail keeps arriving, some killed with
 * SIGKILL at random moments, with a retention of a minute; a fourth host on its own SQLite
 * polls beside them. At the end the group has delivered every message once (a duplicate at
 * most per kill), the peer every message once, and no message left the server before the
 * retention had passed since it arrived.
 */
describeIf('a group of three hosts on PostgreSQL, killed at random, and an SQLite peer', 'Dovecot and PostgreSQL tests', dovecotUnavailable() ?? postgresUnavailable(), () => {
  const suite = privateDovecotAndWorkspace(['jobs']);
  const postgres = privatePostgres();

  // Some 70 runs of the CLI: 20 s on an idle machine, more beside the rest of the suite on two cores.
  it('delivers every message once for the group and once for the peer, deleting only what retention allows', { timeout: 300_000 }, async () => {
    const dovecot = suite.dovecot();
    const ws = suite.ws();
    const random = prng(19);
    const url = await postgres().createDatabase();
    const password = dovecot.users.get('jobs')!.password;
    const account = (maildir: string, retention: string): Record<string, unknown> => ({
      name: 'jobs',
      host: '127.0.0.1',
      port: dovecot.port,
      tls: 'none',
      user: 'jobs',
      password,
      retention,
      deliver: { maildir: ws.path(maildir) },
    });
    const members = ['a', 'b', 'c'].map((m) => ws.config({ database: url, accounts: [account(`member-${m}`, `${RETENTION_S}s`)] }, `member-${m}.json`));
    const peer = ws.config({ database: ws.path('peer.sqlite'), accounts: [account('peer', 'never')] }, 'peer.json');

    // The clock every host is given (PINCHMAIL_TEST_NOW), moved on by each round: retention passes in seconds of test.
    let now = Date.now();
    const at = (): NodeJS.ProcessEnv => ({ PINCHMAIL_TEST_NOW: String(now) });
    const sent: { content: Buffer; arrived: number; uidl?: string }[] = [];
    let kills = 0;

    /** A member's run, SIGKILLed at a random moment of it one time in three. */
    const member = async (config: string): Promise<CliResult> => {
      const child = startCli(['-c', config], at());
      if (random() < 1 / 3) {
        const after = Math.floor(random() * 400);
        const timer = setTimeout(() => {
          if (child.exitCode === null && child.kill('SIGKILL')) kills++;
        }, after);
        const result = await child.result;
        clearTimeout(timer);
        return result;
      }
      return child.result;
    };

    const onServer = (): Set<string> => new Set(dovecot.contents('jobs').map((b) => crlfToLf(b).toString('latin1')));
    const checkRetention = (): void => {
      const there = onServer();
      for (const m of sent) {
        const served = crlfToLf(dovecotServes(m.content)).toString('latin1');
        // Gone from the server: only once a minute has passed since it arrived (first seen is no earlier).
        if (!there.has(served)) expect(now - m.arrived, `a message left the server ${(now - m.arrived) / SECOND}s after it arrived`).toBeGreaterThanOrEqual(RETENTION_S * SECOND);
      }
    };

    for (let round = 0; round < 16; round++) {
      const arriving = Math.floor(random() * 4);
      for (let i = 0; i < arriving; i++) {
        const n = sent.length;
        const content = Buffer.from(`From: sender@example.org\nSubject: job ${n}\nMessage-ID: <${n}@group.example>\n\nwork item ${n}\n`);
        dovecot.deliver('jobs', content);
        sent.push({ content, arrived: now });
      }
      // Each member polls this round or not, all at once when they do.
      const polling = members.filter(() => random() < 0.7);
      const results = await Promise.all(polling.map(member));
      for (const r of results) if (r.signal !== 'SIGKILL') expect([0, 75], r.stderr).toContain(r.code);
      checkRetention();
      const p = await runCli(['-c', peer], at());
      expect(p.code, p.stderr).toBe(0);
      now += Math.floor(random() * 25 * SECOND);
    }
    // Then every member once more, no kills, after the retention has passed for all: the group finishes its work.
    now += RETENTION_S * SECOND;
    for (const config of members) {
      const r = await runCli(['-c', config], at());
      expect(r.code, r.stderr).toBe(0);
    }
    checkRetention();
    expect((await runCli(['-c', peer], at())).code).toBe(0);

    const expected = sent.map((m) => crlfToLf(dovecotServes(m.content)).toString('latin1'));
    const group = ['a', 'b', 'c'].flatMap((m) => ws.maildir(`member-${m}`).map((b) => b.toString('latin1')));
    const counts = new Map<string, number>();
    for (const g of group) counts.set(g, (counts.get(g) ?? 0) + 1);
    for (const e of expected) expect(counts.get(e) ?? 0, 'a message the group never delivered').toBeGreaterThanOrEqual(1);
    const duplicates = group.length - new Set(group).size;
    expect(duplicates, `${duplicates} duplicates for ${kills} kills`).toBeLessThanOrEqual(kills);
    expect([...counts.keys()].sort()).toEqual([...new Set(expected)].sort());
    // The peer: every message exactly once.
    expect(ws.maildir('peer').map((b) => b.toString('latin1')).sort()).toEqual([...expected].sort());
    // All delivered by the group and past retention: the group deleted them all.
    expect(dovecot.contents('jobs')).toEqual([]);
    expect(sent.length).toBeGreaterThan(10);
    console.log(`group test: ${sent.length} messages, ${kills} kills, ${duplicates} duplicates`);
  });
});
