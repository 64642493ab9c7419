import type { MaildirMessage } from '../deliver/maildir.js';
import type { Router, Take } from '../deliver/route/router.js';
import type { Spool, SpoolFile } from '../deliver/spool.js';
import type { Targets } from '../deliver/target.js';
import type { FetchItem } from '../plan/plan.js';
import type { BodySink } from '../pop3/client.js';
import type { Pop3Session } from '../pop3/session.js';
import { crashPoint, crashSwitchSet } from './crash-points.js';

/** A message decided on and retrieved, waiting for its turn to be delivered. */
export interface Prepared {
  takes: Take[];
  /** The whole message: a spooled copy, or, when a Maildir is its only target, the Maildir file itself; null when dropped unread. */
  copy: { kind: 'spool'; file: SpoolFile } | { kind: 'maildir'; file: MaildirMessage } | null;
}

export interface PrepareContext {
  session: Pop3Session;
  router: Router;
  targets: Targets;
  spool: Spool;
  /** The route needs headers and the server has TOP: read them before deciding to download. */
  headerFirst: boolean;
}

/** Header blocks are read this far at most. */
const MAX_HEADER_BYTES = 1024 * 1024;

async function headersOf(head: Buffer): Promise<import('../deliver/route/headers.js').Headers> {
  // Loaded only by routes, so a plain account never pays for libmime and its charsets.
  const { Headers } = await import('../deliver/route/headers.js');
  return Headers.parse(head);
}

/**
 * Decides where a message goes and retrieves it, as far as that needs: not at all
 * when the route drops it by its headers, straight into the Maildir when that is its
 * only target, else into a spooled copy. `hold` learns of the copy as soon as it
 * exists, so a caller can throw it away if the retrieval fails.
 */
export async function prepare(ctx: PrepareContext, item: FetchItem, hold: (copy: Prepared['copy']) => void): Promise<Prepared> {
  const { router, session } = ctx;
  let takes: Take[] | null = null;
  if (!router.needsHeaders || router.quarantines(item.attempts)) {
    takes = router.decide(null, item.attempts);
  } else if (ctx.headerFirst) {
    const head = await session.headerOf(item.msgNo, item.uidl, item.size, MAX_HEADER_BYTES);
    takes = router.decide({ headers: await headersOf(head), size: item.size }, item.attempts);
  }
  if (takes?.every((t) => t.target === null)) return { takes, copy: null };

  const only = takes?.length === 1 ? takes[0]!.target : null;
  const copy: NonNullable<Prepared['copy']> =
    only?.kind === 'maildir' ? { kind: 'maildir', file: ctx.targets.maildir(only.dir).begin() } : { kind: 'spool', file: ctx.spool.create() };
  hold(copy);
  const sink: BodySink = crashSwitchSet ? crashingSink(copy.file) : copy.file;
  await session.retrTo(item.msgNo, sink, item.size, item.uidl);
  if (!takes) {
    // No TOP: the route reads the headers from the whole message instead.
    const head = (copy.file as SpoolFile).head(MAX_HEADER_BYTES);
    takes = router.decide({ headers: await headersOf(head), size: item.size }, item.attempts);
  }
  return { takes, copy };
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
