import { setMaxListeners } from 'node:events';
import type { AccountConfig } from '../config/types.js';
import type { Log } from '../log.js';
import { errorMessage } from '../errors.js';
import { firstPollDelay, nextPollDelay } from '../plan/schedule.js';
import { Limiter } from '../util/limiter.js';
import type { AccountReport } from './report.js';

export interface DaemonDeps {
  /** One poll of `account`: what a cron run does for it (runAccount, with the lock), its own clock reading. */
  poll(account: AccountConfig, stop: AbortSignal, kill: AbortSignal): Promise<AccountReport>;
  /** After each poll: the daemon's caller says what it did (a summary, the metrics file). */
  polled(account: AccountConfig, report: AccountReport): void;
  random: () => number;
  log: Log;
}

/** An account the daemon polls; keyed by its stateKey, the mailbox its lock guards. */
interface Entry {
  account: AccountConfig;
  timer: NodeJS.Timeout | null;
  /** The poll under way, if any: at most one per account. */
  polling: Promise<void> | null;
  /** Gone from a reloaded config: not polled again once the poll under way ends. */
  removed: boolean;
}

/**
 * The order of `pinchmail daemon`: each account polled on its own interval (src/plan/
 * schedule.ts), never two polls of one account at once, up to `parallel` accounts at
 * once. A reload swaps the accounts without stopping the polls under way; stop() lets
 * each poll finish the message in hand (the stop signal runAccount honours) and resolves
 * once none is left.
 */
export class Daemon {
  private readonly entries = new Map<string, Entry>();
  private readonly limiter: Limiter;
  /** Every poll under way, those of accounts a reload removed included: stop() waits for them all. */
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private readonly killing = new AbortController();

  constructor(
    accounts: readonly AccountConfig[],
    parallel: number,
    private readonly deps: DaemonDeps,
  ) {
    this.limiter = new Limiter(parallel);
    // Every poll under way listens to both (its session, its deliveries): many accounts are not a leak.
    setMaxListeners(0, this.stopping.signal, this.killing.signal);
    for (const account of accounts) this.add(account);
  }

  get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  /** The accounts of a new config: new ones are scheduled, gone ones end after their poll, the others keep their turn. */
  reload(accounts: readonly AccountConfig[], parallel: number): void {
    if (this.stopped) return;
    this.limiter.resize(parallel);
    const keys = new Set(accounts.map((a) => a.stateKey));
    for (const [key, entry] of this.entries) {
      if (keys.has(key)) continue;
      entry.removed = true;
      if (entry.timer) clearTimeout(entry.timer);
      this.entries.delete(key);
    }
    for (const account of accounts) {
      const entry = this.entries.get(account.stateKey);
      if (!entry) {
        this.add(account);
        continue;
      }
      const intervalChanged = entry.account.everyMs !== account.everyMs;
      entry.account = account;
      // A new interval takes effect now, not after the old one ran out.
      if (intervalChanged && entry.timer) this.schedule(entry, firstPollDelay(account.everyMs, this.deps.random()));
    }
  }

  /** No new poll starts; each under way finishes the message in hand. Resolves when all have ended. */
  async stop(): Promise<void> {
    this.stopping.abort();
    for (const entry of this.entries.values()) if (entry.timer) clearTimeout(entry.timer);
    await Promise.all(this.inFlight);
  }

  /** After stop(): a delivery command under way is killed too. */
  kill(): void {
    this.killing.abort();
  }

  private add(account: AccountConfig): void {
    const entry: Entry = { account, timer: null, polling: null, removed: false };
    this.entries.set(account.stateKey, entry);
    this.schedule(entry, firstPollDelay(account.everyMs, this.deps.random()));
  }

  private schedule(entry: Entry, delayMs: number): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = setTimeout(() => this.fire(entry), delayMs);
  }

  private fire(entry: Entry): void {
    entry.timer = null;
    if (this.stopped || entry.removed || entry.polling) return;
    const started = performance.now();
    const polling = this.limiter
      .run(async () => {
        if (this.stopped || entry.removed) return;
        const { account } = entry;
        const report = await this.deps.poll(account, this.stopping.signal, this.killing.signal);
        this.deps.polled(account, report);
      })
      .catch((err: unknown) => this.deps.log.error({ account: entry.account.name }, `the poll failed unexpectedly: ${errorMessage(err)}`))
      .finally(() => {
        entry.polling = null;
        this.inFlight.delete(polling);
        if (!this.stopped && !entry.removed) this.schedule(entry, nextPollDelay(entry.account.everyMs, performance.now() - started, this.deps.random()));
      });
    entry.polling = polling;
    this.inFlight.add(polling);
  }
}
