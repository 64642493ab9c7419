import { ConfigError } from '../errors.js';
import type { RuleSpec } from './route-schema.js';
import { childPath } from './shape.js';
import { findLoop, reachableFrom, type Graph } from '../util/graph.js';
import type { OnFailureConfig, ProcessorConfig, RuleConfig, TargetConfig } from './types.js';

/** The processor a message starts in (James's "root"). */
export const ROOT = 'root';
/** The processor that takes failed messages when onFailure names none (James's "error"). */
export const ERROR = 'error';
/** Failed runs before a message goes to the "error" processor, when onFailure does not say. */
export const DEFAULT_ERROR_AFTER = 5;

interface RouteInput<Target> {
  route: { value: RuleSpec<Target>[] | undefined; path: string };
  processors: { value: Record<string, RuleSpec<Target>[]> | undefined; path: string };
  onFailure: { value: ({ after: number } & ({ deliver: Target } | { processor: string })) | undefined; path: string };
  /** Where the account's deliver is set; null when it has none. */
  deliverPath: string | null;
  resolve: (spec: Target, at: string) => TargetConfig;
}

/**
 * The account's processors, resolved and checked as a whole: every branch leads to a
 * processor that exists, no branch comes back round, every processor is reached, and
 * every message has somewhere to go. A flat `route` is the processor "root".
 */
export function resolveRouting<Target>(input: RouteInput<Target>): { processors: ReadonlyMap<string, ProcessorConfig> | null; onFailure: OnFailureConfig | null } {
  const { route, processors: written, deliverPath } = input;
  if (route.value && written.value) {
    throw new ConfigError(route.path, `"route" is the processor "root" written on its own; with "processors", move its rules to ${childPath(written.path, ROOT)}`);
  }
  const processors = new Map<string, ProcessorConfig>();
  if (route.value) processors.set(ROOT, resolveProcessor(ROOT, route.path, route.value, input.resolve));
  for (const [name, rules] of Object.entries(written.value ?? {})) processors.set(name, resolveProcessor(name, childPath(written.path, name), rules, input.resolve));
  const onFailure = resolveOnFailure(input, processors);
  if (processors.size === 0) return { processors: null, onFailure };

  checkBranches(processors);
  checkReached(processors, onFailure);
  checkEnds(processors, deliverPath);
  checkUnreadFirst(processors, onFailure);
  return { processors, onFailure };
}

function resolveProcessor<Target>(name: string, path: string, rules: RuleSpec<Target>[], resolve: RouteInput<Target>['resolve']): ProcessorConfig {
  const resolved: RuleConfig[] = rules.map((rule, i) => ({
    path: `${path}[${i}]`,
    match: rule.match,
    target: rule.deliver !== undefined ? resolve(rule.deliver, `${path}[${i}].deliver`) : null,
    unread: rule.skip ? ('skip' as const) : rule.kill ? ('kill' as const) : null,
    processor: rule.processor ?? null,
    continue: rule.continue ?? false,
  }));
  const catchAll = resolved.findIndex(takesEverything);
  if (catchAll !== -1 && catchAll < resolved.length - 1) {
    throw new ConfigError(resolved[catchAll + 1]!.path, `unreachable: ${resolved[catchAll]!.path} ("match": "all") ends the ${name === ROOT ? 'route' : `processor "${name}"`} for every message before it`);
  }
  return { name, path, rules: resolved };
}

/** A rule that takes every message and ends its processor: nothing after it is ever tried. */
function takesEverything(rule: RuleConfig): boolean {
  return rule.match === 'all' && !rule.continue;
}

function resolveOnFailure<Target>(input: RouteInput<Target>, processors: ReadonlyMap<string, ProcessorConfig>): OnFailureConfig | null {
  const { value, path } = input.onFailure;
  if (!value) {
    // As in James, a processor named "error" takes what failed without being named.
    const error = processors.get(ERROR);
    return error ? { after: DEFAULT_ERROR_AFTER, path: error.path, target: null, processor: ERROR } : null;
  }
  if ('processor' in value) {
    if (!processors.has(value.processor)) throw new ConfigError(childPath(path, 'processor'), noSuchProcessor(value.processor, processors));
    return { after: value.after, path: processors.get(value.processor)!.path, target: null, processor: value.processor };
  }
  return { after: value.after, path, target: input.resolve(value.deliver, `${path}.deliver`), processor: null };
}

