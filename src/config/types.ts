import type { AuthMethod } from '../pop3/auth.js';
import type { TlsMode } from '../pop3/session.js';
import type { UnreadAction } from '../plan/plan.js';
import type { SecretSource } from './schema.js';

/**
 * The configuration as the rest of pinchmail sees it, resolved and validated (see
 * load.ts): in a file of its own, so that what reads a config (deliver/, run/, cli/)
 * depends on config/ and never the other way round.
 */

/** A matcher as the config writes it (README "Routing"). */
export type MatcherSpec =
  | 'all'
  | { header: string; regex: string }
  | { from: string }
  | { to: string }
  | { subject: string }
  | { sizeOver: number }
  | { relayLimit: number }
  /** Apache James's matchers, as a fetcher can read them from the header (README "Processors"). */
  | { userIs: string[] }
  | { recipientIs: string[] }
  | { hostIs: string[] }
  | { senderIs: string[] }
  | { subjectIs: string }
  | { subjectStartsWith: string }
  | { hasHeader: string; value?: string }
  | { inSpammerBlacklist: string }
  | { and: MatcherSpec[] }
  | { or: MatcherSpec[] }
  | { not: MatcherSpec };

/** What a command's exit statuses mean besides 0 (delivered); any other is tried again next run. */
export interface ExitCodes {
  /** The command will never take the message: onFailure at once, or a permanent failure. */
  permanent: readonly number[];
  /** The command took the message by discarding it: it counts as dropped. */
  drop: readonly number[];
}

export type TargetConfig =
  | { kind: 'command'; argv: string[]; timeoutMs: number; path: string; parallel: number; exitCodes: ExitCodes }
  | { kind: 'maildir'; dir: string; timeoutMs: number; path: string }
  | { kind: 'mbox'; file: string; timeoutMs: number; path: string }
  | MailTransferTarget;

/** An LMTP or SMTP server messages are handed to, for one recipient. */
export type MailTransferTarget = ({ kind: 'lmtp' } | { kind: 'smtp' }) & MailTransferServer;

interface MailTransferServer {
  address: { path: string } | { host: string; port: number };
  to: string;
  /** The envelope sender; undefined: the message's Return-Path, else its From; "": the null sender. */
  from?: string;
  tls: 'none' | 'starttls' | 'implicit';
  caFile?: string;
  /** SMTP AUTH: the password is resolved when the first message goes (never logged). */
  auth?: { user: string; password: SecretSource; passwordPath: string };
  timeoutMs: number;
  path: string;
}

export type { UnreadAction };

export interface RuleConfig {
  /** `accounts[0].route[2]` or `accounts[0].processors.transport[2]`, for messages. */
  path: string;
  match: MatcherSpec;
  /** Where the rule sends what it takes; null for "drop", "skip", "kill" and "processor". */
  target: TargetConfig | null;
  /** Set for "skip" and "kill"; null for a rule that takes the message (deliver or drop). */
  unread: UnreadAction | null;
  /** The processor the rule moves the message to (James's ToProcessor); null for every other action. */
  processor: string | null;
  continue: boolean;
}

/** A named, ordered list of rules (James's processor); a flat `route` is the processor "root". */
export interface ProcessorConfig {
  name: string;
  /** `accounts[0].processors.spam`, or `accounts[0].route` for the flat form. */
  path: string;
  rules: RuleConfig[];
}

/** Where a message goes once it has failed in `after` runs: one target, or a processor. */
export type OnFailureConfig = { after: number; path: string } & ({ target: TargetConfig; processor: null } | { target: null; processor: string });

/** How the inSpammerBlacklist matcher looks addresses up. */
export interface DnsblConfig {
  /** Resolvers as "host:port"; null: the system's (/etc/resolv.conf). */
  servers: string[] | null;
  /** How many Received headers at the top your own hosts wrote; the last of them names the client to look up. */
  trustedHops: number;
  timeoutMs: number;
}

export interface AccountConfig {
  /** Position in the config file: failures are reported in this order. */
  index: number;
  /** `accounts[2]`, for messages. */
  path: string;
  name: string;
  enabled: boolean;
  host: string;
  port: number;
  tls: TlsMode;
  tlsOptions: { caFile?: string; servername?: string; fingerprint?: string; insecure: boolean };
  allowPlaintext: boolean;
  user: string;
  password: SecretSource;
  /** Where the password setting is (account or defaults), for error messages. */
  passwordPath: string;
  auth: AuthMethod;
  retentionMs: number;
  /** The other hosts' shortest retention, when declared (`peerRetention`); null: as this host's. Infinity for "never". */
  peerRetentionMs: number | null;
  /** Where a message goes that no ending rule of the route takes (null when the route takes everything). */
  deliver: TargetConfig | null;
  /** The route's processors by name, "root" first; null without a route (everything goes to `deliver`). */
  processors: ReadonlyMap<string, ProcessorConfig> | null;
  onFailure: OnFailureConfig | null;
  dnsbl: DnsblConfig;
  timeoutMs: number;
  /** NOOP this often while the session is idle (0: never). At most MAX_TIMER_MS. */
  keepaliveMs: number;
  /** The most time one run of this account may take, in ms: more than 0, at most MAX_TIMER_MS (24 days), never Infinity. */
  deadlineMs: number;
  /** How often the daemon polls this account, in ms (more than 0, at most MAX_TIMER_MS). */
  everyMs: number;
  /** The most messages the mailbox may list (STAT or LIST/UIDL); an integer of at least 1. */
  maxMessages: number;
  /** Bytes: a message LIST says is larger is not retrieved. */
  maxMessageSize: number;
  /** The most one run fetches; null for no limit. */
  perRun: { messages: number; bytes: number } | null;
  stateKey: string;
}

export interface Config {
  file: string;
  /** An SQLite file, or a PostgreSQL URL (isPostgresUrl). */
  database: string;
  /** The PostgreSQL password, when the URL does not carry one (PGPASSWORD and ~/.pgpass work too). */
  databasePassword: SecretSource | null;
  /**
   * Where this host keeps its own files of the state (spool, lock files): beside the
   * SQLite file, or for PostgreSQL in the host's state directory, one per database.
   */
  localState: string;
  /** Accounts polled at once (1: one after another). */
  parallel: number;
  accounts: AccountConfig[];
  /**
   * Every variable a `password` names with `{ "env": VAR }`, in any account or in
   * "defaults" (used or not): secrets meant for pinchmail, which delivery commands must
   * not inherit.
   */
  secretEnv: string[];
}
