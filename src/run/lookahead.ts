import type { FetchItem } from '../plan/plan.js';
import { prepare, type PrepareContext, type Prepared } from './prepare-message.js';

/**
 * Messages retrieved ahead of the one being delivered. RETRs for them are in flight
 * together (pipelined), and each lands in its own spool or tmp file, so the network
 * keeps busy while a command runs; the bound keeps a slow command from turning the
 * whole mailbox into spool files. Refilled a few at a time, so the RETRs go out
 * together yet the window stays full.
 */
const LOOKAHEAD = 100;
const REFILL = 16;

/** A message's retrieval, under way ahead of its delivery. */
export interface Flight {
  item: FetchItem;
  prepared: Promise<Prepared>;
  /** Given to a delivery, or failed and recorded: no longer the look-ahead's to throw away or hand back. */
  settled: boolean;
  /** Throws away what a flight left behind (its spool or tmp file), once it has settled. */
  discard(): void;
}

/** The flights of one pass over `items`, launched ahead of the loop that delivers them. */
export class Lookahead {
  private readonly flights: Flight[] = [];

  constructor(
    private readonly ctx: PrepareContext,
    private readonly items: readonly FetchItem[],
  ) {}

  /** The flight of item `i`, launching it and those after it as the window allows. */
  flight(i: number): Flight {
    if (this.flights.length - i <= LOOKAHEAD - REFILL) this.launch(i + LOOKAHEAD);
    return this.flights[i]!;
  }

  /** The flight of message `msgNo`, if it is still the look-ahead's to settle. */
  unsettled(msgNo: number | undefined): Flight | undefined {
    return msgNo === undefined ? undefined : this.flights.find((f) => !f.settled && f.item.msgNo === msgNo);
  }

  /**
   * Whatever was retrieved ahead and not delivered is thrown away once its RETR ends (the
   * caller drops the connection); the server keeps the message, and it stays untried, for
   * the next session or run.
   */
  abandonUnsettled(): void {
    for (const flight of this.flights) if (!flight.settled) discardWhenDone(flight);
  }

  /** The items whose flights were settled: tried in this pass. */
  tried(): Set<FetchItem> {
    return new Set(this.flights.filter((f) => f.settled).map((f) => f.item));
  }

  private launch(upTo: number): void {
    while (this.flights.length < Math.min(upTo, this.items.length)) {
      const item = this.items[this.flights.length]!;
      let copy: Prepared['copy'] = null;
      const prepared = prepare(this.ctx, item, (c) => (copy = c));
      // Observed now, so an abandoned flight never becomes an unhandled rejection.
      prepared.catch(() => {});
      this.flights.push({
        item,
        prepared,
        settled: false,
        discard: () => {
          const c = copy as Prepared['copy'];
          if (c?.kind === 'spool') c.file.discard();
          if (c?.kind === 'maildir') void c.file.abort();
        },
      });
    }
  }
}

/** Settles a flight the loop will not deliver, as tried: what it retrieved goes once its RETR ends. */
export function settleUndelivered(flight: Flight): void {
  flight.settled = true;
  discardWhenDone(flight);
}

function discardWhenDone(flight: Flight): void {
  void flight.prepared.then(flight.discard, flight.discard);
}
