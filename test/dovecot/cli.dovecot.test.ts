import { readdirSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { Workspace, logMessages, runCli, startCli } from '../support/cli.js';
import { corpus, crlfToLf } from '../support/corpus.js';
import { dovecotServes, startDovecot, type Dovecot } from '../support/dovecot.js';
import { describeWithDovecot } from '../support/dovecot-suite.js';
import { until } from '../support/until.js';

/**
 * The built bin/pinchmail, run as a user would, against a real Dovecot, with real
 * procmail writing into a Maildir.
 */
describeWithDovecot('pinchmail end to end: Dovecot and procmail', () => {
  let dovecot: Dovecot;
  let ws: Workspace;
  let users = 0;
  const files = Object.values(corpus);

  beforeAll(async () => {
    dovecot = await startDovecot(Array.from({ length: 12 }, (_, i) => `user${i}`));
  });
  afterAll(async () => {
    await dovecot?.stop();
  });
  beforeEach(() => {
    ws = new Workspace();
  });
  afterEach(() => {
    ws.remove();
  });

  /** A Dovecot user of its own for each test, seeded with `messages`. */
  function mailbox(messages: Buffer[]): { user: string; password: string } {
    const user = `user${users++}`;
    for (const m of messages) dovecot.deliver(user, m);
    return { user, password: dovecot.users.get(user)!.password };
  }

  function procmail(maildir: string): string[] {
    const rc = ws.path(`${maildir}.procmailrc`);
    writeFileSync(rc, `LOGFILE=${ws.path(`${maildir}.log`)}\n:0\n${ws.path(maildir)}/\n`);
    return ['/usr/bin/procmail', '-m', rc];
  }

  function account(box: { user: string; password: string }, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      name: 'jobs',
      host: '127.0.0.1',
      port: dovecot.popsPort,
      tls: 'implicit',
      tlsOptions: { ca: dovecot.caFile },
      user: box.user,
      password: { env: 'POP_PASSWORD' },
      deliver: { command: procmail('Maildir') },
      ...extra,
    };
  }

  const stored = (user: string): number => dovecot.stored(user).length;

  for (const tls of ['implicit', 'starttls', 'none'] as const) {
    it(`procmail gets every message byte for byte as Dovecot holds it (tls ${tls}); a second run delivers nothing`, async () => {
      const box = mailbox(files);
      const config = ws.config({ accounts: [account(box, { tls, port: tls === 'implicit' ? dovecot.popsPort : dovecot.port })] });
      const env = { POP_PASSWORD: box.password };
      const first = await runCli(['-c', config], env);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toBe(`jobs: ${files.length} delivered, 0 deleted, ${files.length} left on server\n`);
      expect(ws.maildir('Maildir')).toEqual(files.map((f) => crlfToLf(dovecotServes(f))).sort(Buffer.compare));
      const second = await runCli(['-c', config], env);
      expect(second.stdout).toBe(`jobs: 0 delivered, 0 deleted, ${files.length} left on server\n`);
      expect(ws.maildir('Maildir')).toHaveLength(files.length);
      expect(stored(box.user)).toBe(files.length);
    });
  }

  it('a short retention deletes exactly what the dry run listed', async () => {
    const box = mailbox(files.slice(0, 4));
    const config = ws.config({ accounts: [account(box, { retention: '2s' })] });
    const T = Date.now();
    const env = (ms: number): NodeJS.ProcessEnv => ({ POP_PASSWORD: box.password, PINCHMAIL_TEST_NOW: String(T + ms) });
    expect((await runCli(['-c', config], env(0))).code).toBe(0);
    dovecot.deliver(box.user, Buffer.from('Subject: arrived later\n\nstays\n'));
    const dry = JSON.parse((await runCli(['-c', config, '--dry-run', '--json'], env(2_100))).stdout).accounts[0];
    expect(dry.delete).toHaveLength(4);
    expect(stored(box.user)).toBe(5);
    const real = JSON.parse((await runCli(['-c', config, '--json'], env(2_100))).stdout).accounts[0];
    expect(real.delete.map((d: { uidl: string }) => d.uidl)).toEqual(dry.delete.map((d: { uidl: string }) => d.uidl));
    expect(real).toMatchObject({ delivered: 1, deleted: 4, onServer: 5 });
    expect(stored(box.user)).toBe(1);
    expect(ws.maildir('Maildir')).toHaveLength(5);
  });

  it('two peer hosts with their own databases each deliver every message once, then the server empties', async () => {
    const first = files.slice(0, 5);
    const box = mailbox(first);
    const env = { POP_PASSWORD: box.password };
    const peer = (name: string): string =>
      ws.config(
        { database: ws.path(`${name}.sqlite`), accounts: [account(box, { retention: '3s', deliver: { command: procmail(name) } })] },
        `${name}.json`,
      );
    const a = peer('hostA');
    const b = peer('hostB');
    const T = Date.now();
    const at = (ms: number): NodeJS.ProcessEnv => ({ ...env, PINCHMAIL_TEST_NOW: String(T + ms) });
    for (const config of [a, b]) expect((await runCli(['-c', config], at(0))).code).toBe(0);
    const later = [Buffer.from('Subject: six\n\n6\n'), Buffer.from('Subject: seven\n\n7\n')];
    for (const m of later) dovecot.deliver(box.user, m);
    for (const config of [a, b]) expect((await runCli(['-c', config], at(500))).code).toBe(0);
    // Past the retention of the later ones too, by the runs' clock.
    for (const config of [a, b]) expect((await runCli(['-c', config], at(3_600))).code).toBe(0);
    const want = [...first, ...later].map((f) => crlfToLf(dovecotServes(f))).sort(Buffer.compare);
    expect(ws.maildir('hostA')).toEqual(want);
    expect(ws.maildir('hostB')).toEqual(want);
    expect(stored(box.user)).toBe(0);
  });

  it('exit 69: the certificate is not trusted, or nothing listens', async () => {
    const box = mailbox([]);
    const env = { POP_PASSWORD: box.password };
    const untrusted = await runCli(['-c', ws.config({ accounts: [account(box, { tlsOptions: {} })] })], env);
    expect(untrusted.code).toBe(69);
    expect(logMessages(untrusted.stderr)[0]).toMatch(/^server unavailable: the certificate of 127\.0\.0\.1 is not trusted \(self-signed\); .*"fingerprint": "sha256:[0-9A-F:]{95}"/);
    const closed = await runCli(['-c', ws.config({ accounts: [account(box, { port: 1 })] }, 'closed.json')], env);
    expect(closed.code).toBe(69);
  });

  it('exit 77: Dovecot refuses the password', async () => {
    const box = mailbox(files.slice(0, 1));
    const run = await runCli(['-c', ws.config({ accounts: [account(box)] })], { POP_PASSWORD: 'wrong' });
    expect(run.code).toBe(77);
    expect(logMessages(run.stderr)).toEqual([expect.stringMatching(/^authentication failed: login as user\d+ \(cram-md5\) refused: \[AUTH\] Authentication failed/)]);
    expect(stored(box.user)).toBe(1);
  });

  it('exit 76: pointed at an IMAP port by mistake', async () => {
    const box = mailbox([]);
    const run = await runCli(['-c', ws.config({ accounts: [account(box, { port: dovecot.imapPort, tls: 'none' })] })], { POP_PASSWORD: box.password });
    expect(run.code).toBe(76);
    expect(logMessages(run.stderr)[0]).toMatch(/^protocol error: not a POP3 reply to greeting: "\* OK/);
  });

  it('exit 75: procmail cannot deliver; the messages stay on the server and arrive once it can', async () => {
    const box = mailbox(files.slice(0, 3));
    const env = { POP_PASSWORD: box.password };
    const rc = ws.path('broken.procmailrc');
    writeFileSync(rc, `:0\n/nonexistent/dir/Maildir/\n`);
    const config = ws.config({ accounts: [account(box, { retention: '0', deliver: { command: ['/usr/bin/procmail', '-m', rc] } })] });
    const run = await runCli(['-c', config, '--json'], env);
    expect(run.code).toBe(75);
    expect(JSON.parse(run.stdout).accounts[0]).toMatchObject({ delivered: 0, failed: 3, deleted: 0 });
    expect(stored(box.user)).toBe(3);
    writeFileSync(rc, `:0\n${ws.path('Maildir')}/\n`);
    const fixed = await runCli(['-c', config], env);
    expect(fixed.code).toBe(0);
    expect(ws.maildir('Maildir')).toHaveLength(3);
    expect(stored(box.user)).toBe(0);
  });

  it('exit 75: another run holds the account', async () => {
    const box = mailbox(files.slice(0, 2));
    const env = { POP_PASSWORD: box.password };
    const slow = ws.slowCommand();
    const config = ws.config({ accounts: [account(box, { deliver: slow.deliver })] });
    const first = startCli(['-c', config], env);
    // Held inside its first delivery, with the lock, until released.
    await until(() => readdirSync(slow.out).length > 0, 20_000, 'the first run delivering');
    const second = await runCli(['-c', config], env);
    expect(second.code).toBe(75);
    expect(logMessages(second.stderr)).toEqual(['skipped: another pinchmail run is working on this account (exit 75)']);
    slow.release();
    expect((await first.result).code).toBe(0);
  });

  it('exit 78, 64 and 70: a bad config, a bad flag, a damaged state database', async () => {
    const box = mailbox(files.slice(0, 1));
    const env = { POP_PASSWORD: box.password };
    const bad = await runCli(['-c', ws.config({ accounts: [account(box, { retention: 'seven' })] })], env);
    expect(bad.code).toBe(78);
    expect((await runCli(['-c', ws.config({ accounts: [account(box)] }), '--no-such-flag'], env)).code).toBe(64);
    const damaged = ws.config({ database: ws.path('damaged.sqlite'), accounts: [account(box)] }, 'damaged.json');
    writeFileSync(ws.path('damaged.sqlite'), 'this is not an SQLite database, it is a text file that got in the way\n'.repeat(100));
    const run = await runCli(['-c', damaged], env);
    expect(run.code).toBe(70);
    expect(logMessages(run.stderr)[0]).toContain('damaged or not a pinchmail database');
    expect(stored(box.user)).toBe(1);
  });

  it('check --connect logs in to Dovecot and shows its capabilities', async () => {
    const box = mailbox([]);
    const run = await runCli(['-c', ws.config({ accounts: [account(box)] }), 'check', '--connect'], { POP_PASSWORD: box.password });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/connect +ok: logged in with cram-md5 over TLS; server offers .*UIDL/);
    // Dovecot lists SASL only before login; check keeps what it offered, and names the certificate to pin.
    expect(run.stdout).toMatch(/sasl +.*CRAM-MD5.* \(offered before login\)/);
    expect(run.stdout).toMatch(/certificate sha256:[0-9A-F:]{95} \(verified; to pin it: "tlsOptions": \{ "fingerprint": "sha256:/);
    expect(run.stdout).not.toContain(box.password);
    // Offline, nothing has been verified yet, and check does not say it was.
    const offline = await runCli(['-c', ws.config({ accounts: [account(box)] }, 'offline.json'), 'check'], { POP_PASSWORD: box.password });
    expect(offline.stdout).toMatch(/tls implicit, certificate to be verified against /);
    expect(offline.stdout).not.toMatch(/certificate verified/);
  });
});
