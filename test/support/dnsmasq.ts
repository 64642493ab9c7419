import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { promises as dns } from 'node:dns';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { describeIf } from './dovecot-suite.js';
import { until } from './until.js';

/**
 * A private DNS server for tests: Debian's dnsmasq (package dnsmasq-base) in the
 * foreground, on 127.0.0.1 and a free port, answering only from its command line (no
 * /etc/resolv.conf, /etc/hosts nor config file), as a child of the test process. As
 * root it drops to `nobody` once it has bound its port.
 *
 * What it answers, for A queries:
 * - a name in `listed` (or below it: --address matches subdomains too): 127.0.0.2;
 * - a name in `answers`: the address given;
 * - anything else under a name in `zones`: NXDOMAIN;
 * - anything under a name in `failing`: nothing at all. dnsmasq forwards such queries
 *   to 127.0.0.1 port 1, where nothing listens; it ignores the ICMP "port unreachable"
 *   that comes back and never answers the client (checked with dnsmasq 2.90: no SERVFAIL
 *   even after 25 s), so the client times out;
 * - any other name: REFUSED (no upstream server).
 *
 * Never left running: stop(), a process 'exit' handler, and the parent-death signal
 * (setpriv --pdeathsig KILL) should the test process die without either.
 */

/** Debian's, else one on PATH (as .ci/run looks for it). */
const DNSMASQ = ['/usr/sbin/dnsmasq', ...(process.env.PATH ?? '').split(':').filter(Boolean).map((dir) => path.join(dir, 'dnsmasq'))].find((p) => existsSync(p)) ?? null;

export interface DnsmasqRecords {
  listed?: string[];
  answers?: Record<string, string>;
  zones?: string[];
  failing?: string[];
}

export interface Dnsmasq {
  /** "127.0.0.1:PORT", as Resolver.setServers takes it. */
  address: string;
  port: number;
  /** The names it was asked for, in order, as it logged them (A queries and others alike). */
  queries(): string[];
  /** Everything it logged. */
  log(): string;
  /** Stops it and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
/** Asked until it answers, to know it is up; answered from the command line like the rest. */
const READY_NAME = 'ready.pinchmail-test.invalid';

const AS_ROOT = process.getuid?.() === 0;
const hasSetpriv = (): boolean => spawnSync('setpriv', ['--version']).status === 0;

/** Why dnsmasq cannot run here, or null when it can. */
export function dnsmasqUnavailable(): string | null {
  if (DNSMASQ === null) return 'dnsmasq is not installed (no /usr/sbin/dnsmasq nor dnsmasq on PATH; apt-get install dnsmasq-base)';
  return null;
}

function dnsmasqArgs(port: number, records: DnsmasqRecords): string[] {
  return [
    '--keep-in-foreground',
    '--no-resolv',
    '--no-hosts',
    '--no-poll',
    '--bind-interfaces',
    '--listen-address=127.0.0.1',
    `--port=${port}`,
    '--conf-file=/dev/null',
    '--pid-file=',
    ...(AS_ROOT ? ['--user=nobody'] : []),
    '--log-queries',
    '--log-facility=-',
    `--address=/${READY_NAME}/127.0.0.1`,
    ...(records.listed ?? []).map((name) => `--address=/${name}/127.0.0.2`),
    ...Object.entries(records.answers ?? {}).map(([name, ip]) => `--address=/${name}/${ip}`),
    ...(records.zones ?? []).map((zone) => `--local=/${zone}/`),
    ...(records.failing ?? []).map((zone) => `--server=/${zone}/127.0.0.1#1`),
  ];
}

/** A port free for both UDP and TCP on 127.0.0.1 right now (dnsmasq listens on both). */
async function freeDnsPort(): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, '127.0.0.1', () => resolve());
    });
    const { port } = udp.address();
    const tcp = net.createServer();
    const tcpFree = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (tcpFree) await new Promise((resolve) => tcp.close(resolve));
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (tcpFree) return port;
    if (attempt >= 20) throw new Error('found no port free for both UDP and TCP on 127.0.0.1');
  }
}

/** Running servers of this process, for the 'exit' handler. */
const live = new Set<ChildProcess>();
let exitHandlerInstalled = false;

function killAllAtExit(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

class PortInUse extends Error {}

/** Whether it answers with the readiness record; false while nothing listens yet. */
async function answers(port: number): Promise<boolean> {
  const resolver = new dns.Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  try {
    return (await resolver.resolve4(READY_NAME)).includes('127.0.0.1');
  } catch {
    return false;
  }
}

async function launch(dnsmasq: string, port: number, records: DnsmasqRecords): Promise<{ child: ChildProcess; output: () => string }> {
  const args = dnsmasqArgs(port, records);
  const [cmd, argv] = hasSetpriv() ? ['setpriv', ['--pdeathsig', 'KILL', '--', dnsmasq, ...args]] : [dnsmasq, args];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' } });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  live.add(child);
  child.once('exit', () => live.delete(child));
  try {
    await until(
      async () => {
        if (spawnError) throw new Error(`could not start dnsmasq: ${spawnError.message}`);
        if (child.exitCode !== null || child.signalCode !== null) {
          if (/Address already in use/.test(output)) throw new PortInUse(output);
          throw new Error(`dnsmasq exited (${child.exitCode ?? child.signalCode}) before answering:\n${output}`);
        }
        return answers(port);
      },
      READY_TIMEOUT_MS,
      `dnsmasq to answer on 127.0.0.1:${port}`,
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return { child, output: () => output };
}

export async function startDnsmasq(records: DnsmasqRecords = {}): Promise<Dnsmasq> {
  if (DNSMASQ === null) throw new Error(`cannot start dnsmasq: ${dnsmasqUnavailable()}`);
  const dnsmasq = DNSMASQ;
  if (!exitHandlerInstalled) {
    process.on('exit', killAllAtExit);
    exitHandlerInstalled = true;
  }
  let started: Awaited<ReturnType<typeof launch>>;
  let port: number;
  for (let attempt = 1; ; attempt++) {
    port = await freeDnsPort();
    try {
      started = await launch(dnsmasq, port, records);
      break;
    } catch (err) {
      // Another process took the port between freeDnsPort and dnsmasq's bind: another one.
      if (!(err instanceof PortInUse) || attempt >= 5) throw err;
    }
  }
  const { child, output } = started;
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    address: `127.0.0.1:${port}`,
    port,
    queries: () => [...output().matchAll(/ query\[[A-Z0-9]+\] (\S+) from /g)].map((m) => m[1]!).filter((name) => name !== READY_NAME),
    log: output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/**
 * One dnsmasq for the enclosing describe: started before its tests with `records`,
 * stopped after. Call inside a describe body; the getter gives the server.
 */
export function privateDnsmasq(records: DnsmasqRecords): () => Dnsmasq {
  let server: Dnsmasq | undefined;
  beforeAll(async () => {
    server = await startDnsmasq(records);
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('the private dnsmasq is not started (beforeAll failed, or used outside a test)');
    return server;
  };
}

/**
 * `describe` for suites against a private dnsmasq answering `records` (privateDnsmasq):
 * skipped with a visible notice where dnsmasq is not installed, failing when
 * PINCHMAIL_REQUIRE_DOVECOT=1 (as in CI), as describeIf does.
 */
export function describeDnsmasq(name: string, records: DnsmasqRecords, body: (dnsmasq: () => Dnsmasq) => void): void {
  describeIf(name, 'dnsmasq tests', dnsmasqUnavailable(), () => body(privateDnsmasq(records)));
}
