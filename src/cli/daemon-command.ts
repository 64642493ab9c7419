import http from 'node:http';
import os from 'node:os';
import { loadConfig } from '../config/load.js';
import type { AccountConfig } from '../config/types.js';
import type { Log } from '../log.js';
import { PinchmailError, errorMessage } from '../errors.js';
import { Daemon } from '../run/daemon.js';
import type { AccountReport } from '../run/report.js';
import { runAccount } from '../run/run-account.js';
import { openStore, shownDatabase } from '../state/open-store.js';
import type { MailboxSummary } from '../state/store.js';
import { readClock } from './clock.js';
import { EXIT, describeFailure } from './exit-codes.js';
import { createLogger } from './logger.js';
import { SummaryCache, metricsText, writeMetricsFile } from './metrics.js';
import type { CommonOptions, Io } from './options.js';
import { accountExitCode, fetchSummary } from './render.js';
import { childEnvironment, selectAccounts } from './select-accounts.js';

export interface DaemonOptions extends CommonOptions {
  quiet: boolean;
  verbose: number;
  /** Accounts at once; undefined: the config's "parallel". */
  parallel?: number;
  /** Rewritten after every poll. */
  metrics?: string;
  /** Where /metrics is served: a host (default loopback) and port. */
  listen?: { host: string; port: number };
}

/**
 * `pinchmail daemon`: one long process polling each account on its own interval. SIGHUP
 * reads the config again (a bad one is reported and the old one kept), SIGTERM or SIGINT
 * lets the message in hand finish and exits 0, a second one kills a delivery under way.
 * Each poll is a cron run's, lock included, so a cron run and the daemon never poll one
 * account at once.
 */
export async function daemonCommand(options: DaemonOptions, io: Io): Promise<number> {
  // A reader of stdout or stderr that went away (a pipe closed, a terminal hung up) must not
  // kill the daemon between messages: what it would have printed is dropped.
  for (const stream of [io.stdout, io.stderr]) if (stream.listenerCount('error') === 0) stream.on('error', () => {});
  const log = createLogger({ quiet: options.quiet, verbose: options.verbose, stream: io.stderr, format: process.env.PINCHMAIL_LOG });
  let config = loadConfig(options.config);
  let accounts = selectAccounts(config, options.account);
  let childEnv = childEnvironment(config);
  const store = await openStore(config);
  const summaries = new SummaryCache(store);
  const metricsFile = options.metrics ? new MetricsFile(options.metrics, log) : null;

  const polled = (account: AccountConfig, report: AccountReport): void => {
    const accountLog = log.child({ account: account.name });
    if (report.error) {
      const locked = report.error instanceof PinchmailError && report.error.code === 'LOCKED';
      // A poll a signal ended is the daemon stopping, not a failure.
      if (!(report.error instanceof PinchmailError && report.error.code === 'INTERRUPTED')) {
        (locked ? accountLog.warn : accountLog.error)({ exitCode: accountExitCode(report) }, fetchSummary(report, false));
      }
    } else if (!options.quiet && (report.delivered || report.deleted || report.failed)) {
      // (Not for messages a "skip" rule leaves: they are met again at every poll.)
      io.stdout.write(`${fetchSummary(report)}\n`);
    }
    summaries.polled(account.stateKey);
    void metricsFile?.write(config.accounts, summaries.summaryOf);
  };

  // Bound before any poll starts: a port in use stops the daemon before it has begun anything.
  const server = options.listen ? await serveMetrics(options.listen, () => metricsText(config.accounts, summaries.summaryOf), log) : null;

  const daemon = new Daemon(accounts, options.parallel ?? config.parallel, {
    poll: (account, stop, kill) =>
      runAccount({
        account,
        databaseFile: config.localState,
        host: os.hostname(),
        store,
        // Each poll is a run of its own: its one clock reading.
        now: readClock(),
        dryRun: false,
        log: log.child({ account: account.name }),
        stop,
        kill,
        childEnv,
        trace: options.verbose >= 2,
      }),
    polled,
    random: Math.random,
    log,
  });

  const reload = (): void => {
    try {
      const next = loadConfig(options.config);
      if (next.database !== config.database) throw new PinchmailError('CONFIG', `the state database changed (${shownDatabase(config.database)} to ${shownDatabase(next.database)}): that takes a restart`);
      const nextAccounts = selectAccounts(next, options.account);
      config = next;
      accounts = nextAccounts;
      childEnv = childEnvironment(next);
      daemon.reload(accounts, options.parallel ?? next.parallel);
      summaries.pollingOnly(new Set(accounts.map((a) => a.stateKey)));
      log.warn(`SIGHUP: configuration read again from ${next.file}: ${accounts.length} account${accounts.length === 1 ? '' : 's'}`);
    } catch (err) {
      log.error(`SIGHUP: the configuration was not reloaded, the one before stays in use: ${describeFailure(err)}`);
    }
  };

  const stopped = new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (daemon.stopped) {
        daemon.kill();
        return;
      }
      log.warn(`${signal}: finishing the message in hand, then stopping`);
      void daemon.stop().then(resolve);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGHUP', reload);
  });
  log.info(`polling ${accounts.map((a) => a.name).join(', ')}`);
  await stopped;
  process.removeAllListeners('SIGHUP');
  server?.close();
  server?.closeAllConnections();
  await metricsFile?.write(config.accounts, summaries.summaryOf);
  await store.close();
  return EXIT.OK;
}

/** The metrics file, rewritten after each poll; a failure to write it is said once, not at every poll. */
class MetricsFile {
  private failing = false;
  /** A write is queued and has not begun: a poll ending meanwhile needs no write of its own. */
  private queued = false;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly log: Log,
  ) {}

  write(accounts: readonly AccountConfig[], summaryOf: (stateKey: string) => Promise<MailboxSummary>): Promise<void> {
    // One write at a time, in order, each reading the database when it begins: the last
    // poll's numbers are the ones left in the file, and polls ending together cost one write.
    if (this.queued) return this.writing;
    this.queued = true;
    this.writing = this.writing.then(async () => {
      this.queued = false;
      try {
        writeMetricsFile(this.file, await metricsText(accounts, summaryOf));
        if (this.failing) this.log.warn(`the metrics file ${this.file} is written again`);
        this.failing = false;
      } catch (err) {
        if (!this.failing) this.log.error(describeFailure(err));
        this.failing = true;
      }
    });
    return this.writing;
  }
}

/** GET /metrics on `listen`, answered from the state database at each scrape. */
async function serveMetrics(listen: { host: string; port: number }, render: () => Promise<string>, log: Log): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('pinchmail serves /metrics only\n');
      return;
    }
    render().then(
      (text) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${errorMessage(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new PinchmailError('CONFIG', `cannot serve metrics on ${listen.host}:${listen.port}: ${errorMessage(err)}`)));
    server.listen(listen.port, listen.host, () => resolve());
  });
  log.info(`serving metrics on http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}/metrics`);
  return server;
}
