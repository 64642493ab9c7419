import { formatDuration, formatSize } from '../config/duration.js';
import { loadConfig, targetsOf } from '../config/load.js';
import { ROOT } from '../config/processors.js';
import type { AccountConfig, RuleConfig, TargetConfig } from '../config/types.js';
import { resolveSecret } from '../config/secrets.js';
import { checkTarget, type TargetCheck } from '../deliver/check-target.js';
import { labelOf } from '../deliver/target.js';
import { describeMatcher } from './describe-matcher.js';
import { Pop3Error } from '../pop3/errors.js';
import { connectAndLogin } from '../run/connect.js';
import { peerWindow, pollingHealth, shortRetention } from '../plan/polling.js';
import { stateFileProblems } from '../state/state-files.js';
import { openStoreReadOnly, shownDatabase, type DatabaseConfig } from '../state/open-store.js';
import type { StateStore } from '../state/store.js';
import { readClock } from './clock.js';
import { marginProblem } from './status-command.js';
import { EXIT, describeFailure, exitCodeFor } from './exit-codes.js';
import type { CommonOptions, Io } from './options.js';
import { selectAccounts } from './select-accounts.js';
import { terminalText } from './terminal-text.js';

export interface CheckOptions extends CommonOptions {
  connect: boolean;
}

interface AccountCheck {
  account: AccountConfig;
  problem: unknown;
  connect: { method: string; secure: boolean; capabilities: string[]; sasl: string[]; certificate: string | null } | null;
  /** Each distinct target the account delivers to, as a run would meet it (nothing written or run). */
  targets: TargetCheck[];
  /** What may cost mail without being an error: a retention too short, polling too slow for it. */
  warnings: string[];
}

function passwordSource(account: AccountConfig): string {
  const p = account.password;
  if (typeof p === 'string') return 'in the config file (****)';
  if ('env' in p) return `from $${p.env}`;
  if ('file' in p) return `from the first line of ${p.file}`;
  return `from the command ${JSON.stringify(p.command)}`;
}

function targetText(t: TargetConfig): string {
  const limit = `timeout ${formatDuration(t.timeoutMs)}`;
  if (t.kind === 'maildir') return `Maildir ${t.dir}`;
  if (t.kind === 'mbox') return `mbox ${t.file} (lock and write within ${formatDuration(t.timeoutMs)})`;
  if (t.kind === 'lmtp' || t.kind === 'smtp') return `${labelOf(t)} (TLS ${t.tls}${t.auth ? `, login as ${t.auth.user}` : ''}, ${limit})`;
  return `command ${JSON.stringify(t.argv)} (${limit})`;
}

function targetJson(t: TargetConfig): Record<string, unknown> {
  if (t.kind === 'maildir') return { maildir: t.dir };
  if (t.kind === 'mbox') return { mbox: t.file };
  if (t.kind === 'lmtp' || t.kind === 'smtp') {
    return { [t.kind]: 'path' in t.address ? `unix:${t.address.path}` : `${t.address.host}:${t.address.port}`, to: t.to, ...(t.auth ? { authUser: t.auth.user } : {}) };
  }
  return { command: t.argv };
}

function tlsText(account: AccountConfig): string {
  if (account.tls === 'none') return 'none (no encryption)';
  const o = account.tlsOptions;
  // Offline nothing has been verified yet: say what will be checked, not that it was.
  const trust = o.insecure ? 'NOT verified (insecure)' : o.fingerprint ? `pinned to ${o.fingerprint}` : o.caFile ? `to be verified against ${o.caFile}` : 'to be verified against the system store';
  return `${account.tls}, certificate ${trust}${o.servername ? ` as ${o.servername}` : ''}`;
}

/** Fires with a TIMEOUT once `ms` have passed, without keeping the process alive for it. */
function deadlineSignal(ms: number): AbortSignal {
  const end = new AbortController();
  setTimeout(() => end.abort(new Pop3Error('TIMEOUT', `no login within the deadline (${formatDuration(ms)})`)), ms).unref();
  return end.signal;
}

/**
 * Warnings on the retention: one so short that any peer polling less often misses mail,
 * and, from this host's own recorded listings (null when its state files are not fit to
 * read), one not comfortably longer than its worst polling interval.
 */
