import { promises as dns } from 'node:dns';
import net from 'node:net';
import { PinchmailError } from '../../errors.js';

/**
 * DNSBL lookups for the inSpammerBlacklist matcher (RFC 5782): which client handed
 * the message to the operator's own MTA, as that MTA recorded it in a Received:
 * header, and whether a DNSBL zone lists it.
 */

// ---------------------------------------------------------------------------------
// Which address to look up

/**
 * The address of the client that handed the message to the operator's MTA: the one
 * recorded by Received header number `trustedHops` (1-based from the top, topmost
 * newest). Only that header is read: those above it are the operator's own hops, those
 * below were written by hosts anyone may run, so an address in them proves nothing.
 * Null when the header is missing or names no client address unambiguously.
 */
export function connectingAddress(received: readonly string[], trustedHops: number): string | null {
  const header = received[trustedHops - 1];
  if (header === undefined) return null;
  const clause = fromClause(header);
  return clause === null ? null : clientAddress(clause);
}

/** Addresses looked up for one message at most. */
const MAX_CANDIDATES = 8;

/**
 * Every address the trusted Received header names, the one connectingAddress picks first.
 * The HELO is the client's to write (Postfix keeps spaces and parentheses in it), so no
 * parse of the header can be sure which address the MTA wrote: a message counts as listed
 * when any of them is, so a forged address can add lookups but never hide the client.
 */
export function candidateAddresses(received: readonly string[], trustedHops: number): string[] {
  const header = received[trustedHops - 1];
  if (header === undefined) return [];
  const found = new Set<string>();
  const first = connectingAddress(received, trustedHops);
  if (first !== null) found.add(first);
  for (const m of header.replace(/helo=\S*/gi, ' ').matchAll(/\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]|\(([0-9A-Fa-f:.]+)\)/gi)) {
    const ip = normalAddress(m[1] ?? m[2]!);
    if (ip !== null) found.add(ip);
  }
  return [...found].slice(0, MAX_CANDIDATES);
}


/** A from clause split at paren depth 0: the words outside comments, and each top-level comment's text. */
interface FromClause {
  words: string[];
  comments: string[];
}

/**
 * The `from ...` part of a Received header, up to its `by` (or `with`, `id`, `for`,
 * `;`) at paren depth 0, so that a `by` inside a comment, and the receiving host's own
 * address after `by`, are never taken for the client's.
 */
function fromClause(header: string): FromClause | null {
  const text = header.trim();
  if (!/^from\s/i.test(text)) return null;
  const clause: FromClause = { words: [], comments: [] };
  let depth = 0;
  let word = '';
  let comment = '';
  const endWord = (): boolean => {
    // Another clause starts: the from clause ends here. Not at the first word, the
    // client's HELO name: a client saying HELO by must not hide its address.
    if (clause.words.length + clause.comments.length > 0 && /^(by|with|id|for|via)$/i.test(word)) return true;
    if (word !== '') clause.words.push(word);
    word = '';
    return false;
  };
  for (let i = 'from'.length; i < text.length; i++) {
    const c = text[i]!;
    if (depth > 0) {
      if (c === '\\' && i + 1 < text.length) {
        comment += text[++i];
        continue;
      }
      if (c === '(') depth++;
      if (c === ')') depth--;
      if (depth === 0) {
        clause.comments.push(comment);
        comment = '';
      } else {
        comment += c;
      }
      continue;
    }
    if (c === '(' || c === ';' || /\s/.test(c)) {
      if (endWord() || c === ';') return clause;
      if (c === '(') depth = 1;
      continue;
    }
    word += c;
  }
  // An unclosed comment is junk, not a clause to trust.
  if (depth > 0) return null;
  endWord();
  return clause;
}

/**
 * The client's address in a from clause, by the shapes MTAs write:
 * - in a comment, in brackets: Postfix and sendmail `helo (rdns [ip])`, Exim
 *   `rdns ([ip]:port helo=x)`, Dovecot LMTP `lhlo ([ip])`; never an Exim `helo=[ip]`,
 *   which is only what the client claimed;
 * - else a bracketed word outside comments: Exim `[ip] (helo=x)` (no reverse DNS),
 *   sendmail without HELO `rdns [ip]`;
 * - else a comment that is nothing but an address: qmail `(HELO x) (ip)` or
 *   `(ident@ip)`, Exchange `(ip)`.
 * Of several at the same step, the last: the MTA writes its own comment after the HELO
 * name, which the client chose and may dress up as a comment with a clean address.
 */
