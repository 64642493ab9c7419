import { formatDuration, parseDuration } from '../config/duration.js';
import { loadConfig } from '../config/load.js';
import type { AccountConfig } from '../config/types.js';
import { PinchmailError } from '../errors.js';
import { COMFORT_FACTOR, peerWindow, pollingHealth, type PollingHealth } from '../plan/polling.js';
import { openStoreReadOnly, shownDatabase } from '../state/open-store.js';
import { EMPTY_SUMMARY, type MailboxSummary, type StateStore } from '../state/store.js';
import { EXIT, describeFailure } from './exit-codes.js';
import { readClock } from './clock.js';
import type { CommonOptions, Io } from './options.js';
import { localTime } from './render.js';
import { selectAccounts } from './select-accounts.js';
import { terminalText } from './terminal-text.js';


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

/** How long status --check warns after a listing found messages gone before this host delivered them. */
const VANISHED_WARNS_MS = 24 * 3_600_000;

/** The exit statuses of the monitoring-plugin guidelines (Nagios, Icinga, Sensu...). */
export const CHECK = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 } as const;
const STATE_NAME = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;

/** `pinchmail status`: offline, from the state database alone. */
/** Each account's summary, in order; an empty one with no database yet. */
async function summariesOf(store: StateStore | null, accounts: readonly AccountConfig[]): Promise<MailboxSummary[]> {
  const out: MailboxSummary[] = [];
  for (const account of accounts) out.push(store ? await store.summary(account.stateKey) : EMPTY_SUMMARY);
  return out;
}

