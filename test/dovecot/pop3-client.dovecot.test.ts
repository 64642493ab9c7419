import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AuthMethod } from '../../src/pop3/auth.js';
import { Pop3Session, type TlsMode } from '../../src/pop3/session.js';
import { corpus, crlfToLf } from '../support/corpus.js';
import { dovecotServes, startDovecot, type Dovecot } from '../support/dovecot.js';
import { describeWithDovecot } from '../support/dovecot-suite.js';
import { readAll } from '../support/fake-pop3.js';
import { readFileSync } from 'node:fs';

describeWithDovecot('POP3 client against a real Dovecot', () => {
  let dovecot: Dovecot;
  const files = Object.values(corpus);

  beforeAll(async () => {
    dovecot = await startDovecot(['alice', 'bulk']);
    for (const file of files) dovecot.deliver('alice', file);
    for (let i = 0; i < 300; i++) dovecot.deliver('bulk', Buffer.from(`Subject: ${i}\n\n${'line\n'.repeat(i % 50)}`));
  });
  afterAll(async () => {
    await dovecot?.stop();
  });

  async function open(tls: TlsMode, user = 'alice', lineEnds: 'crlf' | 'lf' = 'crlf'): Promise<Pop3Session> {
    const session = await Pop3Session.connect({
      host: dovecot.host,
      port: tls === 'implicit' ? dovecot.popsPort : dovecot.port,
      tls,
      tlsSettings: { ca: readFileSync(dovecot.caFile) },
      timeoutMs: 10_000,
      lineEnds,
    });
    await session.login({ method: 'auto', user, secret: dovecot.users.get(user)!.password, cleartextAllowed: true });
    return session;
  }

  for (const tls of ['none', 'implicit', 'starttls'] as const) {
    it(`the corpus arrives byte for byte over tls=${tls}`, async () => {
      for (const lineEnds of ['crlf', 'lf'] as const) {
        const session = await open(tls, 'alice', lineEnds);
        expect(session.secure).toBe(tls !== 'none');
        const messages = await session.listMessages();
        expect(messages).toHaveLength(files.length);
        const bodies = messages.map((m) => session.retr(m.msgNo, m.size));
        for (const [i, body] of bodies.entries()) {
          const served = dovecotServes(files[i]!);
          const want = lineEnds === 'lf' ? crlfToLf(served) : served;
          const got = await readAll(await body);
          expect(got.equals(want), `message ${i + 1} (${Object.keys(corpus)[i]})`).toBe(true);
        }
        await session.quit();
      }
    });
  }

  it('LIST sizes are the sizes of what RETR delivers', async () => {
    const session = await open('none');
    for (const m of await session.listMessages()) {
      const body = await readAll(await session.retr(m.msgNo, m.size));
      // Dovecot counts the CRLF it adds to an empty message in RETR but not in LIST.
      expect(body.length - m.size).toBeLessThanOrEqual(2);
    }
    await session.quit();
  });

  for (const method of ['user', 'plain', 'login', 'cram-md5', 'apop'] as AuthMethod[]) {
    it(`logs in with ${method}, and a wrong password is an AUTH error`, async () => {
      const connect = (): Promise<Pop3Session> => Pop3Session.connect({ host: dovecot.host, port: dovecot.port, tls: 'none' });
      const good = await connect();
      await good.login({ method, user: 'alice', secret: dovecot.users.get('alice')!.password, cleartextAllowed: true });
      await good.quit();
      const bad = await connect();
      await expect(bad.login({ method, user: 'alice', secret: 'nope', cleartextAllowed: true })).rejects.toMatchObject({ code: 'AUTH' });
      bad.destroy();
    });
  }

  it('pipelines 300 RETRs and then DELE + RSET', async () => {
    const session = await open('implicit', 'bulk');
    expect(session.caps?.has('PIPELINING')).toBe(true);
    const messages = await session.listMessages();
    expect(messages).toHaveLength(300);
    const bodies = messages.map((m) => session.retr(m.msgNo, m.size));
    const seen = new Set<number>();
    for (const body of bodies) {
      const text = (await readAll(await body)).toString();
      const i = Number(/^Subject: (\d+)/.exec(text)?.[1]);
      expect(text).toBe(`Subject: ${i}\r\n\r\n${'line\r\n'.repeat(i % 50)}`);
      seen.add(i);
    }
    expect(seen.size).toBe(300);
    await Promise.all(messages.map((m) => session.dele(m.msgNo)));
    await session.rset();
    await session.quit();
    expect(dovecot.stored('bulk')).toHaveLength(300);
  });
});
