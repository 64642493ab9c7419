import type { DnsblConfig } from '../../config/types.js';
import { errorMessage } from '../../errors.js';
import type { MessageFacts } from './matchers.js';
import type { Destination, NeedsLookup, Routed, Router } from './router.js';

/** Looks up whether an address is listed in a DNSBL zone; throws when the lookup fails. */
export interface DnsblLookupFn {
  listed(ip: string, zone: string): Promise<boolean>;
}

/**
 * The router's decisions with the DNSBL lookups they need done: the router says which
 * zone it is missing, this looks it up (once per message and zone) and asks again.
 * The lookup is made on first use, so an account without inSpammerBlacklist never
 * loads a resolver.
 */
export class RouteDecider {
  private lookup: DnsblLookupFn | null = null;
  private readonly failedZones = new Set<string>();

  constructor(
    readonly router: Router,
    private readonly dnsbl: DnsblConfig,
    private readonly makeLookup: (config: DnsblConfig) => Promise<DnsblLookupFn> = defaultLookup,
    /** Told when a DNSBL zone could not answer, and when a matcher could not decide and the error processor took the message. */
    private readonly warn: (message: string) => void = () => {},
  ) {}

  async decide(facts: MessageFacts | null, attempts: number, uidl?: string): Promise<Destination[]> {
    if (facts === null) return this.settle(null, (f) => this.router.decide(f, attempts));
    const routed = await this.explain(facts, attempts);
    if (routed.error !== undefined) this.warn(`message ${uidl ?? '(unknown)'}: ${routed.error}; it goes to the error processor`);
    return routed.takes;
  }

  async explain(facts: MessageFacts, attempts: number): Promise<Routed> {
    return this.settle(facts, (f) => this.router.explain(f, attempts));
  }

  /** The quarantine's destinations for a message a target refused for good; null when it has nowhere else to go. */
  async afterRefusal(takes: readonly Destination[], facts: () => Promise<MessageFacts>): Promise<Destination[] | null> {
    if (!this.router.hasQuarantineFor(takes)) return null;
    return this.settle(await facts(), (f) => this.router.afterRefusal(takes, f!)!);
  }

  private async settle<T extends object>(facts: MessageFacts | null, ask: (facts: MessageFacts | null) => T | NeedsLookup): Promise<T> {
    if (facts === null) return ask(null) as T;
    const answers = new Map(facts.dnsbl ?? []);
    let current: MessageFacts = { ...facts, dnsbl: answers };
    for (;;) {
      const result = ask(current);
      if (!('lookup' in result)) return result;
      // Each answer is kept, so the router, asking only for zones its rules name, runs out of questions.
      if (answers.has(result.lookup)) throw new Error(`the router asked twice for DNSBL zone ${result.lookup}`);
      answers.set(result.lookup, await this.listed(current, result.lookup));
      current = { ...current, dnsbl: answers };
    }
  }

  /**
   * Listed or not. A zone that could not answer counts as not listing anyone, as James's
   * InSpammerBlacklist takes it: a DNS outage lets spam through to the usual place rather
   * than quarantining, or holding back, every message. It is said once, and not asked again
   * this run, so an outage costs one timeout per zone, not one per message.
   */
  private async listed(facts: MessageFacts, zone: string): Promise<boolean> {
    if (this.failedZones.has(zone)) return false;
    const { candidateAddresses } = await import('./dnsbl.js');
    // No client your own MTA recorded (mail made on this side) leaves nothing to look up, as James never looks up its own.
    const ips = candidateAddresses(facts.headers.all('received'), this.dnsbl.trustedHops);
    try {
      this.lookup ??= ips.length > 0 ? await this.makeLookup(this.dnsbl) : null;
      for (const ip of ips) if (await this.lookup!.listed(ip, zone)) return true;
      return false;
    } catch (err) {
      if (!this.failedZones.has(zone)) this.warn(`${errorMessage(err)}; for the rest of this run, zone ${zone} is taken to list no one`);
      this.failedZones.add(zone);
      return false;
    }
  }
}

async function defaultLookup(config: DnsblConfig): Promise<DnsblLookupFn> {
  const { DnsblLookup } = await import('./dnsbl.js');
  // Two tries of half the time each: one lost UDP answer costs a retry, and the whole lookup stays within the configured timeout.
  return new DnsblLookup({ ...(config.servers ? { servers: config.servers } : {}), timeoutMs: Math.max(1, Math.ceil(config.timeoutMs / 2)), tries: 2 });
}
