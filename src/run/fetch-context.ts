import type { Log } from '../log.js';
import type { RouteDecider } from '../deliver/route/decide.js';
import type { Router } from '../deliver/route/router.js';
import type { Spool } from '../deliver/spool.js';
import type { Targets } from '../deliver/target.js';
import type { FetchItem } from '../plan/plan.js';
import type { Pop3Session } from '../pop3/session.js';
import type { StateStore } from '../state/store.js';
import type { AccountReport } from './report.js';

/** What one session's pass over the messages to fetch works with (see fetchAndDeliver). */
export interface FetchContext {
  session: Pop3Session;
  items: readonly FetchItem[];
  router: Router;
  /** The router's decisions, with the DNSBL lookups they need. */
  decider: RouteDecider;
  targets: Targets;
  spool: Spool;
  store: StateStore;
  mailbox: string;
  account: string;
  /** For each message some of whose targets have it already (an earlier run), those targets' keys. */
  done: ReadonlyMap<string, ReadonlySet<string>>;
  /** Deliveries through spooled copies that may run at once (1: strictly one after another). */
  parallel: number;
  /** A message LIST says is larger is not retrieved (maxMessageSize). */
  maxMessageSize: number;
  now: number;
  stop: AbortSignal;
  log: Log;
  report: AccountReport;
  onProgress?: (done: number, total: number) => void;
}
