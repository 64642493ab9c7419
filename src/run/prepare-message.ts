import type { MaildirMessage } from '../deliver/maildir.js';
import { MAX_HEADER_BYTES } from '../deliver/route/header-limit.js';
import type { Headers } from '../deliver/route/headers.js';
import type { RouteDecider } from '../deliver/route/decide.js';
import type { Router, Destination } from '../deliver/route/router.js';
import type { Spool, SpoolFile } from '../deliver/spool.js';
import type { Targets } from '../deliver/target.js';
import { HeaderFingerprint } from '../plan/identity.js';
import type { FetchItem } from '../plan/plan.js';
import type { BodySink } from '../pop3/client.js';
import { formatSize } from '../config/duration.js';
import { PinchmailError } from '../errors.js';
import { Pop3Error } from '../pop3/errors.js';
import { maxWireBytes, messageBounds, type Pop3Session } from '../pop3/session.js';
import { PrefixSink, watched } from '../util/byte-sink.js';
import { crashPoint, crashSwitchSet } from '../util/crash-points.js';

/** A message decided on and retrieved, waiting for its turn to be delivered. */
export interface Prepared {
  takes: Destination[];
  /** The whole message: a spooled copy, or, when a Maildir is its only target, the Maildir file itself; null when dropped unread. */
  copy: { kind: 'spool'; file: SpoolFile } | { kind: 'maildir'; file: MaildirMessage } | null;
  /** Of the header block of the copy retrieved (plan/identity.ts); null when dropped unread. */
  fingerprint: string | null;
}

export interface PrepareContext {
  session: Pop3Session;
  router: Router;
  decider: RouteDecider;
  targets: Targets;
  spool: Spool;
  /** The route needs headers and the server has TOP: read them before deciding to download. */
  headerFirst: boolean;
  /** A message LIST says is larger is not retrieved (maxMessageSize). */
  maxMessageSize: number;
}


/**
 * A message sent to onFailure is retrieved whatever LIST said of its size, up to this:
 * a LIST that understates a message makes it fail every run, and the quarantine is
 * where such a message must still be able to go.
 */
const QUARANTINE_MAX_BYTES = 1024 ** 3;

async function headersOf(head: Buffer): Promise<Headers> {
  // Loaded only by routes, so a plain account never pays for libmime and its charsets.
  const { Headers } = await import('../deliver/route/headers.js');
  return Headers.parse(head);
}

/**
 * Decides where a message goes and retrieves it, as far as that needs: not at all
 * when the route drops, skips or kills it by its size or headers, straight into the Maildir when that is its
 * only target, else into a spooled copy. `hold` learns of the copy as soon as it
 * exists, so a caller can throw it away if the retrieval fails.
 */
export async function prepare(ctx: PrepareContext, item: FetchItem, hold: (copy: Prepared['copy']) => void): Promise<Prepared> {
  const { router, session } = ctx;
  const quarantined = router.quarantines(item.attempts);
  let takes = router.decideBySize(item.size, item.attempts);
  let fingerprint: string | null = null;
  // A quarantined message is read whole under the quarantine's bounds: TOP, under the usual ones, may be what keeps failing it.
  if (!takes && ctx.headerFirst && item.size <= ctx.maxMessageSize && !quarantined) {
    ({ takes, fingerprint } = await decideByHeader(ctx.decider, session, item));
  }
  if (takes?.every((t) => t.target === null)) {
    // Dropped, skipped or killed unread. A dropped one is deleted once its retention passes, after
    // its header is compared with this one (TOP), so it gets its identity even when its size decided.
    if (fingerprint === null && ctx.headerFirst && takes.some((t) => !t.unread)) fingerprint = (await headerWithFingerprint(session, item)).fingerprint;
    return { takes, copy: null, fingerprint };
  }
  if (item.size > ctx.maxMessageSize) {
    // Nothing is read: a LIST of 999999999999999 must not become a body written to disk until the deadline.
    throw new PinchmailError('DELIVERY', `LIST says it is ${item.size} bytes, more than maxMessageSize (${formatSize(ctx.maxMessageSize)}); not retrieved, left on the server`);
  }

  const only = takes?.length === 1 ? takes[0]!.target : null;
  const copy: NonNullable<Prepared['copy']> =
    only?.kind === 'maildir' ? { kind: 'maildir', file: ctx.targets.maildir(only.dir).begin() } : { kind: 'spool', file: ctx.spool.create() };
  hold(copy);
  const whole = new HeaderFingerprint();
  const sink = watched(crashSwitchSet ? crashingSink(copy.file) : copy.file, whole);
  // The quarantine takes a message LIST understated, up to its own bound and never past maxMessageSize.
  const quarantineMax = Math.min(QUARANTINE_MAX_BYTES, maxWireBytes(ctx.maxMessageSize));
  const bounds = messageBounds(item.size, quarantined ? Math.max(maxWireBytes(item.size), quarantineMax) : undefined);
  const received = await session.retrTo(item.msgNo, sink, { bounds, uidl: item.uidl });
  if (received.statusLikeFirstLine) await confirmFirstLine(session, item, received.statusLikeFirstLine);
  if (!takes) {
    // No TOP: the route reads the headers from the whole message instead.
    const head = (copy.file as SpoolFile).head(MAX_HEADER_BYTES);
    takes = await ctx.decider.decide({ headers: await headersOf(head), size: item.size }, item.attempts, item.uidl);
  }
  return { takes, copy, fingerprint: whole.digest() };
}

/** TOP n 0, and where the route sends the message by its header. */
async function decideByHeader(decider: RouteDecider, session: Pop3Session, item: FetchItem): Promise<{ takes: Destination[]; fingerprint: string }> {
  const { head, fingerprint } = await headerWithFingerprint(session, item);
  return { takes: await decider.decide({ headers: await headersOf(head), size: item.size }, item.attempts, item.uidl), fingerprint };
}

/**
 * A body that begins like a POP3 status line is legal mail, or a stray reply the
 * server slipped in ahead of the real one, which the client then took for the body's
 * first line (the terminator and the confirming UIDL behind it cannot tell). A second
 * reading of the message's head must begin with the same line for the copy to count.
 */
async function confirmFirstLine(session: Pop3Session, item: FetchItem, line: Buffer): Promise<void> {
  const head = await session.headerOf(item.msgNo, item.uidl, item.size, line.length);
  if (!head.equals(line)) {
    throw new Pop3Error(
      'PROTOCOL',
      `replies out of step: the body of RETR ${item.msgNo} began with a status line that a second reading of the message does not; the copy is not trusted`,
      { msgNo: item.msgNo },
    );
  }
}

/** TOP n 0: the header block (up to MAX_HEADER_BYTES) for the route, and its fingerprint. */
async function headerWithFingerprint(session: Pop3Session, item: FetchItem): Promise<{ head: Buffer; fingerprint: string }> {
  const head = new PrefixSink(MAX_HEADER_BYTES);
  const fingerprint = new HeaderFingerprint();
  await session.headTo(item.msgNo, item.uidl, item.size, watched(head, fingerprint));
  return { head: head.bytes(), fingerprint: fingerprint.digest() };
}

/** For the crash tests: a sink that reaches the 'mid-retr' point after its first chunk is written. */
function crashingSink(sink: BodySink): BodySink {
  let chunks = 0;
  return {
    async write(chunk) {
      await sink.write(chunk);
      if (++chunks === 1) crashPoint('mid-retr');
    },
  };
}
