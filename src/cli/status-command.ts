import { formatDuration, parseDuration } from '../config/duration.js';
import { loadConfig, type AccountConfig } from '../config/load.js';
import { PinchmailError } from '../errors.js';
import { StateStore, type MailboxSummary } from '../state/store.js';
import { EXIT, describeFailure } from './exit-codes.js';
import { readClock } from './clock.js';
import type { CommonOptions, Io } from './options.js';
import { localTime } from './render.js';
import { selectAccounts } from './select-accounts.js';
import { terminalText } from './terminal-text.js';

const EMPTY: MailboxSummary = {
  tracked: 0,
  delivered: 0,
  onServer: 0,
  deliveredOnServer: 0,
  remembered: 0,
  failing: [],
  oldestFirstSeen: null,
  oldestDeliverable: null,
  lastRun: null,
};

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export interface StatusOptions extends CommonOptions {
  /** Monitoring mode: one line in the monitoring-plugin style, exit 0/1/2/3 (OK/WARNING/CRITICAL/UNKNOWN). */
  check?: boolean;
  /** Failing messages (per account) from which the check warns; default 1. */
  warnFailing?: string;
  /** ... and from which it is critical; default never. */
  critFailing?: string;
  /** Critical when an account's last successful run is older than this (a duration like "2h"), or there is none. */
  maxAge?: string;
}

/** The exit statuses of the monitoring-plugin guidelines (Nagios, Icinga, Sensu...). */
export const CHECK = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 } as const;
const STATE_NAME = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;

/** `pinchmail status`: offline, from the state database alone. */
export function statusCommand(options: StatusOptions, io: Io): number {
  if (options.check) {
    try {
      return statusCheck(options, io);
    } catch (err) {
      io.stdout.write(`${terminalText(`PINCHMAIL UNKNOWN - ${describeFailure(err)}`.replace(/\n/g, ' '))}\n`);
      return CHECK.UNKNOWN;
    }
  }
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
              onServer: s.onServer,
              deliveredOnServer: s.deliveredOnServer,
              remembered: s.remembered,
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
      return `${localTime(ms)} (${rel})`;
    };
    const out: string[] = [];
    if (!store) out.push(`no state database yet at ${config.database}`);
    for (const { account, s, nextDeletion } of rows) {
      out.push(`${account.name} (${account.stateKey})`);
      const waiting = s.onServer - s.deliveredOnServer - s.failing.length;
      out.push(`  on server     ${s.onServer}: ${s.deliveredOnServer} delivered, ${s.failing.length} failing, ${waiting} waiting`);
      out.push(`  remembered    ${s.remembered} that left the server (kept for the grace period)`);
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

/** Per account, what is wrong, and how badly. */
function assess(
  account: AccountConfig,
  s: MailboxSummary,
  now: number,
  limits: { warnFailing: number; critFailing: number; maxAgeMs: number | null },
): { state: number; problems: string[]; summary: string; perf: string } {
  const problems: string[] = [];
  let state: number = CHECK.OK;
  const raise = (to: number, problem: string): void => {
    state = Math.max(state, to);
    problems.push(problem);
  };
  const failing = s.failing.length;
  const plural = `${failing} failing message${failing === 1 ? '' : 's'}`;
  if (failing >= limits.critFailing) raise(CHECK.CRITICAL, `${plural} (critical at ${limits.critFailing})`);
  else if (failing >= limits.warnFailing) raise(CHECK.WARNING, `${plural} (warning at ${limits.warnFailing})`);
  const run = s.lastRun;
  if (!run) {
    raise(limits.maxAgeMs !== null ? CHECK.CRITICAL : CHECK.WARNING, 'never run');
  } else {
    if (run.status !== 'ok') raise(CHECK.WARNING, `last run failed ${formatDuration(Math.max(0, now - run.at))} ago${run.error ? `: ${run.error}` : ''}`);
    // The state database records the last run only: a failed one leaves the time of the last success unknown.
    if (limits.maxAgeMs !== null && run.status === 'ok' && now - run.at > limits.maxAgeMs) {
      raise(CHECK.CRITICAL, `last successful run ${formatDuration(now - run.at)} ago (max age ${formatDuration(limits.maxAgeMs)})`);
    }
  }
  const last = run ? `last run ${run.status} ${formatDuration(Math.max(0, now - run.at))} ago` : 'never run';
  const label = account.name.replace(/[^A-Za-z0-9_.-]/g, '_');
  const crit = Number.isFinite(limits.critFailing) ? String(limits.critFailing) : '';
  return {
    state,
    problems,
    summary: `${s.onServer} on server, ${failing} failing, ${last}`,
    perf: `${label}_failing=${failing};${limits.warnFailing};${crit};0; ${label}_on_server=${s.onServer};;;0;`,
  };
}

function count(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^[0-9]+$/.test(text)) throw new PinchmailError('USAGE', `${flag}: expected a number of messages, got "${text}"`);
  return Number(text);
}

/**
 * `status --check`: one line as monitoring plugins print it, "PINCHMAIL WARNING - jobs: 3
 * failing messages (warning at 1) | perfdata", and their exit status: 0 OK, 1 WARNING,
 * 2 CRITICAL, 3 UNKNOWN (the config or the state database could not be read).
 */
function statusCheck(options: StatusOptions, io: Io): number {
  const now = readClock();
  const maxAgeMs = options.maxAge === undefined ? null : parseDuration(options.maxAge);
  if (maxAgeMs === null && options.maxAge !== undefined) throw new PinchmailError('USAGE', `--max-age: expected a duration like "2h", got "${options.maxAge}"`);
  const limits = {
    warnFailing: count(options.warnFailing, '--warn-failing', 1),
    critFailing: count(options.critFailing, '--crit-failing', Number.POSITIVE_INFINITY),
    maxAgeMs,
  };
  const config = loadConfig(options.config);
  const accounts = selectAccounts(config, options.account);
  const store = StateStore.openReadOnly(config.database);
  try {
    const results = accounts.map((account) => ({ account, ...assess(account, store?.summary(account.stateKey) ?? EMPTY, now, limits) }));
    const state = results.reduce((worst, r) => Math.max(worst, r.state), CHECK.OK as number);
    const bad = results.filter((r) => r.state !== CHECK.OK);
    const text = (bad.length ? bad.map((r) => `${r.account.name}: ${r.problems.join(', ')}`) : results.map((r) => `${r.account.name}: ${r.summary}`)).join('; ');
    const line = `PINCHMAIL ${STATE_NAME[state]} - ${text || 'no accounts'} | ${results.map((r) => r.perf).join(' ')}`;
    // One line: a server's or a command's words in a last error may hold newlines and controls.
    io.stdout.write(`${terminalText(line.replace(/[\r\n]+/g, ' ')).trimEnd()}\n`);
    return state;
  } finally {
    store?.close();
  }
}
