import type { AccountConfig, RuleConfig, TargetConfig } from '../../config/types.js';
import { compileMatcher, type Matcher, type MessageFacts } from './matchers.js';

/** One place a message goes: which part of the config sent it there, and where (null: dropped). */
export interface Destination {
  by: string;
  target: TargetConfig | null;
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
  private readonly rules: { rule: RuleConfig; test: Matcher }[] | null;

  constructor(private readonly account: Routing) {
    this.rules = account.route?.map((rule) => ({ rule, test: compileMatcher(rule.match) })) ?? null;
  }

  /** Only a route looks at the message; without one, the target is known before a byte arrives. */
  get needsHeaders(): boolean {
    return this.rules !== null;
  }

  /** True when the failed runs so far send the message to the quarantine instead of the route. */
  quarantines(attempts: number): boolean {
    return this.account.onFailure !== null && attempts >= this.account.onFailure.after;
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
        takes.push({ by: rule.path, target: rule.target });
        if (!rule.continue) ended = true;
      }
    }
    if (!ended) takes.push({ by: `${this.account.path}.deliver`, target: this.account.deliver! });
    return { verdicts, takes };
  }
}
