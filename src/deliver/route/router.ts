import { ROOT } from '../../config/processors.js';
import type { AccountConfig, ProcessorConfig, RuleConfig, TargetConfig, UnreadAction } from '../../config/types.js';
import { errorMessage } from '../../errors.js';
import { LookupNeeded, compileMatcher, readsHeaders, type Matcher, type MessageFacts } from './matchers.js';

/** One place a message goes: which part of the config sent it there, and where (null: dropped, or left unread). */
export interface Destination {
  by: string;
  target: TargetConfig | null;
  /** A "skip" or "kill" rule's: the message is not read at all (always the only destination). */
  unread?: UnreadAction;
  /** Decided by the error processor (or onFailure's target): the message counts as quarantined. */
  quarantine?: true;
}

/** A rule the message was tried against, on its way. */
export interface RuleStep {
  processor: string;
  rule: RuleConfig;
  matched: boolean;
}

/** Where a message goes, and the way it went there, for `pinchmail route --test`. */
export interface Routed {
  takes: Destination[];
  /** The processors it went through, in order: root, transport, ... */
  path: string[];
  steps: RuleStep[];
  /** Why a matcher could not decide, when that sent the message to the error processor. */
  error?: string;
}

/** The router wants a DNSBL zone looked up before it can decide. */
export interface NeedsLookup {
  lookup: string;
}

type Routing = Pick<AccountConfig, 'path' | 'processors' | 'deliver' | 'onFailure'>;

interface CompiledRule {
  rule: RuleConfig;
  test: Matcher;
  readsHeaders: boolean;
}

/**
 * Where each message of an account goes: through the processors from "root" (or the
 * error processor once it has failed often enough), rule by rule, as Apache James's
 * spool manager sends mail through its processors; a message no ending rule takes goes
 * to the account's `deliver`. Pure: facts in, destinations out; a DNSBL answer it lacks
 * is asked for (NeedsLookup), not looked up.
 */
export class Router {
  private readonly processors: ReadonlyMap<string, CompiledRule[]> | null;

  constructor(private readonly account: Routing) {
    this.processors = account.processors ? new Map([...account.processors.values()].map((p: ProcessorConfig) => [p.name, p.rules.map(compile)])) : null;
  }

  /** Only processors look at the message; without them, the target is known before a byte arrives. */
  get needsHeaders(): boolean {
    return this.processors !== null;
  }

  /** True when the failed runs so far send the message to the quarantine instead of "root". */
  quarantines(attempts: number): boolean {
    return this.account.onFailure !== null && attempts >= this.account.onFailure.after;
  }

  /** Whether `destination` is the quarantine's (a message it took counts as quarantined). */
  isQuarantine(destination: Destination): boolean {
    return destination.quarantine === true;
  }

  /**
   * Where the message goes when the size alone decides it: rules that look only at the
   * size, up to the one that ends its way. Null when a rule on the way reads the header
   * (a message it might take is decided with the header).
   */
  decideBySize(size: number, attempts: number): Destination[] | null {
    const facts = { size, headers: NO_HEADERS };
    const routed = this.walk(this.entry(this.quarantines(attempts)), (c) => (c.readsHeaders ? null : c.test(facts)));
    return routed?.takes ?? null;
  }

  /**
   * Where the message goes. `facts` may be null only when `needsHeaders` is false, or the
   * message is quarantined to onFailure's one target.
   */
  decide(facts: MessageFacts | null, attempts: number): Destination[] | NeedsLookup {
    const routed = this.explain(facts, attempts);
    return 'lookup' in routed ? routed : routed.takes;
  }

  /**
   * Where a message goes that a target refused for good (a command's permanent status):
   * straight to the quarantine, without waiting for `after` runs; null without one, or
   * when the quarantine itself refused it.
   */
  afterRefusal(takes: readonly Destination[], facts: MessageFacts): Destination[] | NeedsLookup | null {
    if (!this.hasQuarantineFor(takes)) return null;
    return this.decide(facts, Number.POSITIVE_INFINITY);
  }

