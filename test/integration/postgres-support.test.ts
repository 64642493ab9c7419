import { existsSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { expect, it } from 'vitest';
import { describePostgres, startPostgres } from '../support/postgres.js';

/** The private PostgreSQL of test/support/postgres.ts, which the PostgreSQL state-store tests stand on. */

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** The local addresses with a TCP socket listening on `port`, as the kernel lists them (/proc/net/tcp, tcp6). */
function listeningAddresses(port: number): string[] {
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (!local || state !== '0A') continue; // 0A: LISTEN
      const [hexAddr, hexPort] = local.split(':') as [string, string];
      if (parseInt(hexPort, 16) !== port) continue;
      if (hexAddr.length === 8) {
        // IPv4, the bytes in host (little-endian) order
        found.push(Buffer.from(hexAddr, 'hex').reverse().join('.'));
      } else {
        // IPv6, four little-endian 32-bit words; the URL parser writes it the short way (::1).
        const words = hexAddr.match(/.{8}/g)!.map((w) => Buffer.from(w, 'hex').reverse().toString('hex'));
        found.push(new URL(`http://[${words.join('').match(/.{4}/g)!.join(':')}]/`).hostname.replace(/^\[|\]$/g, ''));
      }
    }
  }
  return found;
}

async function refused(url: string): Promise<string> {
  const err = await query(url, 'SELECT 1').then(
    () => {
      throw new Error('expected the connection to fail');
    },
    (e: unknown) => e as NodeJS.ErrnoException,
  );
  return err.code ?? err.message;
}

describePostgres('a private PostgreSQL for tests', (pg_) => {
  it('gives fresh databases on a URL with the password of a role that is not a superuser', async () => {
    const server = pg_();
    const url = new URL(server.url);
    expect(url.protocol).toBe('postgresql:');
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.username).toBe('pinchmail');
    expect(url.password.length).toBeGreaterThanOrEqual(16);

    expect(await query(server.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    const [who] = await query<{ current_user: string; rolsuper: boolean; rolcreatedb: boolean }>(
      server.url,
      'SELECT current_user, rolsuper, rolcreatedb FROM pg_roles WHERE rolname = current_user',
    );
    expect(who).toEqual({ current_user: 'pinchmail', rolsuper: false, rolcreatedb: true });

    const a = await server.createDatabase();
    const b = await server.createDatabase('pm_named');
    expect(new URL(b).pathname).toBe('/pm_named');
    expect(a).not.toBe(b);
    for (const db of [a, b]) {
      expect(await query(db, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
      // Empty, and ours to build a schema in.
      expect(await query(db, "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'")).toEqual([{ n: 0 }]);
      await query(db, 'CREATE TABLE t (id int PRIMARY KEY)');
    }
    await query(a, 'INSERT INTO t VALUES (1)');
    expect(await query(b, 'SELECT count(*)::int AS n FROM t')).toEqual([{ n: 0 }]);

    // The password is checked (scram-sha-256), not trusted.
    const wrong = new URL(server.url);
    wrong.password = 'not-the-password';
    expect(await refused(wrong.href)).toBe('28P01');
  });

  it('listens on 127.0.0.1 only, its socket in its own directory, with fsync on', async () => {
    const server = pg_();
    expect(listeningAddresses(server.port)).toEqual(['127.0.0.1']);
    const settings = await query<{ name: string; setting: string }>(
      server.adminUrl,
      "SELECT name, setting FROM pg_settings WHERE name IN ('listen_addresses', 'unix_socket_directories', 'fsync', 'synchronous_commit', 'port')",
    );
    expect(Object.fromEntries(settings.map((s) => [s.name, s.setting]))).toEqual({
      listen_addresses: '127.0.0.1',
      unix_socket_directories: `${server.dir}/sock`,
      fsync: 'on',
      synchronous_commit: 'on',
      port: String(server.port),
    });
  });

  it('goes away on kill() and comes back on restart() with what was committed', async () => {
    const server = pg_();
    const db = await server.createDatabase();
    await query(db, 'CREATE TABLE kept (v text)');
    await query(db, "INSERT INTO kept VALUES ('committed')");

    const held = new pg.Client({ connectionString: db });
    await held.connect();
    // 'error' may come more than once (the reset, then the end); each must be handled.
    const lost = new Promise<Error>((resolve) => held.on('error', resolve));
    await server.kill();
    // A connection open at the time is cut, and new ones are refused.
    expect((await lost).message).toMatch(/terminated|ECONNRESET|Connection/i);
    expect(await refused(db)).toBe('ECONNREFUSED');
    expect(listeningAddresses(server.port)).toEqual([]);
    await held.end().catch(() => {});

    await server.restart();
    expect(await query(db, 'SELECT v FROM kept')).toEqual([{ v: 'committed' }]);
    expect(server.log()).toMatch(/database system was interrupted|not properly shut down/);

    // restart() on a running server: a clean restart, the same port.
    await server.restart();
    expect(await query(db, 'SELECT v FROM kept')).toEqual([{ v: 'committed' }]);
  });

  it('stop() leaves no server and no directory (a second server, beside the first)', async () => {
    const t0 = Date.now();
    const other = await startPostgres();
    const took = Date.now() - t0;
    process.stderr.write(`private PostgreSQL started in ${took} ms\n`);
    expect(other.port).not.toBe(pg_().port);
    expect(await query(other.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await other.stop();
    expect(existsSync(other.dir)).toBe(false);
    expect(await refused(other.url)).toBe('ECONNREFUSED');
    await other.stop(); // idempotent
    // The first is untouched.
    expect(await query(pg_().url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });
});
