import { classify } from '../errors.js';
import { HeaderFingerprint } from '../plan/identity.js';
import type { ListedMessage } from '../plan/plan.js';
import type { Pop3Session } from '../pop3/session.js';

/**
 * The header fingerprints the planner asked for (plan.need.headers), read together
 * (pipelined TOP n 0, or RETR where the server has no TOP). A message whose header
 * could not be read gets null: nothing is decided about it this run. A failure that
 * broke the session is returned as `broken`, for the caller to open another.
 */
export async function readFingerprints(session: Pop3Session, messages: readonly ListedMessage[]): Promise<{ headers: Map<number, string | null>; broken: unknown }> {
  const outcomes = await Promise.allSettled(
    messages.map(async (m) => {
      const fingerprint = new HeaderFingerprint();
      await session.headTo(m.msgNo, m.uidl, m.size, fingerprint);
      return fingerprint.digest();
    }),
  );
  const headers = new Map<number, string | null>();
  let broken: unknown = null;
  outcomes.forEach((outcome, i) => {
    headers.set(messages[i]!.msgNo, outcome.status === 'fulfilled' ? outcome.value : null);
    if (outcome.status === 'rejected' && classify(outcome.reason) !== 'message') broken ??= outcome.reason;
  });
  return { headers, broken };
}