export async function statusCommand(options: StatusOptions, io: Io): Promise<number> {
  if (options.check) {
    try {
      return await statusCheck(options, io);
    } catch (err) {
      io.stdout.write(`${terminalText(`PINCHMAIL UNKNOWN - ${describeFailure(err)}`.replace(/\n/g, ' '))}\n`);
      return CHECK.UNKNOWN;
    }
  }
  const now = readClock();
  const config = loadConfig(options.config);
  const accounts = selectAccounts(config, options.account);
  const store = await openStoreReadOnly(config);
  try {
    const summaries = await summariesOf(store, accounts);
    const rows = accounts.map((account, i) => {
      const s = summaries[i]!;
      const nextDeletion =
        s.oldestDeliverable !== null && Number.isFinite(account.retentionMs) ? s.oldestDeliverable + account.retentionMs : null;
      return { account, s, nextDeletion, health: pollingHealth(peerWindow(account), s.listings, now) };
    });
    if (options.json) {
      io.stdout.write(
        `${JSON.stringify(
          {
            database: shownDatabase(config.database),
            accounts: rows.map(({ account, s, nextDeletion, health }) => ({
              name: account.name,
              stateKey: account.stateKey,
              retention: formatDuration(account.retentionMs),
              tracked: s.tracked,
              delivered: s.delivered,
              onServer: s.onServer,
              deliveredOnServer: s.deliveredOnServer,
              remembered: s.remembered,
              skipped: s.skipped,
              failing: s.failing.map((f) => ({
                uidl: f.uidl,
                attempts: f.attempts,
                lastError: f.lastError,
                lastAttempt: iso(f.lastAttempt),
                firstSeen: iso(f.firstSeen),
              })),
              oldestFirstSeen: iso(s.oldestFirstSeen),
              nextDeletionDue: iso(nextDeletion),
              lastRun: s.lastRun ? { at: iso(s.lastRun.at), status: s.lastRun.status, error: s.lastRun.error, host: s.lastRun.host } : null,
              lastSuccess: iso(s.lastOk),
              ...pollingJson(health),
              vanished: { total: s.vanished.total, last: iso(s.vanished.lastAt), atLatestListing: s.vanished.atLatestListing },
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
    if (!store) out.push(`no state database yet at ${shownDatabase(config.database)}`);
    for (const { account, s, nextDeletion, health } of rows) {
      out.push(`${account.name} (${account.stateKey})`);
      const waiting = s.onServer - s.deliveredOnServer - s.failing.length - s.skipped;
      const skipped = s.skipped ? `, ${s.skipped} skipped (left unread by a "skip" rule)` : '';
      out.push(`  on server     ${s.onServer}: ${s.deliveredOnServer} delivered, ${s.failing.length} failing${skipped}, ${waiting} waiting`);
      out.push(`  remembered    ${s.remembered} that left the server (kept for the grace period)`);
      out.push(`  oldest first seen   ${when(s.oldestFirstSeen)}`);
      out.push(`  next deletion due   ${Number.isFinite(account.retentionMs) ? when(nextDeletion) : 'never (retention "never")'}  [retention ${formatDuration(account.retentionMs)}]`);
      if (s.lastRun) out.push(`  last run            ${when(s.lastRun.at)}: ${s.lastRun.status}${s.lastRun.error ? ` (${s.lastRun.error})` : ''}${s.lastRun.host ? `, by ${s.lastRun.host}` : ''}`);
      out.push(...pollingLines(health, s, when));
      for (const f of s.failing) {
        out.push(`  failing ${f.uidl}: ${f.attempts} attempt${f.attempts === 1 ? '' : 's'}, last error: ${f.lastError ?? '?'}`);
      }
    }
    // Last errors are what servers and delivery commands said, UIDLs what a server named.
    io.stdout.write(`${terminalText(out.join('\n'))}\n`);
    return EXIT.OK;
  } finally {
    await store?.close();
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
    if (limits.maxAgeMs !== null) {
      if (s.lastOk === null) raise(CHECK.CRITICAL, 'no successful run recorded');
      else if (now - s.lastOk > limits.maxAgeMs) {
        raise(CHECK.CRITICAL, `last successful run ${formatDuration(now - s.lastOk)} ago (max age ${formatDuration(limits.maxAgeMs)})`);
      }
    }
  }
  const health = pollingHealth(peerWindow(account), s.listings, now);
  for (const problem of pollingProblems(health, s, now)) raise(CHECK.WARNING, problem);
  const last = run ? `last run ${run.status} ${formatDuration(Math.max(0, now - run.at))} ago` : 'never run';
  const label = account.name.replace(/[^A-Za-z0-9_.-]/g, '_');
  const crit = Number.isFinite(limits.critFailing) ? String(limits.critFailing) : '';
  return {
    state,
    problems,
    summary: `${s.onServer} on server, ${failing} failing, ${last}`,
    // Counters a monitoring system can alert on between its checks: what vanished ever, the worst interval seen.
    perf: [
      `${label}_failing=${failing};${limits.warnFailing};${crit};0;`,
      `${label}_on_server=${s.onServer};;;0;`,
      `${label}_vanished=${s.vanished.total}c;;;0;`,
      ...(health.polling ? [`${label}_worst_poll=${Math.round(health.polling.worstMs / 1000)}s;;;0;`] : []),
    ].join(' '),
  };
}

/** What `status --check` (and `check`) warn of: mail this host may have missed, or may miss. */
export function pollingProblems(h: PollingHealth, s: Pick<MailboxSummary, 'vanished'>, now: number): string[] {
  const problems: string[] = [];
  const window = h.windowMs === null ? '' : formatDuration(h.windowMs);
  if (h.latestGap) problems.push(`may have missed mail: the last listing came ${formatDuration(h.latestGap.gapMs)} after the one before (peers delete after ${window})`);
  if (h.overdueMs !== null) problems.push(`no listing for ${formatDuration(h.overdueMs)} (peers delete after ${window})`);
  // For a day, so that a check every few minutes cannot miss it between two polls.
  const { lastAt } = s.vanished;
  if (lastAt !== null && now - lastAt < VANISHED_WARNS_MS) {
    const n = s.vanished.atLatestListing > 0 ? s.vanished.atLatestListing : null;
    const what = n === null ? 'messages left' : `${n} message${n === 1 ? '' : 's'} left`;
    problems.push(`${what} the server before this host delivered ${n === 1 ? 'it' : 'them'} (last ${formatDuration(Math.max(0, now - lastAt))} ago; ${s.vanished.total} in all)`);
  }
  const margin = marginProblem(h);
  if (margin) problems.push(margin);
  return problems;
}

/** A window not comfortably longer than the worst polling interval observed, in words; null when it is (or nothing is known). */
export function marginProblem(h: PollingHealth): string | null {
  if (!h.margin || h.margin.comfortable) return null;
  return `peers delete after ${formatDuration(h.windowMs!)}, not comfortably longer than this host's worst polling interval ${formatDuration(h.polling!.worstMs)} (keep it at least ${COMFORT_FACTOR} times as long)`;
}

function count(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^[0-9]+$/.test(text)) throw new PinchmailError('USAGE', `${flag}: expected a number of messages, got "${text}"`);
  return Number(text);
}

const seconds = (ms: number | null): number | null => (ms === null ? null : Math.floor(ms / 1000));

/** The --json view of how this host polls, against how long peers keep mail. */
function pollingJson(h: PollingHealth): Record<string, unknown> {
  return {
    peerRetention: h.windowMs === null ? null : formatDuration(h.windowMs),
    lastListing: iso(h.lastListing),
    polling: h.polling ? { intervals: h.polling.samples, typicalSeconds: seconds(h.polling.typicalMs), worstSeconds: seconds(h.polling.worstMs) } : null,
    marginSeconds: h.margin ? seconds(h.margin.marginMs) : null,
    comfortable: h.margin ? h.margin.comfortable : null,
    listingGap: h.latestGap ? { previousListing: iso(h.latestGap.previous), gapSeconds: seconds(h.latestGap.gapMs) } : null,
    overdueSeconds: seconds(h.overdueMs),
  };
}

/** Status lines on polling: how often, the margin to what peers keep, and what may have been missed. */
function pollingLines(h: PollingHealth, s: MailboxSummary, when: (ms: number | null) => string): string[] {
  const out: string[] = [];
  if (h.polling) {
    const since = s.listings[0]!;
    out.push(`  polls every         ${formatDuration(h.polling.typicalMs)} typically, ${formatDuration(h.polling.worstMs)} at worst (${h.polling.samples} interval${h.polling.samples === 1 ? '' : 's'} since ${localTime(since)})`);
  } else {
    out.push(`  polls every         not known yet (${s.listings.length === 0 ? 'no listing' : 'one listing'} recorded)`);
  }
  if (h.windowMs === null) {
    out.push('  peers delete        nothing this host could miss (retention "never", or "0" on a host of its own)');
  } else {
    const margin = h.margin
      ? h.margin.comfortable
        ? `margin ${formatDuration(h.margin.marginMs)}`
        : `margin ${h.margin.marginMs < 0 ? '-' : ''}${formatDuration(Math.abs(h.margin.marginMs))}: TOO SMALL, keep it at least ${COMFORT_FACTOR} times the worst interval`
      : 'margin not known yet';
    out.push(`  peers delete        after ${formatDuration(h.windowMs)}; ${margin}`);
  }
  if (h.latestGap) {
    out.push(`  MAY HAVE MISSED MAIL: the last listing came ${formatDuration(h.latestGap.gapMs)} after the one before, longer than peers keep mail (${formatDuration(h.windowMs!)})`);
  }
  if (h.overdueMs !== null) out.push(`  OVERDUE             no listing for ${formatDuration(h.overdueMs)}: peers may be deleting mail this host has not seen`);
  if (s.vanished.total > 0) {
    out.push(`  left before delivery ${s.vanished.total} message${s.vanished.total === 1 ? '' : 's'}, last ${when(s.vanished.lastAt)}`);
  }
  return out;
}

/**
 * `status --check`: one line as monitoring plugins print it, "PINCHMAIL WARNING - jobs: 3
 * failing messages (warning at 1) | perfdata", and their exit status: 0 OK, 1 WARNING,
 * 2 CRITICAL, 3 UNKNOWN (the config or the state database could not be read).
 */
async function statusCheck(options: StatusOptions, io: Io): Promise<number> {
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
  const store = await openStoreReadOnly(config);
  try {
    const summaries = await summariesOf(store, accounts);
    const results = accounts.map((account, i) => ({ account, ...assess(account, summaries[i]!, now, limits) }));
    const state = results.reduce((worst, r) => Math.max(worst, r.state), CHECK.OK as number);
    const bad = results.filter((r) => r.state !== CHECK.OK);
    const text = (bad.length ? bad.map((r) => `${r.account.name}: ${r.problems.join(', ')}`) : results.map((r) => `${r.account.name}: ${r.summary}`)).join('; ');
    const line = `PINCHMAIL ${STATE_NAME[state]} - ${text || 'no accounts'} | ${results.map((r) => r.perf).join(' ')}`;
    // One line: a server's or a command's words in a last error may hold newlines and controls.
    io.stdout.write(`${terminalText(line.replace(/[\r\n]+/g, ' ')).trimEnd()}\n`);
    return state;
  } finally {
    await store?.close();
  }
}
