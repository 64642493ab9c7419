import { formatDuration } from '../config/duration.js';
import type { AccountReport, MessageReport } from '../run/report.js';
import { describeFailure, exitCodeFor } from './exit-codes.js';
import { terminalText } from './terminal-text.js';

export function accountExitCode(report: AccountReport): number {
  return report.error ? exitCodeFor(report.error) : 0;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A dry run's message never seen before: its "first seen" would be this run's clock, which it has not been given. */
function neverSeen(m: MessageReport, dryRun: boolean): boolean {
  return dryRun && m.ageMs === 0;
}

function messageJson(m: MessageReport, dryRun: boolean): Record<string, unknown> {
  return {
    uidl: m.uidl,
    size: m.size,
    firstSeen: neverSeen(m, dryRun) ? null : iso(m.firstSeen),
    ...(neverSeen(m, dryRun) ? { new: true } : {}),
    ageSeconds: Math.floor(m.ageMs / 1000),
    ...(m.afterDelivery ? { afterDelivery: true } : {}),
    ...(m.unread ? { unread: true } : {}),
    ...(m.outcome ? { outcome: m.outcome } : {}),
    ...(m.error ? { error: m.error } : {}),
  };
}

/** The --json document of SPEC.md; fields beyond the fixed ones are additions. */
export function fetchJson(reports: readonly AccountReport[], dryRun: boolean): string {
  const doc = {
    dryRun,
    accounts: reports.map((r) => ({
      name: r.name,
      status: r.status,
      error: r.error ? describeFailure(r.error) : null,
      exitCode: accountExitCode(r),
      delivered: r.delivered,
      dropped: r.dropped,
      quarantined: r.quarantined,
      failed: r.failed,
      skipped: r.skipped,
      killed: r.killed,
      deleted: r.deleted,
      deferred: r.deferred,
      onServer: r.onServer,
      leftOnServer: leftOnServer(r),
      fetch: r.fetch.map((m) => messageJson(m, dryRun)),
      delete: r.delete.map((m) => messageJson(m, dryRun)),
      vanished: r.vanished.map((v) => ({ uidl: v.uidl, firstSeen: iso(v.firstSeen) })),
      unidentified: r.unidentified.map((u) => ({ msgNo: u.msgNo, uidl: u.uidl, why: u.why })),
      listingGap: r.listingGap
        ? {
            previousListing: iso(r.listingGap.previous),
            gapSeconds: Math.floor(r.listingGap.gapMs / 1000),
            peerRetentionSeconds: Math.floor(r.listingGap.windowMs / 1000),
          }
        : null,
    })),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

export function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes}B`;
  const units = ['K', 'M', 'G', 'T'];
  let value = bytes;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)}${units[unit]}`;
}

/** What is on the server once the run is over: listed, less what this run deleted (QUIT taken). */
export function leftOnServer(report: AccountReport): number | null {
  return report.onServer === null ? null : report.onServer - report.deleted;
}

/**
 * The one convention for times shown to a person (dry run, status): ISO 8601 local time
 * with its UTC offset, "2026-12-02 09:14:03+01:00". --json and JSON logs keep UTC ("Z").
 */
export function localTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number): string => String(n).padStart(2, '0');
  const offset = -d.getTimezoneOffset();
  const zone = `${offset < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${zone}`;
}

export function age(ms: number): string {
  return ms < 1000 ? 'new' : formatDuration(ms);
}

/**
 * One line per account: what the run did, or why it failed (without the name when a log
 * line carries it). The line with the name is printed as it is, so it is terminal text;
 * the one without is a log message, which the text logger escapes and the JSON log
 * must carry as the server said it.
 */
export function fetchSummary(report: AccountReport, withName = true): string {
  const line = summaryLine(report, withName);
  return withName ? terminalText(line) : line;
}

function summaryLine(report: AccountReport, withName: boolean): string {
  const code = accountExitCode(report);
  const who = withName ? `${report.name}: ` : '';
  if (report.status === 'skipped') return report.error ? `${who}${describeFailure(report.error)} (exit ${code})` : `${who}skipped: another host of the group is polling it`;
  const parts: string[] = [];
  if (report.onServer !== null) {
    parts.push(`${report.delivered} delivered${report.dropped ? ` (${report.dropped} dropped)` : ''}`);
    if (report.failed) parts.push(`${report.failed} FAILED (left on the server, tried again next run)`);
    if (report.skipped) parts.push(`${report.skipped} skipped (left on the server unread)`);
    if (report.killed) parts.push(`${report.killed} killed (deleted unread)`);
    if (report.deferred) parts.push(`${report.deferred} left for the next run by the per-run limit`);
    parts.push(`${report.deleted} deleted`);
    parts.push(`${leftOnServer(report)} left on server`);
    if (report.vanished.length) parts.push(`${report.vanished.length} left the server before this host delivered them`);
    if (report.listingGap) parts.push(`may have missed mail: ${formatDuration(report.listingGap.gapMs)} since the last listing, peers delete after ${formatDuration(report.listingGap.windowMs)}`);
  }
  const said = [parts.join(', '), report.error ? describeFailure(report.error) : ''].filter(Boolean).join(' — ');
  return `${who}${said}${code ? ` (exit ${code})` : ''}`;
}

/**
 * The --dry-run listing: what would be fetched and deleted, with UIDL, size, first seen
 * and age; printed as it is, so terminal text. (Listed UIDLs are RFC 1939 unique-ids,
 * printable ASCII, so escaping after the layout never shifts a column.)
 */
export function dryRunListing(report: AccountReport): string {
  const skipped = report.skipped ? `, would skip ${report.skipped} (left unread)` : '';
  const lines = [`${report.name}: ${report.onServer} on server; would fetch ${report.fetch.length}, would delete ${report.delete.length}${skipped}`];
  const rows: string[][] = [];
  const seen = (m: MessageReport): string => (neverSeen(m, true) ? '-' : localTime(m.firstSeen));
  for (const m of report.fetch) rows.push(['fetch', m.uidl, humanSize(m.size), seen(m), age(m.ageMs)]);
  for (const m of report.delete) {
    const when = m.afterDelivery ? ' (once delivered)' : m.unread ? ' (unread: a kill rule)' : '';
    rows.push(['delete', m.uidl, humanSize(m.size), seen(m), `${age(m.ageMs)}${when}`]);
  }
  if (rows.length) {
    const header = ['', 'UIDL', 'SIZE', 'FIRST SEEN', 'AGE'];
    // A loop, not Math.max(...rows): a mailbox of 200,000 messages would overflow the stack.
    const widths = header.map((h, i) => rows.reduce((w, r) => Math.max(w, r[i]!.length), h.length));
    const fmt = (r: string[]): string => `  ${r.map((c, i) => (i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd()}`;
    lines.push(fmt(header));
    for (const r of rows) lines.push(fmt(r));
  }
  return `${terminalText(lines.join('\n'))}\n`;
}