function clientAddress(clause: FromClause): string | null {
  const steps: (() => string[])[] = [
    () => clause.comments.flatMap(bracketedInComment),
    () => clause.words.flatMap(bracketedWord),
    () => clause.comments.flatMap(bareInComment),
  ];
  for (const step of steps) {
    const found = step();
    if (found.length > 0) return found.at(-1)!;
  }
  return null;
}

function bracketedInComment(comment: string): string[] {
  const found: string[] = [];
  // Exim's helo=... is what the client claimed, brackets and all (helo=a[127.0.0.2]): never the client's address.
  for (const m of comment.replace(/helo=\S*/gi, ' ').matchAll(/\[([^\][\s]*)\]/g)) {
    const ip = literalAddress(m[1]!);
    if (ip !== null) found.push(ip);
  }
  return found;
}

function bracketedWord(word: string): string[] {
  // Exim appends the client's port when it logs ports: [ip]:port.
  const m = /^\[([^\][]*)\](?::\d+)?$/.exec(word);
  const ip = m ? literalAddress(m[1]!) : null;
  return ip === null ? [] : [ip];
}

function bareInComment(comment: string): string[] {
  // qmail puts the client's ident answer before its address: (ident@ip).
  const m = /^\s*(?:[^\s@()]+@)?([0-9A-Fa-f:.]+)\s*$/.exec(comment);
  const ip = m ? normalAddress(m[1]!) : null;
  return ip === null ? [] : [ip];
}

/** An address literal's contents (RFC 5321 §4.1.3: `a.b.c.d` or `IPv6:...`; Exim and Dovecot write IPv6 bare). */
function literalAddress(inside: string): string | null {
  return normalAddress(inside.replace(/^IPv6:/i, ''));
}

/** A valid IPv4 or IPv6 address, IPv4-mapped IPv6 as the IPv4 it is, or null. */
function normalAddress(text: string): string | null {
  // A zone index (fe80::1%eth0) names an interface of the MTA's host, not a client anywhere else.
  if (text.includes('%')) return null;
  const family = net.isIP(text);
  if (family === 4) return text;
  if (family !== 6) return null;
  const bytes = ipv6Bytes(text);
  return isMappedIpv4(bytes) ? bytes.slice(12).join('.') : text.toLowerCase();
}

function isMappedIpv4(bytes: readonly number[]): boolean {
  return bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
}

