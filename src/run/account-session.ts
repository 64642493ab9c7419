import type { ListedMessage } from '../plan/plan.js';
import type { Listing, Pop3Session } from '../pop3/session.js';

/**
 * Sessions a run may open again after a message broke one (Pop3Error.msgNo): enough
 * to get past a few bad messages, few enough that a server breaking every session
 * cannot keep a run going. Messages that failed go last in the next run, so the
 * others still get their turn.
 */
export const MAX_REOPENS = 3;

/**
 * The account's session for one run, and, when a message has broken it, a new one:
 * logged in again and listed again, with the run's messages numbered as the new
 * session numbers them.
 */
export class AccountSession {
  reopens = 0;

  constructor(
    public session: Pop3Session,
    private readonly open: () => Promise<Pop3Session>,
    private readonly maxMessages?: number,
  ) {}

  get canReopen(): boolean {
    return this.reopens < MAX_REOPENS;
  }

  /** Drops the broken session and logs in again; resolves with the new session's listing. */
  async reopen(): Promise<Listing> {
    this.reopens++;
    this.session.destroy();
    this.session = await this.open();
    return this.session.listUidls({ sizes: 'on-demand', maxMessages: this.maxMessages });
  }

  /**
   * The messages as `listing` (this session's) numbers them. A message it no longer
   * lists, or lists with another size, is not the one planned for: it is left out, for
   * the next run to plan afresh.
   */
  static async renumber<T extends ListedMessage>(items: readonly T[], listing: Listing): Promise<T[]> {
    if (items.length === 0) return [];
    const numbers = new Map(listing.messages.map((m) => [m.uidl, m.msgNo]));
    const found = items.flatMap((item) => {
      const msgNo = numbers.get(item.uidl);
      return msgNo === undefined ? [] : [{ ...item, msgNo }];
    });
    const sizes = await listing.sizes(found.map((f) => f.msgNo));
    return found.filter((f) => sizes.get(f.msgNo) === f.size);
  }
}
