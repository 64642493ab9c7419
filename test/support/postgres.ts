import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { describeIf } from './dovecot-suite.js';
import { freePort } from './free-port.js';

/**
 * A private PostgreSQL for tests, from the distribution's packages (Debian's
 * `postgresql`, its binaries under /usr/lib/postgresql/VERSION/bin): a cluster made by
 * initdb in a fresh temp dir, listening on 127.0.0.1 only, on a free port, its unix
 * socket in that dir, run as a child of the test process. PostgreSQL refuses to run as
 * root: as root, it runs as the `postgres` system user the package creates (setpriv);
 * otherwise as the current user. Authentication is scram-sha-256 everywhere, so the URL
 * the tests get carries a password, as production's would.
 *
 * Never left running: stop() in afterAll (privatePostgres/describePostgres), a
 * process 'exit' handler, and the parent-death signal (setpriv --pdeathsig KILL) should
 * the test process die without running either.
 */

export interface Postgres {
  /** postgresql://pinchmail:PASSWORD@127.0.0.1:PORT/pinchmail: the role pinchmail (LOGIN, CREATEDB, no superuser) on its own database. */
  url: string;
  /** The same server as its superuser (postgres), for what the application role may not do (pg_terminate_backend, ...). */
  adminUrl: string;
  host: '127.0.0.1';
  port: number;
  /** The temp dir holding the cluster (data/), its socket directory (sock/) and its log (server.log). */
  dir: string;
  /** A fresh empty database owned by pinchmail (named `name`, or a unique name): its URL. */
  createDatabase(name?: string): Promise<string>;
  /** The server's log so far. */
  log(): string;
  /** Stops the server at once (immediate shutdown) and removes its dir. Idempotent. */
  stop(): Promise<void>;
  /**
   * The database goes away: SIGKILL to the postmaster and to every process of the
   * cluster, as a crash would leave it; the server stays down (connections are refused)
   * until restart().
   */
  kill(): Promise<void>;
  /**
   * Starts the server again on the same port and data: after kill(), through crash
   * recovery (what was committed is there); when running, after a fast shutdown.
   */
  restart(): Promise<void>;
}

const ROLE = 'pinchmail';
const SUPERUSER = 'postgres';
/** The system user the server runs as when the tests run as root. */
const RUN_AS_USER = 'postgres';
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

const AS_ROOT = process.getuid?.() === 0;

function numericVersion(v: string): number {
  const [major = '0', minor = '0'] = v.split('.');
  return Number(major) * 1000 + Number(minor);
}

/** The directory holding initdb and postgres: Debian's newest, else one on PATH. */
function findBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  let versions: string[] = [];
  try {
    versions = readdirSync(root).filter((v) => /^\d+(\.\d+)?$/.test(v));
  } catch {
    // not Debian's layout, or not installed
  }
  versions.sort((a, b) => numericVersion(b) - numericVersion(a));
  const candidates = [...versions.map((v) => path.join(root, v, 'bin')), ...(process.env.PATH ?? '').split(':').filter(Boolean)];
  return candidates.find((d) => ['initdb', 'postgres'].every((b) => existsSync(path.join(d, b)))) ?? null;
}

const hasSetpriv = (): boolean => spawnSync('setpriv', ['--version']).status === 0;

function runAsIds(): { uid: number; gid: number } | null {
  const uid = spawnSync('id', ['-u', RUN_AS_USER], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', RUN_AS_USER], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return null;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** setpriv's arguments that run a command as the server's user, dying with the test process. */
function runAsPrefix(): string[] {
  return [...(AS_ROOT ? [`--reuid=${RUN_AS_USER}`, `--regid=${RUN_AS_USER}`, '--init-groups'] : []), '--pdeathsig', 'KILL', '--'];
}

/** Where the temp dirs go: os.tmpdir() when the server's user can reach it, else /tmp. */
function baseDir(): string | null {
  const candidates = [...new Set([os.tmpdir(), '/tmp'])];
  if (!AS_ROOT) return candidates[0]!;
  return candidates.find((d) => spawnSync('setpriv', [...runAsPrefix(), 'test', '-x', d]).status === 0) ?? null;
}

let checked: { why: string | null; binDir: string; base: string; ids: { uid: number; gid: number } | null } | undefined;

function check(): NonNullable<typeof checked> {
  if (checked) return checked;
  const fail = (why: string) => (checked = { why, binDir: '', base: '', ids: null });
  const binDir = findBinDir();
  if (!binDir) {
    return fail('PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin nor on PATH; apt-get install postgresql)');
  }
  if (!hasSetpriv()) return fail('setpriv (util-linux) is missing: it runs the private PostgreSQL');
  let ids: { uid: number; gid: number } | null = null;
  if (AS_ROOT) {
    ids = runAsIds();
    if (!ids) return fail(`PostgreSQL refuses to run as root, and there is no "${RUN_AS_USER}" user to run it as (Debian's postgresql package creates it)`);
  }
  const base = baseDir();
  if (!base) return fail(`the "${RUN_AS_USER}" user cannot enter ${os.tmpdir()} nor /tmp, where the private PostgreSQL would live`);
  return (checked = { why: null, binDir, base, ids });
}

/** Why a private PostgreSQL cannot be started here, or null when it can. */
export function postgresUnavailable(): string | null {
  return check().why;
}

/** What PostgreSQL's processes get: no PG* variables of the caller's to change what they do. */
function serverEnv(dir: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, LANG: 'C', LC_ALL: 'C' };
}

function runToEnd(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

/** The processes whose working directory is `dataDir`: every process of a cluster (the postmaster chdirs there; its children are forked). */
function clusterProcesses(dataDir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) === dataDir) pids.push(Number(entry));
    } catch {
      // gone, a zombie, or not ours to look at
    }
  }
  return pids;
}