  /**
   * Whether a message these destinations refused has a quarantine left to go to: not when
   * there is none, nor when the quarantine (or its processor, reached by a branch) refused it.
   */
  hasQuarantineFor(takes: readonly Destination[]): boolean {
    const { onFailure } = this.account;
    if (!onFailure) return false;
    return !takes.some((t) => t.quarantine || (onFailure.processor !== null && t.by.startsWith(`${onFailure.path}[`)));
  }

  /** The way the message goes, rule by rule. */
  explain(facts: MessageFacts | null, attempts: number): Routed | NeedsLookup {
    const quarantined = this.quarantines(attempts);
    try {
      return this.walk(this.entry(quarantined), (c) => c.test(facts!))!;
    } catch (err) {
      if (err instanceof LookupNeeded) return { lookup: err.zone };
      // As in James, a message a matcher cannot decide goes to the error processor; failing there too, it waits for the next run.
      if (quarantined || !this.account.onFailure) throw err;
      const routed = this.explain(facts, Number.POSITIVE_INFINITY);
      return 'lookup' in routed ? routed : { ...routed, error: errorMessage(err) };
    }
  }

  private entry(quarantined: boolean): { name: string } | Destination {
    const { onFailure } = this.account;
    if (quarantined && onFailure) return onFailure.target ? { by: onFailure.path, target: onFailure.target, quarantine: true } : { name: onFailure.processor };
    return { name: ROOT };
  }

  /**
   * Follows the rules from the entry: a rule that matches takes the message (and it goes
   * on down the processor if the rule says "continue"), or moves it to another processor
   * from that one's first rule; the account's deliver takes what reaches an end. `test`
   * returns null when it cannot tell: then so does the walk.
   */
  private walk(entry: { name: string } | Destination, test: (rule: CompiledRule) => boolean | null): Routed | null {
    if ('by' in entry) return { takes: [entry], path: [], steps: [] };
    // Without processors a quarantined message has onFailure's one target: its entry is that destination.
    if (!this.processors) return { takes: [{ by: `${this.account.path}.deliver`, target: this.account.deliver! }], path: [], steps: [] };
    const routed: Routed = { takes: [], path: [], steps: [] };
    const quarantine = this.account.onFailure?.processor ?? null;
    let processor: string | null = entry.name;
    let inQuarantine = false;
    while (processor !== null) {
      routed.path.push(processor);
      // Once in the quarantine's processor, entered for a failure or by a branch, what takes the message is the quarantine: a refusal there has nowhere else to go.
      inQuarantine ||= processor === quarantine;
      const next = this.walkProcessor(processor, test, routed, inQuarantine ? { quarantine: true } : {});
      if (next === undefined) return null;
      processor = next;
    }
    return routed;
  }

  /** The next processor, null when the message's way has ended, undefined when `test` could not tell. */
  private walkProcessor(name: string, test: (rule: CompiledRule) => boolean | null, routed: Routed, mark: { quarantine?: true }): string | null | undefined {
    for (const compiled of this.processors!.get(name)!) {
      const matched = test(compiled);
      if (matched === null) return undefined;
      const { rule } = compiled;
      routed.steps.push({ processor: name, rule, matched });
      if (!matched) continue;
      if (rule.processor !== null) return rule.processor;
      routed.takes.push({ by: rule.path, target: rule.target, ...(rule.unread ? { unread: rule.unread } : {}), ...mark });
      if (!rule.continue) return null;
    }
    routed.takes.push({ by: `${this.account.path}.deliver`, target: this.account.deliver!, ...mark });
    return null;
  }
}

function compile(rule: RuleConfig): CompiledRule {
  return { rule, test: compileMatcher(rule.match), readsHeaders: readsHeaders(rule.match) };
}

/** What a size-only matcher is given for the header it never reads. */
const NO_HEADERS = null as unknown as MessageFacts['headers'];
