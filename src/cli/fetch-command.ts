import { setMaxListeners } from 'node:events';
import os from 'node:os';
import { loadConfig } from '../config/load.js';
import { PinchmailError, asError } from '../errors.js';
import { emptyReport, type AccountReport } from '../run/report.js';
import { runAccount } from '../run/run-account.js';
import { runAccounts } from '../run/run-accounts.js';
import { openStore, openStoreReadOnly } from '../state/open-store.js';
import type { StateStore } from '../state/store.js';
import { EXIT, describeFailure, exitCodeFor } from './exit-codes.js';
import { readClock } from './clock.js';
import { createLogger } from './logger.js';
import { Progress } from './progress.js';
import { accountExitCode, dryRunListing, fetchJson, fetchSummary } from './render.js';
import { childEnvironment, selectAccounts } from './select-accounts.js';
import type { CommonOptions, Io } from './options.js';

export interface FetchOptions extends CommonOptions {
  dryRun: boolean;
  quiet: boolean;
  verbose: number;
  /** Accounts at once (--parallel); undefined: the config's "parallel". */
  parallel?: number;
  /** --metrics FILE: after a real run, the metrics of every account, replacing the file atomically. */
  metrics?: string;
}

/** `pinchmail [fetch]`: read config, run each account in order, print, return the exit status. */
export async function fetchCommand(options: FetchOptions, io: Io): Promise<number> {
  // The run's one clock reading: first-seen times and retention ages all measure from it.
  const now = readClock();
  const log = createLogger({ quiet: options.quiet, verbose: options.verbose, stream: io.stderr, format: process.env.PINCHMAIL_LOG });
  const config = loadConfig(options.config);
  const accounts = selectAccounts(config, options.account);

  const stop = new AbortController();
  const kill = new AbortController();
  // Each account polled at once listens to both: with --parallel that is no leak.
  setMaxListeners(0, stop.signal, kill.signal);
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!stop.signal.aborted) {
      log.warn(`${signal}: finishing the message in hand, then stopping without deleting anything (again to abort it)`);
      stop.abort();
    } else {
      kill.abort();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const parallel = options.parallel ?? config.parallel;
  // One progress line at a time: with accounts polled at once, none.
  const showProgress = io.stderr.isTTY === true && !options.quiet && !options.dryRun && (parallel === 1 || accounts.length === 1);
  let reports: AccountReport[];
  let store: StateStore | null = null;
  try {
    store = options.dryRun ? await openStoreReadOnly(config) : await openStore(config);
    const childEnv = childEnvironment(config);
    const opened = store;
    reports = await runAccounts(accounts, parallel, stop.signal, async (account) => {
      const progress = new Progress(io.stderr, account.name, showProgress);
      try {
        return await runAccount({
          account,
          databaseFile: config.localState,
          host: os.hostname(),
          store: opened,
          now,
          dryRun: options.dryRun,
          log: log.child({ account: account.name }),
          stop: stop.signal,
          kill: kill.signal,
          childEnv,
          trace: options.verbose >= 2,
          onProgress: (done, total) => progress.update(done, total),
        });
      } finally {
        progress.clear();
      }
    });
  } catch (err) {
    // The state database could not be opened: every selected account fails with it.
    reports = accounts.map((account) => {
      const failed = emptyReport(account.name);
      failed.status = 'failed';
      failed.error = asError(err);
      return failed;
    });
  } finally {
    await store?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  let exitCode = reports.map(accountExitCode).find((code) => code !== 0) ?? EXIT.OK;
  if (options.metrics && !options.dryRun) {
    try {
      // prom-client is loaded only when asked for: a plain cron run does not pay for it.
      const { metricsText, storeSummaries, writeMetricsFile } = await import('./metrics.js');
      const reopened = await openStoreReadOnly(config);
      try {
        writeMetricsFile(options.metrics, await metricsText(config.accounts, storeSummaries(reopened)));
      } finally {
        await reopened?.close();
      }
    } catch (err) {
      // The run itself is done and recorded; a failure before it keeps its own status.
      log.error(describeFailure(err));
      if (exitCode === EXIT.OK) exitCode = exitCodeFor(err);
    }
  }
  if (options.json) {
    io.stdout.write(fetchJson(reports, options.dryRun));
  } else if (options.dryRun) {
    io.stdout.write(reports.filter((r) => !r.error).map(dryRunListing).join(''));
  } else if (!options.quiet) {
    // An account another member of the group polls is said at -v only: that is the group sharing its accounts.
    const shown = reports.filter((r) => !r.error && (r.status !== 'skipped' || options.verbose > 0));
    for (const report of shown) io.stdout.write(`${fetchSummary(report)}\n`);
  }
  // A failed account gets one line, as a log event, so cron mail and log collectors both see it.
  // An account another run is working on is a warning: that run does the work.
  for (const report of reports.filter((r) => r.error)) {
    const accountLog = log.child({ account: report.name });
    const locked = report.error instanceof PinchmailError && report.error.code === 'LOCKED';
    (locked ? accountLog.warn : accountLog.error)({ exitCode: accountExitCode(report) }, fetchSummary(report, false));
  }
  return exitCode;
}
