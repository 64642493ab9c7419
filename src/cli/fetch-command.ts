import { loadConfig } from '../config/load.js';
import { PinchmailError, asError } from '../errors.js';
import { emptyReport, type AccountReport } from '../run/report.js';
import { runAccount } from '../run/run-account.js';
import { StateStore } from '../state/store.js';
import { EXIT } from './exit-codes.js';
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

  const reports: AccountReport[] = [];
  let store: StateStore | null = null;
  try {
    store = options.dryRun ? StateStore.openReadOnly(config.database) : StateStore.open(config.database);
    const childEnv = childEnvironment(config);
    for (const account of accounts) {
      const accountLog = log.child({ account: account.name });
      if (stop.signal.aborted) {
        const skipped = emptyReport(account.name);
        skipped.status = 'skipped';
        skipped.error = new PinchmailError('INTERRUPTED', 'not started: stopped by a signal');
        reports.push(skipped);
        continue;
      }
      const progress = new Progress(io.stderr, account.name, io.stderr.isTTY === true && !options.quiet && !options.dryRun);
      const report = await runAccount({
        account,
        databaseFile: config.database,
        store,
        now,
        dryRun: options.dryRun,
        log: accountLog,
        stop: stop.signal,
        kill: kill.signal,
        childEnv,
        trace: options.verbose >= 2,
        onProgress: (done, total) => progress.update(done, total),
      });
      progress.clear();
      reports.push(report);
    }
  } catch (err) {
    // The state database could not be opened: every selected account fails with it.
    for (const account of accounts.slice(reports.length)) {
      const failed = emptyReport(account.name);
      failed.status = 'failed';
      failed.error = asError(err);
      reports.push(failed);
    }
  } finally {
    store?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const exitCode = reports.map(accountExitCode).find((code) => code !== 0) ?? EXIT.OK;
  if (options.json) {
    io.stdout.write(fetchJson(reports, options.dryRun));
  } else if (options.dryRun) {
    io.stdout.write(reports.filter((r) => !r.error).map(dryRunListing).join(''));
  } else if (!options.quiet) {
    for (const report of reports.filter((r) => !r.error)) io.stdout.write(`${fetchSummary(report)}\n`);
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
