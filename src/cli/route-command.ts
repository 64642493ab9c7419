import { readFileSync } from 'node:fs';
import { loadConfig } from '../config/load.js';
import { Headers } from '../deliver/route/headers.js';
import { describeMatcher } from './describe-matcher.js';
import { RouteDecider } from '../deliver/route/decide.js';
import { Router, type Destination, type RuleStep, type Routed } from '../deliver/route/router.js';
import { ROOT } from '../config/processors.js';
import type { AccountConfig, RuleConfig } from '../config/types.js';
import { labelOf } from '../deliver/target.js';
import { PinchmailError, fileProblem } from '../errors.js';
import { EXIT } from './exit-codes.js';
import type { CommonOptions, Io } from './options.js';
import { humanSize } from './render.js';
import { selectAccounts } from './select-accounts.js';
import { terminalText } from './terminal-text.js';

export interface RouteOptions extends CommonOptions {
  test: string;
}

/**
 * `pinchmail route --test FILE`: which rules a saved message would take, and where it
 * would go, per account, without a server. Sizes are the file's own.
 */
export async function routeCommand(options: RouteOptions, io: Io): Promise<number> {
  const config = loadConfig(options.config);
  const accounts = selectAccounts(config, options.account);
  let message: Buffer;
  try {
    message = readFileSync(options.test);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'EISDIR' ? 'it is a directory; give one message file' : fileProblem(err);
    throw new PinchmailError('USAGE', `route --test: cannot read ${options.test}: ${why}`);
  }
  const headers = Headers.parse(message);
  const facts = { headers, size: message.length };
  const results = await Promise.all(
    accounts.map(async (account) => {
      const router = new Router(account);
      // A DNSBL that cannot answer is said, as a run would log it.
      const decider = new RouteDecider(router, account.dnsbl, undefined, (warning) => io.stderr.write(`${terminalText(`pinchmail: ${account.name}: ${warning}`)}\n`));
      const routed = router.needsHeaders ? await decider.explain(facts, 0) : { takes: await decider.decide(null, 0), path: [], steps: [] };
      return { account, routed };
    }),
  );

  if (options.json) {
    const doc = {
      message: { file: options.test, size: message.length, received: headers.count('received'), subject: headers.all('subject')[0] ?? null },
      accounts: results.map(({ account, routed }) => ({
        name: account.name,
        path: routed.path,
        rules: routed.steps.map((s) => ({ processor: s.processor, rule: s.rule.path, match: describeMatcher(s.rule.match), matched: s.matched, taken: s.matched, continue: s.rule.continue })),
        ...(routed.error !== undefined ? { error: routed.error } : {}),
        deliveredTo: routed.takes.map((t) => ({ by: t.by, target: t.target ? labelOf(t.target) : (t.unread ?? 'drop') })),
      })),
    };
    io.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    return EXIT.OK;
  }
  const subject = headers.all('subject')[0];
  const out = [`${options.test}: ${humanSize(message.length)}, ${headers.count('received')} Received, subject ${subject === undefined ? '(none)' : JSON.stringify(subject)}`];
  for (const { account, routed } of results) out.push(...accountLines(account, routed));
  // The subject is the message's; JSON.stringify left its C1 and bidi controls as they were.
  io.stdout.write(`${terminalText(out.join('\n'))}\n`);
  return EXIT.OK;
}

/** The way through the processors, as James's flow diagram draws it: each rule tried, and what it did. */
function accountLines(account: AccountConfig, routed: Routed): string[] {
  const out = [`${account.name}:`];
  if (!account.processors) out.push('  (no route)');
  const flat = account.processors?.get(ROOT)?.path.endsWith('.route') ?? false;
  if (routed.path.length > 1 || (!flat && routed.path.length > 0)) out.push(`  path: ${routed.path.join(' -> ')}`);
  if (routed.error !== undefined) out.push(`  error: ${routed.error}; so it went to the error processor`);
  const label = (s: RuleStep): string => `${flat && s.processor === ROOT ? 'route' : s.processor}${s.rule.path.slice(s.rule.path.lastIndexOf('['))}`;
  const labelWidth = Math.max(10, ...routed.steps.map((s) => label(s).length));
  const width = Math.max(0, ...routed.steps.map((s) => describeMatcher(s.rule.match).length));
  for (const s of routed.steps) {
    out.push(`  ${label(s).padEnd(labelWidth)} ${describeMatcher(s.rule.match).padEnd(width)}  ${s.matched ? `yes -> ${actionOf(s.rule)}` : 'no'}`);
  }
  out.push(`  goes to: ${routed.takes.map(placeOf).join(', ')}`);
  return out;
}

function actionOf(rule: RuleConfig): string {
  if (rule.processor !== null) return `processor ${rule.processor}`;
  const target = rule.target ? labelOf(rule.target) : (rule.unread ?? 'drop');
  return `${target}${rule.continue ? ' (and on)' : ' (ends the route)'}`;
}

function placeOf(t: Destination): string {
  if (t.target) return labelOf(t.target);
  if (t.unread === 'skip') return 'nowhere: left on the server unread (skip)';
  if (t.unread === 'kill') return 'nowhere: deleted from the server unread (kill)';
  return 'nowhere (dropped)';
}