function retentionWarnings(account: AccountConfig, listings: readonly number[] | null, now: number): string[] {
  const window = peerWindow(account);
  const warnings: string[] = [];
  // This host's own retention is what its peers must outpoll; peerRetention is what this host must.
  const retentions: [string, number | null][] = [['retention', account.retentionMs], ['peerRetention', account.peerRetentionMs]];
  for (const [key, ms] of retentions) {
    if (!shortRetention(ms)) continue;
    warnings.push(
      `${key} ${formatDuration(ms!)} is very short: a peer host that does not list the mailbox at least that often (cron runs at most once a minute) may never see mail ${key === 'retention' ? 'this host' : 'another host'} deleted; use "0" for a host of its own, or several times the slowest host's polling interval`,
    );
  }
  if (account.peerRetentionMs === 0) {
    warnings.push(
      'peerRetention "0": the other hosts delete what they deliver at once, so this host misses whatever they fetch first, and every run says so; hosts that share a mailbox need a retention longer than each one\'s polling interval',
    );
  }
  if (listings === null || window === null) return warnings;
  const margin = marginProblem(pollingHealth(window, listings, now));
  if (margin) warnings.push(margin);
  return warnings;
}

/**
 * Each account's recorded listings, read from the state database opened once (read-only,
 * as status does); null for all when its files are not fit to read or it cannot be read:
 * that is the run's problem to report, not a retention warning's.
 */
async function recordedListings(database: DatabaseConfig, fit: boolean, stateKeys: readonly string[]): Promise<Map<string, number[]> | null> {
  if (!fit) return null;
  let store: StateStore | null = null;
  try {
    store = await openStoreReadOnly(database);
    const listings = new Map<string, number[]>();
    for (const key of stateKeys) listings.set(key, (await store?.listingTimes(key)) ?? []);
    return listings;
  } catch {
    return null;
  } finally {
    await store?.close();
  }
}