function noSuchProcessor(name: string, processors: ReadonlyMap<string, ProcessorConfig>): string {
  if (processors.size === 0) return `no processor is named "${name}": the account has no "processors"`;
  return `no processor is named "${name}" (there ${processors.size === 1 ? 'is' : 'are'} ${[...processors.keys()].map((n) => `"${n}"`).join(', ')})`;
}

/** Every branch leads to a processor that exists, and none leads back to where it came from (a message would go round for ever). */
function checkBranches(processors: ReadonlyMap<string, ProcessorConfig>): void {
  for (const { rules } of processors.values()) {
    for (const rule of rules) {
      if (rule.processor !== null && !processors.has(rule.processor)) throw new ConfigError(`${rule.path}.processor`, noSuchProcessor(rule.processor, processors));
    }
  }
  const loop = findLoop(branches(processors));
  if (loop) {
    const via = processors.get(loop.at(-2)!)!.rules.find((r) => r.processor === loop.at(-1))!;
    throw new ConfigError(`${via.path}.processor`, `a loop: ${loop.join(' -> ')}; a message would go round for ever`);
  }
}

/** Each processor's branches, by name. */
function branches(processors: ReadonlyMap<string, ProcessorConfig>): Graph {
  return new Map([...processors.values()].map((p) => [p.name, p.rules.flatMap((r) => (r.processor !== null ? [r.processor] : []))]));
}

/** A processor no message can reach is a mistake in the config, most likely a misspelt branch. */
function checkReached(processors: ReadonlyMap<string, ProcessorConfig>, onFailure: OnFailureConfig | null): void {
  const reached = reachableFrom(branches(processors), [ROOT, ...(onFailure?.processor ? [onFailure.processor] : [])]);
  for (const p of processors.values()) {
    if (!reached.has(p.name)) {
      throw new ConfigError(p.path, p.name === ROOT ? 'never reached' : `never reached: no rule moves a message to "${p.name}"${onFailure?.processor ? '' : ' and onFailure does not name it'}`);
    }
  }
}

/** A message that reaches the end of a processor goes to the account's deliver: there must be one, and it must be needed. */
function checkEnds(processors: ReadonlyMap<string, ProcessorConfig>, deliverPath: string | null): void {
  const open = [...processors.values()].filter((p) => !takesEverything(p.rules.at(-1)!));
  if (open.length > 0 && deliverPath === null) {
    const p = open[0]!;
    throw new ConfigError(
      p.path,
      p.name === ROOT && !p.path.includes('processors')
        ? 'without "deliver", the route must end with a rule { "match": "all", ... } (without "continue"), so that every message has somewhere to go'
        : `messages that reach the end of "${p.name}" have nowhere to go: end it with a rule { "match": "all", ... } (without "continue"), or give the account a "deliver"`,
    );
  }
  if (open.length === 0 && deliverPath !== null) {
    const ends = [...processors.values()].map((p) => p.rules.at(-1)!.path);
    throw new ConfigError(deliverPath, `never used: ${ends.join(', ')} ("match": "all") take${ends.length === 1 ? 's' : ''} every message first; remove one of them`);
  }
}

/**
 * A "skip" or "kill" rule leaves the message unread, which is wrong once a rule with
 * "continue" may already have delivered it: checked along every path a message can take.
 */
function checkUnreadFirst(processors: ReadonlyMap<string, ProcessorConfig>, onFailure: OnFailureConfig | null): void {
  // Whether something took the message on the way is all that matters, so each processor is walked at most twice.
  const walked = new Set<string>();
  const todo: { name: string; took: string | null }[] = [ROOT, ...(onFailure?.processor ? [onFailure.processor] : [])].filter((n) => processors.has(n)).map((name) => ({ name, took: null }));
  while (todo.length > 0) {
    const { name, took: tookBefore } = todo.pop()!;
    const key = `${tookBefore !== null}:${name}`;
    if (walked.has(key)) continue;
    walked.add(key);
    let took = tookBefore;
    for (const rule of processors.get(name)!.rules) {
      if (rule.unread !== null && took !== null) {
        throw new ConfigError(rule.path, `a "${rule.unread}" rule must come before any rule with "continue" (${took}), which may already have delivered the message`);
      }
      if (rule.processor !== null) todo.push({ name: rule.processor, took });
      if (rule.continue) took ??= rule.path;
    }
  }
}
