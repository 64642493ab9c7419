import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuthMethod } from '../../src/pop3/auth.js';
import { Pop3Error } from '../../src/pop3/errors.js';
import { Pop3Session, messageBounds, type ConnectOptions } from '../../src/pop3/session.js';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { OTHER_CERT, PASSWORD, TLS, USER, fakeServer } from '../support/fake-pop3.js';

let server: DevPop3Server | undefined;
const sessions: Pop3Session[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) s.destroy();
  await server?.close();
  server = undefined;
});

async function connect(options: Partial<ConnectOptions> & { port: number }): Promise<Pop3Session> {
  const session = await Pop3Session.connect({ host: '127.0.0.1', tls: 'none', timeoutMs: 3_000, ...options });
  sessions.push(session);
  return session;
}

async function failure(promise: Promise<unknown>): Promise<Pop3Error> {
  const err = await promise.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Pop3Error);
  return err as Pop3Error;
}

describe('transport', () => {
  it('POP3S with the certificate verified against a CA file', async () => {
    server = fakeServer([Buffer.from('Subject: tls\r\n\r\n\xe9\r\n', 'latin1')]);
    const { port } = await server.listen('implicit');
    const session = await connect({ port, tls: 'implicit', tlsSettings: { ca: TLS.cert } });
    expect(session.secure).toBe(true);
    await session.login({ method: 'auto', user: USER, secret: PASSWORD, cleartextAllowed: session.secure });
    const [m] = await session.listMessages();
    const body: Buffer[] = [];
    await session.retrTo(1, { write: (chunk) => void body.push(Buffer.from(chunk)) }, { bounds: messageBounds(m!.size), uidl: m!.uidl });
    expect(Buffer.concat(body).toString('latin1')).toBe('Subject: tls\r\n\r\n\xe9\r\n');
    await session.quit();
  });

  it('STLS upgrades, and CAPA is read again afterwards', async () => {
    server = fakeServer([Buffer.from('x\r\n')]);
    const { port } = await server.listen('plain');
    const session = await connect({ port, tls: 'starttls', tlsSettings: { ca: TLS.cert, servername: 'localhost' } });
    expect(session.secure).toBe(true);
    expect(session.caps?.has('STLS')).toBe(false);
    await session.login({ method: 'auto', user: USER, secret: PASSWORD, cleartextAllowed: session.secure });
    expect(await session.listMessages()).toHaveLength(1);
  });

  it('STLS required but not offered is an error, never a downgrade', async () => {
    server = fakeServer();
    server.faults.without = ['STLS'];
    const { port } = await server.listen('plain');
    const err = await failure(connect({ port, tls: 'starttls', tlsSettings: { ca: TLS.cert } }));
    expect(err.code).toBe('TLS');
    expect(err.message).toMatch(/does not offer STLS/);
  });

  it('plaintext smuggled after the STLS reply is refused (compare CVE-2021-39272)', async () => {
    server = fakeServer();
    server.faults.script = ({ verb }) => (verb === 'STLS' ? { append: '+OK injected\r\n' } : undefined);
    const { port } = await server.listen('plain');
    const err = await failure(connect({ port, tls: 'starttls', tlsSettings: { ca: TLS.cert } }));
    expect(['PROTOCOL', 'TLS']).toContain(err.code);
  });

  it('an untrusted certificate fails, naming its fingerprint ready to pin', async () => {
    server = fakeServer();
    const { port } = await server.listen('implicit');
    const err = await failure(connect({ port, tls: 'implicit', tlsSettings: { ca: OTHER_CERT } }));
    expect(err.code).toBe('TLS');
    const { X509Certificate } = await import('node:crypto');
    const pin = `sha256:${new X509Certificate(TLS.cert).fingerprint256}`;
    expect(err.message).toMatch(/^the certificate of 127\.0\.0\.1 is not trusted \(self-signed\);/);
    expect(err.message).toContain(`"tlsOptions": { "fingerprint": "${pin}" }`);
    // The pin it names is one the config takes, and it works.
    expect((await connect({ port, tls: 'implicit', tlsSettings: { fingerprint: pin } })).secure).toBe(true);
  });

  it('the system store does not trust a self-signed certificate', async () => {
    server = fakeServer();
    const { port } = await server.listen('implicit');
    const err = await failure(connect({ port, tls: 'implicit' }));
    expect(err.code).toBe('TLS');
    expect(err.message).toContain('not trusted (self-signed)');
  });

  it('a certificate for another name fails the check, and says so', async () => {
    server = fakeServer();
    const { port } = await server.listen('implicit');
    const err = await failure(connect({ port, tls: 'implicit', tlsSettings: { ca: TLS.cert, servername: 'mail.example.com' } }));
    expect(err.code).toBe('TLS');
    expect(err.message).toMatch(/is not trusted \(issued for another name/);
  });

  it('a fingerprint pin accepts exactly that certificate', async () => {
    server = fakeServer();
    const { port } = await server.listen('implicit');
    const { X509Certificate } = await import('node:crypto');
    const good = new X509Certificate(TLS.cert).fingerprint256;
    const bad = new X509Certificate(OTHER_CERT).fingerprint256;
    const ok = await connect({ port, tls: 'implicit', tlsSettings: { fingerprint: `sha256:${good.toLowerCase()}` } });
    expect(ok.secure).toBe(true);
    const err = await failure(connect({ port, tls: 'implicit', tlsSettings: { fingerprint: `sha256:${bad}` } }));
    expect(err.code).toBe('TLS');
    expect(err.message).toMatch(/pinned fingerprint/);
  });

  it('insecure accepts any certificate, but only when asked', async () => {
    server = fakeServer();
    const { port } = await server.listen('implicit');
    expect((await connect({ port, tls: 'implicit', tlsSettings: { insecure: true } })).secure).toBe(true);
  });

  it('TLS spoken to a plain server is a TLS failure, not a hang, and says what to try, on one line', async () => {
    server = fakeServer();
    const { port } = await server.listen('plain');
    const err = await failure(connect({ port, tls: 'implicit', tlsSettings: { ca: TLS.cert } }));
    expect(err.code).toBe('TLS');
    expect(err.message).toBe(`127.0.0.1:${port} answered in plain text, not TLS: try "tls": "starttls" (or "none" where clear text is safe)`);
  });

  it('connection refused, and a name that does not resolve', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((r) => closed.close(r));
    expect((await failure(connect({ port }))).code).toBe('CONNECT');
    expect((await failure(connect({ host: 'no-such-host.invalid', port: 110 }))).code).toBe('DNS');
  });

  it('a server that accepts but never greets times out', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const err = await failure(connect({ port, timeoutMs: 200 }));
      expect(err.code).toBe('TIMEOUT');
    } finally {
      silent.close();
    }
  });
});

