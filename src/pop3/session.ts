import { login, type LoginRequest } from './auth.js';
import type { TLSSocket } from 'node:tls';
import { parseCapabilities, saslMechanisms, type Capabilities } from './capabilities.js';
import { Pop3Client, type BodyBounds, type BodyResult, type BodySink, type TraceFn } from './client.js';
import { Pop3Error } from './errors.js';
import { UidlListingParser, parseListListing, parseStat, type UidlEntry, type UnidentifiedEntry } from './listing.js';
import type { LineEnds } from './multiline-decoder.js';
import { printable, type Reply } from './reply.js';
import { openTcp, startTlsOn, type TlsSettings } from './transport.js';
import { PrefixSink } from '../util/byte-sink.js';

export type TlsMode = 'implicit' | 'starttls' | 'none';

export interface ConnectOptions {
  host: string;
  port: number;
  tls: TlsMode;
  tlsSettings?: TlsSettings;
  timeoutMs?: number;
  pipelineWindow?: number;
  lineEnds?: LineEnds;
  trace?: TraceFn;
  /** The password or token: struck from whatever the server says (see SecretScrubber). */
  secret?: string;
  /** Ends the session in whatever phase it is, connecting included, with the reason (a Pop3Error). */
  signal?: AbortSignal;
}

/** Up to this many sizes come by LIST n each; more by one LIST. */
const FEW_SIZES = 200;
/** RFC 2449 lists a dozen capabilities; a server may add its own, but not without end. */
const MAX_CAPA_LINES = 256;
/**
 * The most messages a listing may hold whatever the caller allows: what a message-number
 * bitmap of 10 MB covers (the config's maxMessages is at most this, and by default far less).
 */
export const MOST_MESSAGES = 10_000_000;
/** "n size": a message number and a size of up to 15 digits, with room for what a server appends. */
const MAX_LIST_LINE = 128;

export interface Listing {
  /** STAT's count. */
  count: number;
  /** Every message the listing identifies. */
  messages: UidlEntry[];
  /** Messages it does not: their UIDL is shared with another or is no unique-id (see UidlListingParser). */
  unidentified: UnidentifiedEntry[];
  /** listingDigest of the messages, to be given back as `checked` when next listing this mailbox. */
  digest: string;
  /** STAT's total size: with the digest, what tells a listing seen before from one whose messages changed. */
  octets: number;
  /** The sizes came with the listing (LIST pipelined behind UIDL): asking for all of them costs nothing more. */
  sizesAtHand: boolean;
  /** The sizes of these messages (and maybe of others). */
  sizes(msgNos: readonly number[]): Promise<Map<number, number>>;
}

export interface MessageInfo {
  msgNo: number;
  uidl: string;
  size: number;
}

/**
 * How far past its LIST size a body may run before we call the server hostile.
 * Honest servers that count LF line ends send up to twice the announced size on the
 * wire (every line gains a CR, and a line of "." gains a stuffing dot).
 */
export function maxWireBytes(announced: number): number {
  return announced * 2 + 64 * 1024;
}

/**
 * How far short of its LIST size a whole body may fall. Honest servers send at least
 * what they announce (stuffing and CRLF only add), or, where LIST is an estimate, a
 * little less; a body that ends much earlier was cut short by a line of "." the server
 * did not stuff, and its tail is still on the wire, posing as replies.
 */
export function minWireBytes(announced: number): number {
  return Math.max(0, announced - Math.floor(announced / 8) - 1024);
}

/** The bounds of a whole message's body on the wire, given its LIST size. */
export function messageBounds(announced: number, max = maxWireBytes(announced)): BodyBounds {
  return { announced, min: minWireBytes(announced), max };
}

/**
 * A POP3 session: connection, TLS, capabilities and login, then the
 * transaction-state commands with their replies parsed and validated.
 */
export class Pop3Session {
  /** The CAPA sent after login, when it rides along with the next commands. */
  private capabilitiesAfterLogin: Promise<void> = Promise.resolve();
  /** A server without CAPA refused TOP once: it has none. */
  private noTop = false;
  private mechanismsOffered: string[] | null = null;

  private constructor(
    readonly client: Pop3Client,
    readonly greeting: Reply,
    private capabilities: Capabilities | null,
    private readonly host: string,
    private readonly port: number,
    /** The address actually connected to: what decides whether the connection leaves the machine. */
    readonly remoteAddress: string | undefined,
  ) {}