/** `pinchmail check [--connect]`: validate the config and show it resolved, secrets masked. */
export async function checkCommand(options: CheckOptions, io: Io): Promise<number> {
  const now = readClock();
  const config = loadConfig(options.config);
  const accounts = options.account.length ? selectAccounts(config, options.account) : config.accounts;
  // What a run would refuse before it logs in: state files another user could have changed (nothing is created).
  const stateProblems = stateFileProblems(config.localState, accounts.map((a) => a.stateKey));
  const listings = await recordedListings(config, stateProblems.length === 0, accounts.map((a) => a.stateKey));
  const checks: AccountCheck[] = [];
  for (const account of accounts) {
    const check: AccountCheck = {
      account,
      problem: null,
      connect: null,
      targets: [...new Set(targetsOf(account))].map((t) => checkTarget(t)),
      warnings: retentionWarnings(account, listings?.get(account.stateKey) ?? null, now),
    };
    try {
      const secret = await resolveSecret(account.password, account.passwordPath);
      if (options.connect && (account.enabled || options.account.length)) {
        // Bounded like a run: a server trickling its greeting cannot keep `check` waiting.
        const { session, method } = await connectAndLogin(account, secret, { signal: deadlineSignal(account.deadlineMs) });
        // What the server says is shown with the password struck out, should it echo it.
        check.connect = {
          method,
          secure: session.secure,
          capabilities: [...(session.caps?.keys() ?? [])].map((c) => session.client.scrub(c)),
          sasl: session.saslOffered.map((m) => session.client.scrub(m)),
          certificate: session.certificateFingerprint,
        };
        await session.quit().catch(() => session.destroy());
      }
    } catch (err) {
      check.problem = err;
    }
    // A run of this account meets its state files' problem first (the database opens before the login).
    // A target no run could deliver to fails every message (exit 78); other problems come first.
    check.problem ??= check.targets.find((t) => t.problem)?.problem ?? null;
    check.problem = stateFileProblems(config.localState, [account.stateKey])[0] ?? check.problem;
    checks.push(check);
  }
  const problems = [...checks.flatMap((c) => (c.problem ? [c.problem] : [])), ...stateProblems];
  const exitCode = problems.map(exitCodeFor).find((c) => c !== 0) ?? EXIT.OK;

  if (options.json) {
    io.stdout.write(
      `${JSON.stringify(
        {
          config: config.file,
          database: shownDatabase(config.database),
          parallel: config.parallel,
          valid: exitCode === 0,
          stateFiles: { ok: stateProblems.length === 0, problems: stateProblems.map(describeFailure) },
          accounts: checks.map(({ account: a, problem, connect, targets, warnings }) => ({
            name: a.name,
            enabled: a.enabled,
            host: a.host,
            port: a.port,
            tls: a.tls,
            tlsOptions: a.tlsOptions,
            user: a.user,
            password: passwordSource(a),
            auth: a.auth,
            retention: formatDuration(a.retentionMs),
            deliver: a.deliver ? targetJson(a.deliver) : null,
            route: a.processors?.get(ROOT)?.rules.map(ruleJson) ?? null,
            processors: a.processors ? Object.fromEntries([...a.processors.values()].map((p) => [p.name, p.rules.map(ruleJson)])) : null,
            onFailure: a.onFailure ? { after: a.onFailure.after, ...(a.onFailure.target ? { deliver: targetJson(a.onFailure.target) } : { processor: a.onFailure.processor }) } : null,
            timeout: formatDuration(a.timeoutMs),
            keepalive: formatDuration(a.keepaliveMs),
            deadline: formatDuration(a.deadlineMs),
            every: formatDuration(a.everyMs),
            maxMessages: a.maxMessages,
            maxMessageSize: formatSize(a.maxMessageSize),
            stateKey: a.stateKey,
            error: problem ? describeFailure(problem) : null,
            exitCode: problem ? exitCodeFor(problem) : 0,
            connect,
            targets: targets.map((t) => ({ target: t.label, ok: t.ok, problem: t.problem ? describeFailure(t.problem) : null, note: t.note })),
            warnings,
          })),
        },
        null,
        2,
      )}\n`,
    );
    return exitCode;
  }

  const out = [`${config.file}: ${exitCode === 0 ? 'valid' : 'has problems'}`, `database: ${shownDatabase(config.database)}`];
  if (config.parallel > 1) out.push(`parallel: up to ${config.parallel} accounts at once`);
  if (stateProblems.length === 0) out.push('state files: ok (nothing there that another user could have changed)');
  for (const problem of stateProblems) out.push(`state files: PROBLEM ${describeFailure(problem)} (exit ${exitCodeFor(problem)})`);
  for (const { account: a, problem, connect, targets, warnings } of checks) {
    out.push(`${a.name}${a.enabled ? '' : ' (disabled)'}`);
    out.push(`  server     ${a.host}:${a.port}, tls ${tlsText(a)}`);
    out.push(`  login      ${a.user}, auth ${a.auth}, password ${passwordSource(a)}`);
    out.push(`  retention  ${formatDuration(a.retentionMs)}, network timeout ${formatDuration(a.timeoutMs)}, deadline ${formatDuration(a.deadlineMs)}`);
    out.push(`  limits     at most ${a.maxMessages} messages of at most ${formatSize(a.maxMessageSize)}; keepalive ${a.keepaliveMs > 0 ? formatDuration(a.keepaliveMs) : 'off'}`);
    if (a.deliver) out.push(`  deliver    ${targetText(a.deliver)}`);
    out.push(...routingLines(a));
    out.push(`  state key  ${a.stateKey}`);
    for (const t of targets) {
      // A problem names its target already.
      out.push(`  target     ${t.problem ? `PROBLEM ${describeFailure(t.problem)}` : `${t.label}: ok${t.note ? `; ${t.note}` : ''}`}`);
    }
    if (connect) {
      out.push(`  connect    ok: logged in with ${connect.method}${connect.secure ? ' over TLS' : ''}; server offers ${connect.capabilities.join(' ') || '(no CAPA)'}`);
      if (connect.sasl.length > 0) out.push(`  sasl       ${connect.sasl.join(' ')} (offered before login)`);
      if (connect.certificate) {
        const how = a.tlsOptions.insecure ? 'accepted unverified (insecure)' : a.tlsOptions.fingerprint ? 'the pinned one' : 'verified';
        out.push(`  certificate ${connect.certificate} (${how}; to pin it: "tlsOptions": { "fingerprint": "${connect.certificate}" })`);
      }
    }
    for (const warning of warnings) out.push(`  WARNING    ${warning}`);
    if (problem) out.push(`  PROBLEM    ${describeFailure(problem)} (exit ${exitCodeFor(problem)})`);
  }
  // Capabilities and problems are what a server said.
  io.stdout.write(`${terminalText(out.join('\n'))}\n`);
  return exitCode;
}

/** What a rule does, in `check --json`. */
function ruleJson(r: RuleConfig): { match: string; deliver: unknown; continue: boolean } {
  return { match: describeMatcher(r.match), deliver: r.target ? targetJson(r.target) : r.processor !== null ? { processor: r.processor } : (r.unread ?? 'drop'), continue: r.continue };
}

/** The account's rules, a line each: `route[1]` for a flat route, `transport[0]` for processors. */
function routingLines(a: AccountConfig): string[] {
  const out: string[] = [];
  for (const p of a.processors?.values() ?? []) {
    const flat = p.path.endsWith('.route');
    for (const [i, r] of p.rules.entries()) {
      const does = r.target ? targetText(r.target) : r.processor !== null ? `processor ${r.processor}` : (r.unread ?? 'drop');
      out.push(`  ${`${flat ? 'route' : p.name}[${i}]`.padEnd(10)} ${describeMatcher(r.match)} -> ${does}${r.continue ? ' (continue)' : ''}`);
    }
  }
  const f = a.onFailure;
  if (f) out.push(`  onFailure  after ${f.after} failed runs -> ${f.target ? targetText(f.target) : `processor ${f.processor}`}`);
  return out;
}