function killCluster(dataDir: string): number[] {
  const pids = clusterProcesses(dataDir);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return pids;
}

/** SIGKILLs every process of the cluster, again until none is left (zombies count as gone: their memory and files are released). */
async function killClusterAndWait(dataDir: string): Promise<void> {
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (killCluster(dataDir).length > 0) {
    if (Date.now() > deadline) throw new Error(`processes of the PostgreSQL in ${dataDir} survive SIGKILL: ${clusterProcesses(dataDir).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Servers of this process not stopped yet, for the 'exit' handler. */
const live = new Map<string, { dataDir: string; child: () => ChildProcess | null }>();
let exitHandlerInstalled = false;

function cleanUpAtExit(): void {
  for (const [dir, server] of live) {
    try {
      server.child()?.kill('SIGKILL');
      killCluster(server.dataDir);
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // best effort: the process is exiting
    }
  }
  live.clear();
}

function quoteConf(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function urlFor(user: string, password: string, port: number, database: string): string {
  return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

class PortInUse extends Error {}

export async function startPostgres(): Promise<Postgres> {
  const { why, binDir, base, ids } = check();
  if (why !== null) throw new Error(`cannot start a private PostgreSQL: ${why}`);

  const dir = realpathSync(mkdtempSync(path.join(base, 'pinchmail-pg-')));
  const dataDir = path.join(dir, 'data');
  const sockDir = path.join(dir, 'sock');
  const logFile = path.join(dir, 'server.log');
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let stopped = false;
  live.set(dir, { dataDir, child: () => child });
  if (!exitHandlerInstalled) {
    process.on('exit', cleanUpAtExit);
    exitHandlerInstalled = true;
  }

  const own = (p: string): void => {
    if (ids) chownSync(p, ids.uid, ids.gid);
  };
  const env = serverEnv(dir);

  try {
    chmodSync(dir, 0o700);
    own(dir);
    mkdirSync(sockDir, { mode: 0o700 });
    own(sockDir);
    writeFileSync(logFile, '', { mode: 0o600 });

    const superPassword = randomBytes(18).toString('hex');
    const password = randomBytes(18).toString('hex');
    const pwFile = path.join(dir, 'pwfile');
    writeFileSync(pwFile, `${superPassword}\n`, { mode: 0o600 });
    own(pwFile);
    const initdb = await runToEnd(
      'setpriv',
      [
        ...runAsPrefix(),
        path.join(binDir, 'initdb'),
        '--pgdata', dataDir,
        '--username', SUPERUSER,
        '--auth', 'scram-sha-256',
        '--pwfile', pwFile,
        '--encoding', 'UTF8',
        '--locale', 'C',
        // The cluster is thrown away with the test: initdb's own fsyncs would only cost
        // time. The server itself runs with fsync on.
        '--no-sync',
      ],
      { cwd: dir, env },
    );
    rmSync(pwFile);
    if (initdb.code !== 0) throw new Error(`initdb failed (${initdb.code}):\n${initdb.output}`);

    // A unix socket path is limited to 107 bytes: with a long temp dir, TCP only.
    const socketDirs = Buffer.byteLength(path.join(sockDir, '.s.PGSQL.65535')) <= 107 ? sockDir : '';
    writeFileSync(
      path.join(dataDir, 'postgresql.conf'),
      `${readFileSync(path.join(dataDir, 'postgresql.conf'), 'utf8')}
# pinchmail tests (test/support/postgres.ts); the port is given on the command line.
listen_addresses = '127.0.0.1'
unix_socket_directories = ${quoteConf(socketDirs)}
unix_socket_permissions = 0700
max_connections = 50
shared_buffers = 16MB
huge_pages = off
# Durability is under test: what a commit returns is on disk.
fsync = on
synchronous_commit = on
full_page_writes = on
logging_collector = off
log_destination = 'stderr'
log_line_prefix = '%m [%p] %q%u@%d '
`,
      { flag: 'w' },
    );

    const launch = async (port: number): Promise<void> => {
      const from = statSync(logFile).size;
      const fd = openSync(logFile, 'a');
      let started: ChildProcess;
      try {
        started = spawn('setpriv', [...runAsPrefix(), path.join(binDir, 'postgres'), '-D', dataDir, '-p', String(port)], {
          cwd: dir,
          env,
          stdio: ['ignore', fd, fd],
        });
      } finally {
        closeSync(fd);
      }
      let spawnError: Error | undefined;
      started.once('error', (err) => (spawnError = err));
      child = started;
      exited = new Promise((resolve) => started.once('exit', () => resolve()));
      const deadline = Date.now() + READY_TIMEOUT_MS;
      const adminUrl = urlFor(SUPERUSER, superPassword, port, 'postgres');
      for (;;) {
        if (spawnError) throw new Error(`could not start postgres: ${spawnError.message}`);
        if (started.exitCode !== null || started.signalCode !== null) {
          child = null;
          const said = readFileSync(logFile, 'utf8').slice(from);
          if (/could not bind|Address already in use|could not create any TCP\/IP sockets/.test(said)) throw new PortInUse(said);
          throw new Error(`postgres exited (${started.exitCode ?? started.signalCode}) before accepting connections:\n${said.slice(-3000)}`);
        }
        try {
          await withClient(adminUrl, (c) => c.query('SELECT 1'));
          return;
        } catch (err) {
          if (Date.now() > deadline) {
            started.kill('SIGKILL');
            throw new Error(`postgres did not accept connections on 127.0.0.1:${port} within ${READY_TIMEOUT_MS} ms (${(err as Error).message}):\n${readFileSync(logFile, 'utf8').slice(from).slice(-3000)}`);
          }
          await new Promise((resolve) => setTimeout(resolve, 15));
        }
      }
    };

    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await launch(port);
        break;
      } catch (err) {
        // Another process took the free port between freePort and the bind: another one.
        if (!(err instanceof PortInUse) || attempt >= 5) throw err;
        await killClusterAndWait(dataDir);
      }
    }

    const adminUrl = urlFor(SUPERUSER, superPassword, port, 'postgres');
    await withClient(adminUrl, async (c) => {
      await c.query(`CREATE ROLE ${ROLE} LOGIN CREATEDB PASSWORD '${password}'`);
      await c.query(`CREATE DATABASE ${ROLE} OWNER ${ROLE}`);
    });
    const url = urlFor(ROLE, password, port, ROLE);

    const shutDown = async (signal: NodeJS.Signals): Promise<void> => {
      const running = child;
      if (running && running.exitCode === null && running.signalCode === null) {
        running.kill(signal);
        const timer = setTimeout(() => running.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      child = null;
      // What the postmaster leaves (a backend that outlives a SIGKILLed postmaster).
      await killClusterAndWait(dataDir);
    };

    let databases = 0;
    return {
      url,
      adminUrl,
      host: '127.0.0.1',
      port,
      dir,
      async createDatabase(name) {
        if (stopped) throw new Error('this PostgreSQL is stopped');
        const db = name ?? `pm_${++databases}_${randomBytes(3).toString('hex')}`;
        if (!/^[a-z_][a-z0-9_]{0,62}$/.test(db)) throw new Error(`not a plain database name: ${JSON.stringify(db)}`);
        await withClient(url, (c) => c.query(`CREATE DATABASE ${db}`));
        return urlFor(ROLE, password, port, db);
      },
      log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
      async stop() {
        if (stopped) return;
        stopped = true;
        // pg_ctl stop -m immediate: SIGQUIT, no checkpoint.
        await shutDown('SIGQUIT');
        rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
        live.delete(dir);
      },
      async kill() {
        if (stopped) throw new Error('this PostgreSQL is stopped');
        await shutDown('SIGKILL');
      },
      async restart() {
        if (stopped) throw new Error('this PostgreSQL is stopped');
        // pg_ctl restart -m fast: SIGINT.
        await shutDown('SIGINT');
        await launch(port);
      },
    };
  } catch (err) {
    // (TypeScript cannot see that launch() assigns it.)
    (child as ChildProcess | null)?.kill('SIGKILL');
    await killClusterAndWait(dataDir).catch(() => {});
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    live.delete(dir);
    throw err;
  }
}

/**
 * One private PostgreSQL for the enclosing describe: started before its tests, stopped
 * after. Call inside a describe body; the getter gives the server.
 */
export function privatePostgres(): () => Postgres {
  let server: Postgres | undefined;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('the private PostgreSQL is not started (beforeAll failed, or used outside a test)');
    return server;
  };
}

/**
 * `describe` for suites against a private PostgreSQL, one per suite (privatePostgres):
 * skipped with a visible notice where PostgreSQL is not installed, failing when
 * PINCHMAIL_REQUIRE_DOVECOT=1 (as in CI), as describeIf does.
 */
export function describePostgres(name: string, body: (pg: () => Postgres) => void): void {
  describeIf(name, 'PostgreSQL tests', postgresUnavailable(), () => body(privatePostgres()));
}
