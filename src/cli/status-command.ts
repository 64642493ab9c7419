import { formatDuration } from '../config/duration.js';
import { loadConfig } from '../config/load.js';
import { StateStore, type MailboxSummary } from '../state/store.js';
import { EXIT } from './exit-codes.js';
import { readClock } from './clock.js';
import type { CommonOptions, Io } from './options.js';
import { selectAccounts } from './select-accounts.js';
import { terminalText } from './terminal-text.js';

const EMPTY: MailboxSummary = { tracked: 0, delivered: 0, failing: [], oldestFirstSeen: null, oldestDeliverable: null, lastRun: null };

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** `pinchmail status`: offline, from the state database alone. */
export function statusCommand(options: CommonOptions, io: Io): number {
  const now = readClock();
  const config = loadConfig(options.config);
  const accounts = selectAccounts(config, options.account);
  const store = StateStore.openReadOnly(config.database);
  try {
    const rows = accounts.map((account) => {
      const s = store?.summary(account.stateKey) ?? EMPTY;
      const nextDeletion =
        s.oldestDeliverable !== null && Number.isFinite(account.retentionMs) ? s.oldestDeliverable + account.retentionMs : null;
      return { account, s, nextDeletion };
    });
    if (options.json) {
      io.stdout.write(
        `${JSON.stringify(
          {
            database: config.database,
            accounts: rows.map(({ account, s, nextDeletion }) => ({
              name: account.name,
              stateKey: account.stateKey,
              retention: formatDuration(account.retentionMs),
              tracked: s.tracked,
              delivered: s.delivered,
              failing: s.failing.map((f) => ({
                uidl: f.uidl,
                attempts: f.attempts,
                lastError: f.lastError,
                lastAttempt: iso(f.lastAttempt),
                firstSeen: iso(f.firstSeen),
              })),
              oldestFirstSeen: iso(s.oldestFirstSeen),
              nextDeletionDue: iso(nextDeletion),
              lastRun: s.lastRun ? { at: iso(s.lastRun.at), status: s.lastRun.status, error: s.lastRun.error } : null,
            })),
          },
          null,
          2,
        )}\n`,
      );
      return EXIT.OK;
    }
    const when = (ms: number | null): string => {
      if (ms === null) return '-';
      const delta = ms - now;
      const rel = Math.abs(delta) < 1000 ? 'now' : delta > 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
      return `${new Date(ms).toISOString().replace('T', ' ').slice(0, 19)}Z (${rel})`;
    };
    const out: string[] = [];
    if (!store) out.push(`no state database yet at ${config.database}`);
    for (const { account, s, nextDeletion } of rows) {
      out.push(`${account.name} (${account.stateKey})`);
      out.push(`  tracked ${s.tracked}, delivered ${s.delivered}, failing ${s.failing.length}`);
      out.push(`  oldest first seen   ${when(s.oldestFirstSeen)}`);
      out.push(`  next deletion due   ${Number.isFinite(account.retentionMs) ? when(nextDeletion) : 'never (retention "never")'}  [retention ${formatDuration(account.retentionMs)}]`);
      if (s.lastRun) out.push(`  last run            ${when(s.lastRun.at)}: ${s.lastRun.status}${s.lastRun.error ? ` (${s.lastRun.error})` : ''}`);
      for (const f of s.failing) {
        out.push(`  failing ${f.uidl}: ${f.attempts} attempt${f.attempts === 1 ? '' : 's'}, last error: ${f.lastError ?? '?'}`);
      }
    }
    // Last errors are what servers and delivery commands said, UIDLs what a server named.
    io.stdout.write(`${terminalText(out.join('\n'))}\n`);
    return EXIT.OK;
  } finally {
    store?.close();
  }
}
