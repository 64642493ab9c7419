import type { AccountConfig, RuleConfig, TargetConfig, UnreadAction } from '../../config/types.js';
import { compileMatcher, readsHeaders, type Matcher, type MessageFacts } from './matchers.js';

/** One place a message goes: which part of the config sent it there, and where (null: dropped, or left unread). */
export interface Destination {
  by: string;
  target: TargetConfig | null;
  /** A "skip" or "kill" rule's: the message is not read at all (always the only destination). */
  unread?: UnreadAction;
}

/** The rule's destination. */
function destinationOf(rule: RuleConfig): Destination {
  return { by: rule.path, target: rule.target, ...(rule.unread ? { unread: rule.unread } : {}) };
}

export interface RuleVerdict {
  rule: RuleConfig;
  matched: boolean;
  /** Matched and reached (a rule after an ending one is never reached). */
  taken: boolean;
}

type Routing = Pick<AccountConfig, 'path' | 'route' | 'deliver' | 'onFailure'>;

/**
 * Where each message of an account goes: the `onFailure` target once it has failed
 * often enough, else the route's rules in order (an ending rule stops them), else
 * the account's `deliver`. Pure: facts in, targets out.
 */
export class Router {
  private readonly rules: { rule: RuleConfig; test: Matcher; readsHeaders: boolean }[] | null;

  constructor(private readonly account: Routing) {
    this.rules = account.route?.map((rule) => ({ rule, test: compileMatcher(rule.match), readsHeaders: readsHeaders(rule.match) })) ?? null;
  }

  /** Only a route looks at the message; without one, the target is known before a byte arrives. */
  get needsHeaders(): boolean {
    return this.rules !== null;
  }

  /** True when the failed runs so far send the message to the quarantine instead of the route. */
  quarantines(attempts: number): boolean {
    return this.account.onFailure !== null && attempts >= this.account.onFailure.after;
  }

  /** Whether `destination` is the quarantine (a message it took counts as quarantined). */
  isQuarantine(destination: Destination): boolean {
    return this.account.onFailure !== null && destination.by === this.account.onFailure.path;
  }

  /**
   * Where a message goes that a target refused for good (a command's permanent status):
   * straight to the quarantine, without waiting for `after` runs; null without one, or
   * when the quarantine itself refused it.
   */
  afterRefusal(takes: readonly Destination[]): Destination[] | null {
    const { onFailure } = this.account;
    if (!onFailure || takes.some((t) => t.by === onFailure.path)) return null;
    return [{ by: onFailure.path, target: onFailure.target }];
  }

  /**
   * Where the message goes when the size alone decides it: the quarantine, no route, or
   * rules that look only at the size up to the one that ends the route. Null when a rule
   * on the way reads the header (a message it might take is decided with the header).
   */
  decideBySize(size: number, attempts: number): Destination[] | null {
    if (this.quarantines(attempts) || !this.rules) return this.decide(null, attempts);
    const takes: Destination[] = [];
    for (const { rule, test, readsHeaders } of this.rules) {
      if (readsHeaders) return null;
      if (!test({ size, headers: NO_HEADERS })) continue;
      takes.push(destinationOf(rule));
      if (!rule.continue) return takes;
    }
    return [...takes, { by: `${this.account.path}.deliver`, target: this.account.deliver! }];
  }

  /** `facts` may be null only when `needsHeaders` is false or the message is quarantined. */
  decide(facts: MessageFacts | null, attempts: number): Destination[] {
    const { onFailure } = this.account;
    if (onFailure && attempts >= onFailure.after) return [{ by: onFailure.path, target: onFailure.target }];
    if (!this.rules) return [{ by: `${this.account.path}.deliver`, target: this.account.deliver! }];
    return this.explain(facts!).takes;
  }

  /** Every rule's verdict too, for `pinchmail route --test`. */
  explain(facts: MessageFacts): { verdicts: RuleVerdict[]; takes: Destination[] } {
    const verdicts: RuleVerdict[] = [];
    const takes: Destination[] = [];
    let ended = false;
    for (const { rule, test } of this.rules ?? []) {
      const matched = test(facts);
      const taken = matched && !ended;
      verdicts.push({ rule, matched, taken });
      if (taken) {
        takes.push(destinationOf(rule));
        if (!rule.continue) ended = true;
      }
    }
    if (!ended) takes.push({ by: `${this.account.path}.deliver`, target: this.account.deliver! });
    return { verdicts, takes };
  }
}

/** What a size-only matcher is given for the header it never reads. */
const NO_HEADERS = null as unknown as MessageFacts['headers'];
