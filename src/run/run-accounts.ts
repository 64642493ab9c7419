import type { AccountConfig } from '../config/types.js';
import { PinchmailError, asError } from '../errors.js';
import { Limiter } from '../util/limiter.js';
import { emptyReport, type AccountReport } from './report.js';

/**
 * Runs the accounts, up to `parallel` at once, each started in config order as a place
 * frees up; the reports come back in config order whatever finished first, so the
 * output and the exit status (the first failure in config order) do not depend on
 * which server answered sooner. Once `stop` is aborted, no account starts: each one
 * left is reported skipped.
 */
export async function runAccounts(
  accounts: readonly AccountConfig[],
  parallel: number,
  stop: AbortSignal,
  runOne: (account: AccountConfig) => Promise<AccountReport>,
): Promise<AccountReport[]> {
  const limiter = new Limiter(Math.max(1, parallel));
  return Promise.all(
    accounts.map((account) =>
      limiter.run(async () => {
        if (stop.aborted) return notStarted(account.name);
        try {
          return await runOne(account);
        } catch (err) {
          // runAccount reports its own failures; this is one it did not expect.
          return failed(account.name, err);
        }
      }),
    ),
  );
}

function failed(name: string, err: unknown): AccountReport {
  const report = emptyReport(name);
  report.status = 'failed';
  report.error = asError(err);
  return report;
}

function notStarted(name: string): AccountReport {
  const skipped = emptyReport(name);
  skipped.status = 'skipped';
  skipped.error = new PinchmailError('INTERRUPTED', 'not started: stopped by a signal');
  return skipped;
}