  /** Connects, reads the greeting and CAPA, and upgrades with STLS when asked to. */
  static async connect(options: ConnectOptions): Promise<Pop3Session> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const tlsSettings = options.tlsSettings ?? {};
    const { signal } = options;
    const tcp = await openTcp(options.host, options.port, timeoutMs, signal);
    const socket = options.tls === 'implicit' ? await startTlsOn(tcp, options.host, tlsSettings, { timeoutMs, signal, implicitOnPort: options.port }) : tcp;
    const client = new Pop3Client(socket, {
      timeoutMs,
      pipelineWindow: options.pipelineWindow,
      lineEnds: options.lineEnds,
      trace: options.trace,
      secrets: options.secret === undefined ? [] : [options.secret],
      signal,
    });
    try {
      const greeting = await client.greeting;
      const session = new Pop3Session(client, greeting, await readCapabilities(client), options.host, options.port, tcp.remoteAddress);
      if (options.tls === 'starttls') await session.startTls(tlsSettings, timeoutMs, signal);
      return session;
    } catch (err) {
      client.destroy();
      throw err;
    }
  }

  /** Wraps an already-open connection (an in-memory pipe in tests, a proxy, ...). */
  static async over(client: Pop3Client, host = 'localhost', port = 110): Promise<Pop3Session> {
    const greeting = await client.greeting;
    return new Pop3Session(client, greeting, await readCapabilities(client), host, port, undefined);
  }

  get caps(): Capabilities | null {
    return this.capabilities;
  }

  /** The SASL mechanisms CAPA offered before login (after it, servers no longer list them). */
  get saslOffered(): readonly string[] {
    return this.mechanismsOffered ?? [...saslMechanisms(this.capabilities ?? new Map())];
  }

  /** The SHA-256 fingerprint of the server's certificate, as tlsOptions.fingerprint takes it; null without TLS. */
  get certificateFingerprint(): string | null {
    const socket = this.client.underlyingSocket as Partial<TLSSocket>;
    const fingerprint = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate().fingerprint256 : undefined;
    return fingerprint ? `sha256:${fingerprint}` : null;
  }

  get secure(): boolean {
    return this.client.secure;
  }

  private async startTls(settings: TlsSettings, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    if (!this.capabilities?.has('STLS')) {
      // Never a silent downgrade (compare fetchmail CVE-2021-39272).
      throw new Pop3Error('TLS', `${this.host} does not offer STLS, and the account requires it`);
    }
    try {
      await this.client.startTls((raw) => startTlsOn(raw, this.host, settings, { timeoutMs, signal }));
    } catch (err) {
      // Refused: the secure channel cannot be had, which is the server's to fix (as when STLS is not offered).
      if (err instanceof Pop3Error && err.code === 'REFUSED') {
        throw new Pop3Error('TLS', `${this.host} refused STLS (it said "${printable(err.serverText ?? '', 200)}"), and the account requires it`, { serverText: err.serverText });
      }
      throw err;
    }
    // RFC 2595 §4: capabilities learned before TLS are forgotten.
    this.capabilities = await readCapabilities(this.client);
  }

  /**
   * Logs in, then reads CAPA again (servers may offer more once authenticated) and
   * turns on pipelining. When CAPA before login already offered PIPELINING, the second
   * CAPA is only sent here, and rides along with whatever is asked for next.
   *
   * Where CAPA offers UTF8 (RFC 6856), it is sent, before any message is retrieved: a
   * server such as Courier otherwise hands out a notice in place of a message with raw
   * UTF-8 in its header (RFC 6532), and pinchmail delivers the bytes the server holds.
   */
  async login(request: Omit<LoginRequest, 'host' | 'port'>): Promise<string> {
    // Servers list SASL only before authentication: kept for whoever asks what was offered.
    this.mechanismsOffered = [...saslMechanisms(this.capabilities ?? new Map())];
    const method = await login(
      { client: this.client, caps: this.capabilities, greeting: this.greeting },
      { ...request, host: this.host, port: this.port },
    );
    const pipelined = this.capabilities?.has('PIPELINING') === true;
    if (pipelined) this.client.setPipelining(true);
    let utf8 = this.capabilities?.has('UTF8') === true;
    if (utf8) this.enableUtf8();
    const after = readCapabilities(this.client, pipelined).then((caps) => {
      if (caps) this.capabilities = caps;
      this.client.setPipelining(this.capabilities?.has('PIPELINING') ?? false);
      if (!utf8 && this.capabilities?.has('UTF8')) {
        utf8 = true;
        this.enableUtf8();
      }
    });
    if (pipelined) {
      after.catch(() => {});
      this.capabilitiesAfterLogin = after;
    } else {
      await after;
    }
    return method;
  }

  /** UTF8 (RFC 6856), queued behind what was asked before; a refusal changes nothing, so it is not waited for. */
  private enableUtf8(): void {
    this.client.command('UTF8', { pipelinable: true }).catch(() => {});
  }

  async stat(): Promise<{ count: number; size: number }> {
    const reply = await this.client.command('STAT', { pipelinable: true });
    return this.parsing(() => parseStat(reply.text));
  }

  /**
   * Runs a parser over server text: a malformed line it quotes in its error has this
   * session's secrets struck out (the client does the same for its own errors).
   */
  private parsing<T>(parse: () => T): T {
    try {
      return parse();
    } catch (err) {
      throw err instanceof Pop3Error ? this.client.scrubError(err) : err;
    }
  }

  /** STAT, UIDL and LIST: every message with its unique-id and size. */
  async listMessages(): Promise<MessageInfo[]> {
    const listing = await this.listUidls({ sizes: 'with-listing' });
    const sizes = await listing.sizes(listing.messages.map((m) => m.msgNo));
    return listing.messages.map(({ msgNo, uidl }) => ({ msgNo, uidl, size: sizes.get(msgNo) ?? 0 }));
  }

  /**
   * STAT and UIDL, pipelined, and sizes: 'with-listing' pipelines LIST behind them too,
   * which costs no round trip; 'on-demand' asks only when sizes() is called, and then
   * only for those messages, since the LIST of a large mailbox is as long as its UIDL
   * listing and a poll with nothing new needs no sizes at all. The listings are held to
   * STAT's count, which arrives before them. `checked` is the digest of a listing of
   * this mailbox already found well-formed (see UidlListingParser.finish).
   */
  async listUidls(options: { sizes: 'with-listing' | 'on-demand'; checked?: string | null; maxMessages?: number }): Promise<Listing> {
    const maxMessages = Math.min(options.maxMessages ?? MOST_MESSAGES, MOST_MESSAGES);
    // Until STAT's count is in, the listings are held to the most a mailbox may hold.
    let count = maxMessages;
    let octets = 0;
    const bound = (): number => count;
    const stat = this.stat().then((s) => {
      if (s.count > maxMessages) {
        // Said before the listing arrives: nothing of it is read, held or stored.
        const err = new Pop3Error(
          'PROTOCOL',
          `the server says the mailbox holds ${s.count} messages, more than maxMessages (${maxMessages}) allows; raise maxMessages in the config if the mailbox really is that large`,
        );
        this.client.destroy();
        throw err;
      }
      count = s.count;
      octets = s.size;
    });
    // Parsed as it arrives: on a large mailbox, while the server is still listing.
    const parser = new UidlListingParser();
    const uidlDone = this.client.listing('UIDL', { maxLines: bound, onLines: (lines) => parser.add(lines) });
    const eager = options.sizes === 'with-listing' ? this.client.listing('LIST', { maxLines: bound, maxLineLength: MAX_LIST_LINE }) : null;
    // All are in flight together; a failure of one must not leave the others unobserved.
    stat.catch(() => {});
    uidlDone.catch(() => {});
    eager?.catch(() => {});
    await this.capabilitiesAfterLogin;
    await stat;
    let listed: ReturnType<UidlListingParser["finish"]>;
    try {
      await uidlDone;
      listed = this.parsing(() => parser.finish(count, options.checked));
    } catch (err) {
      if (err instanceof Pop3Error && err.code === 'REFUSED') {
        throw new Pop3Error('UNSUPPORTED', `${this.host} does not support UIDL, which pinchmail needs to track messages`);
      }
      throw err;
    }
    const sizes = async (wanted: readonly number[]): Promise<Map<number, number>> => {
      if (eager) {
        const lines = await eager;
        return this.parsing(() => parseListListing(lines, count));
      }
      if (wanted.length === 0) return new Map();
      if (wanted.length > FEW_SIZES) {
        const lines = await this.client.listing('LIST', { maxLines: bound, maxLineLength: MAX_LIST_LINE });
        return this.parsing(() => parseListListing(lines, count));
      }
      // A few messages on a large mailbox: LIST n for each, pipelined.
      const replies = await Promise.all(wanted.map((n) => this.client.command(`LIST ${n}`, { pipelinable: true })));
      return this.parsing(() => parseListListing(replies.map((r) => r.text), count));
    };
    // An invalid unique-id is whatever text the server put there, shown to a person and
    // never compared with one recorded: it is shown with this session's secrets struck out.
    const unidentified = listed.unidentified.map((u) => (u.why.startsWith('shared') ? u : { ...u, uidl: this.client.scrub(u.uidl) }));
    return { count, messages: listed.entries, unidentified, digest: listed.digest, octets, sizesAtHand: eager !== null, sizes };
  }

  /**
   * RETR into a sink (see BodySink); resolves with the bytes delivered. With the
   * message's UIDL, a `UIDL n` rides behind the RETR and must come back as "n <uidl>":
   * proof that the body ended where the server meant it to, so a missing or early
   * terminator can never hand on a partial or mixed message. With the announced size, a
   * body far longer or shorter than that fails the session as this message's fault
   * (Pop3Error.msgNo).
   */
  retrTo(msgNo: number, sink: BodySink, options: { bounds?: BodyBounds; uidl?: string } = {}): Promise<BodyResult> {
    const { uidl, bounds } = options;
    return this.client.bodyTo(`RETR ${msgNo}`, sink, {
      bounds,
      subject: msgNo,
      confirm: uidl === undefined ? undefined : { line: `UIDL ${msgNo}`, check: (reply) => answersUidl(reply, msgNo, uidl) },
    });
  }

  /**
   * The head of a message into `sink`, confirmed like retrTo: by `TOP n 0` where the
   * server has TOP (or does not say, having no CAPA: then a refusal falls back), else by
   * RETR, whose body the sink can stop taking once it has the header block.
   */
  async headTo(msgNo: number, uidl: string, announcedSize: number, sink: BodySink): Promise<BodyResult> {
    const confirm = { line: `UIDL ${msgNo}`, check: (reply: Reply) => answersUidl(reply, msgNo, uidl) };
    const max = maxWireBytes(announcedSize);
    if (this.capabilities?.has('TOP') === true || (this.capabilities === null && !this.noTop)) {
      try {
        return await this.client.bodyTo(`TOP ${msgNo} 0`, sink, { bounds: { announced: announcedSize, min: 0, max }, subject: msgNo, confirm });
      } catch (err) {
        if (!(this.capabilities === null && err instanceof Pop3Error && err.code === 'REFUSED')) throw err;
        this.noTop = true;
      }
    }
    return this.client.bodyTo(`RETR ${msgNo}`, sink, { bounds: messageBounds(announcedSize), subject: msgNo, confirm });
  }

  /** The header block of a message into memory, at most `keep` bytes of it (see headTo). */
  async headerOf(msgNo: number, uidl: string, announcedSize: number, keep: number): Promise<Buffer> {
    const head = new PrefixSink(keep);
    await this.headTo(msgNo, uidl, announcedSize, head);
    return head.bytes();
  }

  async dele(msgNo: number): Promise<void> {
    await this.client.command(`DELE ${msgNo}`, { pipelinable: true });
  }

  async rset(): Promise<void> {
    await this.client.command('RSET');
  }

  async noop(): Promise<void> {
    await this.client.command('NOOP');
  }

  /** QUIT: the server commits this session's deletions only when this succeeds. */
  async quit(): Promise<void> {
    await this.client.command('QUIT', { pipelinable: true });
  }

  /** Drops the connection without QUIT, so the server forgets this session's DELEs. */
  destroy(): void {
    this.client.destroy();
  }
}

async function readCapabilities(client: Pop3Client, pipelinable = false): Promise<Capabilities | null> {
  try {
    return parseCapabilities(await client.listing('CAPA', { pipelinable, maxLines: MAX_CAPA_LINES }));
  } catch (err) {
    // RFC 2449 is optional: a server without CAPA answers -ERR, and RFC 1939 applies.
    if (err instanceof Pop3Error && err.code === 'REFUSED') return null;
    throw err;
  }
}

/** Does a `UIDL n` reply say exactly "n <uidl>"? */
function answersUidl(reply: Reply, msgNo: number, uidl: string): boolean {
  const [n, id] = reply.text.trim().split(/[ \t]+/);
  return Number(n) === msgNo && id === uidl;
}