describe('authentication', () => {
  const methods: AuthMethod[] = ['user', 'apop', 'plain', 'login', 'cram-md5', 'xoauth2', 'oauthbearer'];

  for (const method of methods) {
    it(`${method}: logs in, and the secret never reaches the trace`, async () => {
      server = fakeServer([], { apop: true });
      const { port } = await server.listen('plain');
      const trace: string[] = [];
      const session = await connect({ port, trace: (d, t) => trace.push(`${d} ${t}`) });
      expect(await session.login({ method, user: USER, secret: PASSWORD, cleartextAllowed: true })).toBe(method);
      await session.quit();
      const all = trace.join('\n');
      expect(all).not.toContain(PASSWORD);
      expect(all).not.toContain(Buffer.from(PASSWORD).toString('base64').slice(0, 8));
    });

    it(`${method}: a wrong secret is an AUTH error that does not echo it`, async () => {
      server = fakeServer([], { apop: true });
      const { port } = await server.listen('plain');
      const session = await connect({ port });
      const err = await failure(session.login({ method, user: USER, secret: 'wrong-guess', cleartextAllowed: true }));
      expect(err.code).toBe('AUTH');
      expect(err.message).not.toContain('wrong-guess');
    });
  }

  it('auto prefers CRAM-MD5, then PLAIN, then USER', async () => {
    server = fakeServer();
    const { port } = await server.listen('plain');
    const login = async (): Promise<string> =>
      (await connect({ port })).login({ method: 'auto', user: USER, secret: PASSWORD, cleartextAllowed: true });
    expect(await login()).toBe('cram-md5');
    server.faults.sasl = ['LOGIN', 'PLAIN'];
    expect(await login()).toBe('plain');
    server.faults.without = ['SASL'];
    expect(await login()).toBe('user');
  });

  it('refuses to send a password in clear text when not allowed', async () => {
    server = fakeServer();
    server.faults.without = ['SASL'];
    const { port } = await server.listen('plain');
    const session = await connect({ port });
    const err = await failure(session.login({ method: 'auto', user: USER, secret: PASSWORD, cleartextAllowed: false }));
    expect(err.code).toBe('INSECURE');
    const explicit = await failure(
      (await connect({ port })).login({ method: 'plain', user: USER, secret: PASSWORD, cleartextAllowed: false }),
    );
    expect(explicit.code).toBe('INSECURE');
  });

  it('without cleartext, auto still logs in with CRAM-MD5', async () => {
    server = fakeServer();
    const { port } = await server.listen('plain');
    const session = await connect({ port });
    expect(await session.login({ method: 'auto', user: USER, secret: PASSWORD, cleartextAllowed: false })).toBe('cram-md5');
  });

  it('a long XOAUTH2 token goes after the first challenge (RFC 5034 line limit)', async () => {
    server = fakeServer();
    const token = 'ya29.'.padEnd(600, 'x');
    server.store.addUser('bob', token);
    const { port } = await server.listen('plain');
    const trace: string[] = [];
    const session = await connect({ port, trace: (d, t) => trace.push(`${d} ${t}`) });
    await session.login({ method: 'xoauth2', user: 'bob', secret: token, cleartextAllowed: true });
    expect(trace).toContain('send AUTH XOAUTH2');
    expect(trace.join('\n')).not.toContain('xxxxxxxx');
  });
});

it('TLS certificate material is loaded from the fixtures', () => {
  expect(TLS.key.toString()).toContain('PRIVATE KEY');
});
