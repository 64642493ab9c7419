import { readFileSync } from 'node:fs';
import { loadConfig } from '../config/load.js';
import { Headers } from '../deliver/route/headers.js';
import { describeMatcher } from './describe-matcher.js';
import { Router, type Destination } from '../deliver/route/router.js';
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
export function routeCommand(options: RouteOptions, io: Io): number {
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
  const results = accounts.map((account) => {
    const router = new Router(account);
    const { verdicts, takes } = router.needsHeaders ? router.explain(facts) : { verdicts: [], takes: router.decide(null, 0) };
    return { account, verdicts, takes };
  });

  if (options.json) {
    const doc = {
      message: { file: options.test, size: message.length, received: headers.count('received'), subject: headers.all('subject')[0] ?? null },
      accounts: results.map(({ account, verdicts, takes }) => ({
        name: account.name,
        rules: verdicts.map((v) => ({ rule: v.rule.path, match: describeMatcher(v.rule.match), matched: v.matched, taken: v.taken, continue: v.rule.continue })),
        deliveredTo: takes.map((t) => ({ by: t.by, target: t.target ? labelOf(t.target) : (t.unread ?? 'drop') })),
      })),
    };
    io.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    return EXIT.OK;
  }
  const subject = headers.all('subject')[0];
  const out = [`${options.test}: ${humanSize(message.length)}, ${headers.count('received')} Received, subject ${subject === undefined ? '(none)' : JSON.stringify(subject)}`];
  for (const { account, verdicts, takes } of results) {
    out.push(`${account.name}:`);
    if (verdicts.length === 0) out.push('  (no route)');
    const width = Math.max(0, ...verdicts.map((v) => describeMatcher(v.rule.match).length));
    for (const v of verdicts) {
      const target = v.rule.target ? labelOf(v.rule.target) : (v.rule.unread ?? 'drop');
      const what = v.taken ? `yes -> ${target}${v.rule.continue ? ' (and on)' : ' (ends the route)'}` : v.matched ? 'matches, but the route ended before it' : 'no';
      out.push(`  ${v.rule.path.replace(/^accounts\[\d+\]\./, '').padEnd(10)} ${describeMatcher(v.rule.match).padEnd(width)}  ${what}`);
    }
    out.push(`  goes to: ${takes.map(placeOf).join(', ')}`);
  }
  // The subject is the message's; JSON.stringify left its C1 and bidi controls as they were.
  io.stdout.write(`${terminalText(out.join('\n'))}\n`);
  return EXIT.OK;
}

function placeOf(t: Destination): string {
  if (t.target) return labelOf(t.target);
  if (t.unread === 'skip') return 'nowhere: left on the server unread (skip)';
  if (t.unread === 'kill') return 'nowhere: deleted from the server unread (kill)';
  return 'nowhere (dropped)';
}