/** The 16 bytes of a valid IPv6 address (net.isIP(text) === 6), `::` and a trailing dotted quad included. */
function ipv6Bytes(text: string): number[] {
  let groups = text;
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(groups);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    groups = `${groups.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = groups.split('::');
  const parse = (part: string | undefined): number[] => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = parse(tail);
  const words = tail === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

// ---------------------------------------------------------------------------------
// The query

/**
 * The name to look up for `ip` in `zone` (RFC 5782 §2.1, §2.4): IPv4's octets
 * reversed, IPv6's 32 nibbles reversed, then the zone (without a trailing dot).
 */
export function dnsblQueryName(ip: string, zone: string): string {
  const address = normalAddress(ip);
  if (address === null) throw new PinchmailError('INTERNAL', `not an IP address to look up in a DNSBL: ${JSON.stringify(ip)}`);
  const labels =
    net.isIP(address) === 4
      ? address.split('.').reverse()
      : ipv6Bytes(address)
          .flatMap((b) => [b >> 4, b & 0xf])
          .reverse()
          .map((n) => n.toString(16));
  return `${labels.join('.')}.${zone.replace(/\.$/, '')}`;
}

/** An answer that lists the address: one in 127.0.0.0/8 (RFC 5782 §2.1); any other answer is a misconfigured or hijacked zone, not a listing. */
function isListing(a: string): boolean {
  return a.startsWith('127.') && !isRefusal(a);
}

/**
 * 127.255.255.0/24 is how Spamhaus (and lists that copy it) say "not answering you" (a
 * public resolver, too many queries): taken for a listing, it would mark every message spam.
 */
function isRefusal(a: string): boolean {
  return a.startsWith('127.255.255.');
}

// ---------------------------------------------------------------------------------
// The lookup

/** A DNSBL lookup that could not be answered (not "not listed": the list could not say). */
export class DnsblError extends PinchmailError {
  constructor(
    readonly zone: string,
    readonly queryName: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super('DELIVERY', `DNSBL lookup of ${queryName} in zone ${zone} failed: ${problem}`, options);
  }
}

/** The resolver's error codes (c-ares's, as Node names them) in words. */
const PROBLEMS: Record<string, string> = {
  ESERVFAIL: 'the DNS server could not answer (SERVFAIL)',
  EREFUSED: 'the DNS server refused the query (REFUSED)',
  ECONNREFUSED: 'no DNS server could be reached (connection refused)',
  EFORMERR: 'the DNS server did not understand the query (FORMERR)',
  ENOTIMP: 'the DNS server does not do such queries (NOTIMP)',
  EBADRESP: 'the DNS server sent a malformed reply',
  ECONNRESET: 'the connection to the DNS server was reset',
  EBADNAME: 'the name is not a valid DNS name',
};

const ANSWERED_NO = new Set(['ENOTFOUND', 'ENODATA']);

/** Answers kept at most: a run sees a bounded number of clients, but a huge mailbox should not grow memory without end. */
const CACHE_LIMIT = 10_000;
const DEFAULT_TRIES = 2;

export interface DnsblLookupOptions {
  /** Resolvers as "host:port" ("127.0.0.1:5353", "[::1]:53"); absent: the system's (/etc/resolv.conf). */
  servers?: string[];
  /** How long one try waits for an answer. */
  timeoutMs: number;
  /** How many tries (to each server) before the lookup fails; default 2. A lookup ends within timeoutMs * tries. */
  tries?: number;
}

/**
 * DNSBL lookups for one run, answers cached for the run (per query name, so per
 * address and zone); failures are not cached, so the next message asks again.
 */
export class DnsblLookup {
  private readonly answers = new Map<string, Promise<boolean>>();
  private readonly servers: string[] | undefined;
  private readonly timeoutMs: number;
  private readonly tries: number;

  constructor(options: DnsblLookupOptions) {
    this.servers = options.servers;
    this.timeoutMs = options.timeoutMs;
    this.tries = options.tries ?? DEFAULT_TRIES;
    // A server list Node cannot use fails here, once, rather than at every lookup.
    this.resolver();
  }

  /** Whether `zone` lists `ip`: true, false, or a DnsblError when the zone's servers could not say. */
  async listed(ip: string, zone: string): Promise<boolean> {
    const name = dnsblQueryName(ip, zone);
    const cached = this.answers.get(name);
    if (cached) return cached;
    // The promise is kept, not the answer: a second message from the same client, while the first is being looked up, waits for that lookup.
    const answer = this.query(name, zone.replace(/\.$/, ''));
    this.remember(name, answer);
    answer.catch(() => {
      if (this.answers.get(name) === answer) this.answers.delete(name);
    });
    return answer;
  }

  private remember(name: string, answer: Promise<boolean>): void {
    if (this.answers.size >= CACHE_LIMIT) this.answers.delete(this.answers.keys().next().value!);
    this.answers.set(name, answer);
  }

  private resolver(): dns.Resolver {
    const resolver = new dns.Resolver({ timeout: this.timeoutMs, tries: this.tries });
    if (this.servers) resolver.setServers(this.servers);
    return resolver;
  }

  /**
   * One lookup, on a resolver of its own: c-ares doubles its timeout at each try (300 ms
   * and 3 tries: it gives up after 2.1 s), so the deadline here holds the lookup to
   * timeoutMs * tries, and cancelling its own resolver ends only this lookup.
   */
  private async query(name: string, zone: string): Promise<boolean> {
    const resolver = this.resolver();
    const budgetMs = this.timeoutMs * this.tries;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        resolver.cancel();
        reject(new DnsblError(zone, name, `no answer within ${budgetMs} ms (timed out)`));
      }, budgetMs);
    });
    try {
      const addresses = await Promise.race([resolver.resolve4(name), deadline]);
      const refusal = addresses.find(isRefusal);
      if (refusal !== undefined) throw new DnsblError(zone, name, `the list refused to answer this resolver (${refusal}); use a resolver of your own, not a public one`);
      return addresses.some(isListing);
    } catch (err) {
      if (err instanceof DnsblError) throw err;
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (ANSWERED_NO.has(code)) return false;
      throw new DnsblError(zone, name, problemOf(code, budgetMs), { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }
}

function problemOf(code: string, budgetMs: number): string {
  if (code === 'ETIMEOUT') return `no answer within ${budgetMs} ms (timed out)`;
  return PROBLEMS[code] ?? `the DNS lookup failed (${code || 'unknown error'})`;
}
