import { isIP } from 'node:net';
import { DURATION_PATTERN, MAX_DURATION_TEXT, MAX_TIMER_MS, SIZE_PATTERN, durationPattern, formatDuration, parseDuration, parseSize } from './duration.js';
import {
  allOptional,
  array,
  boolean,
  childPath,
  custom,
  describeValue,
  integer,
  mismatch,
  object,
  oneOf,
  optional,
  required,
  string,
  type JsonSchema,
  type Shape,
} from './shape.js';
import { ConfigError } from '../errors.js';
import { matcherDefs, onFailureShape, processorsShape, ruleShape } from './route-schema.js';
import { UNSENDABLE_IN_SECRET, unsendableSecret } from './secrets.js';

/**
 * The config file, described once: loading validates against this, and
 * `npm run schema` writes schema/pinchmail.schema.json from it.
 */

export type SecretSource = string | { env: string } | { file: string } | { command: string[] };

/** What a command's exit statuses mean besides 0 (delivered) and the rest (tried again next run). */
export interface ExitCodesSpec {
  permanent?: number[];
  drop?: number[];
}

/** An LMTP or SMTP server, for one recipient (README "Delivering to LMTP and SMTP"). */
export type MailTransferSpec = ({ lmtp: string } | { smtp: string }) & {
  to: string;
  from?: string;
  tls?: 'none' | 'starttls' | 'implicit';
  tlsOptions?: { ca?: string };
  /** SMTP only: log in to a relay (SMTP AUTH). */
  auth?: { user: string; password: SecretSource };
};

export type DeliverSpec = (
  | { command: string | string[]; parallel?: number; exitCodes?: ExitCodesSpec }
  | { maildir: string }
  | { mbox: string }
  | MailTransferSpec
) & { timeout?: string };

/**
 * A duration. `timer` names what it arms ("a timeout"), for a duration that becomes a
 * setTimeout: those may be at most MAX_TIMER_MS, since Node fires a longer one at once.
 */
function duration(description: string, options: { allowNever?: boolean; allowZero?: boolean; timer?: string } = {}): Shape<string> {
  const expected = 'a duration like "7d"';
  const shape = string({
    description,
    // Every form, so that "never" where it is not allowed gets the clearer message below.
    pattern: DURATION_PATTERN,
    expected,
    check: (s) => {
      const ms = parseDuration(s);
      if (ms === Number.POSITIVE_INFINITY && !options.allowNever) return `expected ${expected}; "never" is not allowed here`;
      if (ms === 0 && !options.allowZero) return `expected ${expected}; "0" is not allowed here`;
      // null here is a duration past MAX_DURATION_MS.
      if (options.timer && (ms === null || ms > MAX_TIMER_MS)) return `${describeValue(s)} is too long for ${options.timer} (at most ${formatDuration(MAX_TIMER_MS)})`;
      if (ms === null) return `${describeValue(s)} is too long (at most ${MAX_DURATION_TEXT})${options.allowNever ? '; use "never" for no limit' : ''}`;
      return null;
    },
  });
  return { ...shape, schema: () => ({ ...shape.schema(), pattern: durationPattern(options) }) };
}

const argv = array(string({ minLength: 1 }), { minItems: 1 });

/** A user name or password: no CR, LF or NUL, which no POP3 command can carry. */
const SENDABLE = '^[^\\r\\n\\u0000]+$';

const secret: Shape<SecretSource> = custom({
  expected: 'a string, or an object with one of "env", "file" or "command"',
  parse(value, path) {
    if (typeof value === 'string') {
      if (value.length === 0) throw new ConfigError(path, 'the password is empty');
      if (UNSENDABLE_IN_SECRET.test(value)) throw new ConfigError(path, unsendableSecret('the password'));
      return value;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw mismatch(path, this.expected, value);
    const keys = Object.keys(value).filter((k) => !k.startsWith('//'));
    const [key] = keys;
    if (keys.length !== 1 || !['env', 'file', 'command'].includes(key!)) {
      throw new ConfigError(path, `expected exactly one of "env", "file" or "command", got ${keys.length ? keys.map((k) => `"${k}"`).join(', ') : 'none'}`);
    }
    const inner = (value as Record<string, unknown>)[key!];
    if (key === 'command') return { command: argv.parse(inner, childPath(path, key)) };
    const name = string({ minLength: 1 }).parse(inner, childPath(path, key!));
    return key === 'env' ? { env: name } : { file: name };
  },
  schema: (): JsonSchema => ({
    description: 'The password (or, for xoauth2/oauthbearer, the access token): inline, or from an environment variable, the first line of a file, or the first line a command prints. Never logged.',
    oneOf: [
      { type: 'string', minLength: 1, pattern: SENDABLE },
      { type: 'object', properties: { env: { type: 'string', minLength: 1 } }, required: ['env'], additionalProperties: false, patternProperties: { '^//': {} } },
      { type: 'object', properties: { file: { type: 'string', minLength: 1 } }, required: ['file'], additionalProperties: false, patternProperties: { '^//': {} } },
      {
        type: 'object',
        properties: { command: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 } },
        required: ['command'],
        additionalProperties: false,
        patternProperties: { '^//': {} },
      },
    ],
  }),
});

const deliverTimeout = duration('How long the command may run before it is killed, or an mbox delivery may wait for its locks (default "10m", at most "24d").', { timer: 'a timeout' });
const TARGET_KINDS = ['command', 'maildir', 'mbox', 'lmtp', 'smtp'] as const;

const exitStatuses: Shape<number[]> = array(integer({ min: 1, max: 255 }));
const exitCodes = custom<ExitCodesSpec>({
  expected: 'an object with "permanent" and/or "drop"',
  parse(value, path) {
    const spec = object({
      permanent: optional(exitStatuses),
      drop: optional(exitStatuses),
    }).parse(value, path);
    const both = (spec.permanent ?? []).filter((n) => spec.drop?.includes(n));
    if (both.length) throw new ConfigError(path, `status ${both[0]} is both "permanent" and "drop"`);
    for (const key of ['permanent', 'drop'] as const) {
      if (spec[key]?.includes(75)) throw new ConfigError(childPath(path, key), 'status 75 (EX_TEMPFAIL) always means "try again later"');
    }
    return spec;
  },
  schema: (): JsonSchema => ({
    type: 'object',
    description:
      'What exit statuses other than 0 mean. 0 is delivered; 75 (EX_TEMPFAIL) and every status not listed are tried again next run.',
    properties: {
      permanent: {
        ...exitStatuses.schema(),
        description: 'Statuses that mean the command will never take this message: it goes to onFailure at once, or, without one, counts as a permanent failure. Default [64, 65, 66, 67, 68, 77, 78] (sysexits.h, as procmail and maildrop use them); a list replaces the default.',
      },
      drop: {
        ...exitStatuses.schema(),
        description: 'Statuses that mean the command handled the message by discarding it (a filter that judged it junk): it counts as dropped, and ages out like a delivered one. Default none.',
      },
    },
    additionalProperties: false,
    patternProperties: { '^//': {} },
  }),
});
const KIND_LIST = '"command", "maildir", "mbox", "lmtp" or "smtp"';
const MAIL_TRANSFER_KEYS = ['to', 'from', 'tls', 'tlsOptions', 'auth'];
/** Why "parallel" makes no sense for the other kinds of target, where there is more to say. */
const WHY_NOT_PARALLEL: Record<string, string> = { maildir: '; Maildir deliveries already overlap', mbox: '; an mbox takes one message at a time' };

/** "unix:/run/dovecot/lmtp", "host:port" or "[v6]:port": checked here, split in load.ts. */
export const SERVER_ADDRESS = /^(?:unix:\/.+|(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(?:[1-9][0-9]{0,4}))$/;
/** An address for MAIL FROM or RCPT TO: no spaces, angle brackets or line breaks, which would end or break the command. */
const ENVELOPE_ADDRESS = /^[^\s<>]+$/;

/** SMTP AUTH to a relay: a user name, and a password given like an account's. */
const transferAuth = object(
  {
    user: required(string({ minLength: 1, pattern: SENDABLE, expected: 'a user name (no CR, LF or NUL)', description: 'The user name to log in to the relay with.' })),
    password: required(secret),
  },
  { description: 'Log in to the SMTP server (AUTH PLAIN or LOGIN, over TLS unless the server is on loopback). The password is given as for an account.' },
);

function mailTransfer(kind: 'lmtp' | 'smtp', input: Record<string, unknown>, path: string, timeout: { timeout?: string }): MailTransferSpec {
  const at = childPath(path, kind);
  const address = string({ minLength: 1 }).parse(input[kind], at);
  if (!SERVER_ADDRESS.test(address) || (!address.startsWith('unix:') && Number(address.slice(address.lastIndexOf(':') + 1)) > 65535)) {
    throw new ConfigError(at, `expected "unix:/path/to/socket" or "host:port", got ${describeValue(address)}`);
  }
  if (input.to === undefined) throw new ConfigError(path, `an "${kind}" target needs "to": the recipient`);
  const to = string({ minLength: 1 }).parse(input.to, childPath(path, 'to'));
  if (!ENVELOPE_ADDRESS.test(to)) throw new ConfigError(childPath(path, 'to'), 'expected one address, without spaces or angle brackets');
  const from = input.from === undefined ? {} : { from: string({}).parse(input.from, childPath(path, 'from')) };
  if (from.from && !ENVELOPE_ADDRESS.test(from.from)) throw new ConfigError(childPath(path, 'from'), 'expected one address (or "" for the null sender), without spaces or angle brackets');
  const tls = input.tls === undefined ? {} : { tls: oneOf(['none', 'starttls', 'implicit'] as const).parse(input.tls, childPath(path, 'tls')) };
  if (tls.tls && address.startsWith('unix:')) throw new ConfigError(childPath(path, 'tls'), 'a unix socket stays on this machine: there is no TLS on it');
  const tlsOptions = input.tlsOptions === undefined ? {} : { tlsOptions: object({ ca: optional(string({ minLength: 1 })) }).parse(input.tlsOptions, childPath(path, 'tlsOptions')) };
  if (input.auth !== undefined && kind === 'lmtp') throw new ConfigError(childPath(path, 'auth'), '"auth" is for smtp targets: an LMTP server takes local deliveries without a login');
  const auth = input.auth === undefined ? {} : { auth: transferAuth.parse(input.auth, childPath(path, 'auth')) };
  return { ...(kind === 'lmtp' ? { lmtp: address } : { smtp: address }), to, ...from, ...tls, ...tlsOptions, ...auth, ...timeout } as MailTransferSpec;
}
/** Accounts polled at once: each holds a connection, a lock file and its targets' processes. */
export const MAX_PARALLEL_ACCOUNTS = 256;

const deliverParallel = integer({
  min: 1,
  max: 64,
  description:
    'How many copies of the command may run at once (default 1: one message after another). More overlaps their start-up, but messages then reach the command out of order, and a crash may repeat up to this many.',
});

export const deliverTarget: Shape<DeliverSpec> = custom({
  expected: `an object with ${KIND_LIST}`,
  parse(value, path) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw mismatch(path, this.expected, value);
    const input = value as Record<string, unknown>;
    const kinds = TARGET_KINDS.filter((k) => input[k] !== undefined);
    if (kinds.length !== 1) {
      throw new ConfigError(path, kinds.length ? `give one of ${KIND_LIST}, not ${kinds.map((k) => `"${k}"`).join(' and ')}` : `expected ${KIND_LIST}`);
    }
    for (const key of Object.keys(input)) {
      if (![...TARGET_KINDS, 'timeout', 'parallel', 'exitCodes', ...MAIL_TRANSFER_KEYS].includes(key) && !key.startsWith('//')) {
        throw new ConfigError(childPath(path, key), `unknown key (a target has ${KIND_LIST}, and "timeout"; a command may have "parallel" and "exitCodes"; lmtp and smtp have "to", "from", "tls" and "tlsOptions", smtp also "auth")`);
      }
      if (MAIL_TRANSFER_KEYS.includes(key) && kinds[0] !== 'lmtp' && kinds[0] !== 'smtp') throw new ConfigError(childPath(path, key), `"${key}" is for lmtp and smtp targets`);
    }
    if (kinds[0] !== 'command') {
      if (input.exitCodes !== undefined) throw new ConfigError(childPath(path, 'exitCodes'), '"exitCodes" is for commands');
      if (input.parallel !== undefined) throw new ConfigError(childPath(path, 'parallel'), `"parallel" is for commands${WHY_NOT_PARALLEL[kinds[0]!] ?? ''}`);
    }
    const timeout = input.timeout === undefined ? {} : { timeout: deliverTimeout.parse(input.timeout, childPath(path, 'timeout')) };
    if (kinds[0] === 'maildir') {
      return { maildir: string({ minLength: 1 }).parse(input.maildir, childPath(path, 'maildir')), ...timeout };
    }
    if (kinds[0] === 'lmtp' || kinds[0] === 'smtp') return mailTransfer(kinds[0], input, path, timeout);
    if (kinds[0] === 'mbox') {
      return { mbox: string({ minLength: 1 }).parse(input.mbox, childPath(path, 'mbox')), ...timeout };
    }
    const parallel = input.parallel === undefined ? {} : { parallel: deliverParallel.parse(input.parallel, childPath(path, 'parallel')) };
    const codes = input.exitCodes === undefined ? {} : { exitCodes: exitCodes.parse(input.exitCodes, childPath(path, 'exitCodes')) };
    const command = input.command;
    const commandPath = childPath(path, 'command');
    if (typeof command === 'string') {
      if (command.trim() === '') throw new ConfigError(commandPath, 'the command is empty');
      return { command, ...timeout, ...parallel, ...codes };
    }
    if (!Array.isArray(command)) throw mismatch(commandPath, 'an array of strings (run directly) or a string (run by /bin/sh -c)', command);
    return { command: argv.parse(command, commandPath), ...timeout, ...parallel, ...codes };
  },
  schema: (): JsonSchema => ({
    description: 'Where each message goes: a command that reads it on standard input, a Maildir, an mbox file, or an LMTP or SMTP server.',
    oneOf: [
      {
        type: 'object',
        properties: {
          command: {
            description: 'An argv array run directly (no shell), or a string run by /bin/sh -c.',
            oneOf: [{ type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }, { type: 'string', minLength: 1 }],
          },
          timeout: deliverTimeout.schema(),
          parallel: deliverParallel.schema(),
          exitCodes: exitCodes.schema(),
        },
        required: ['command'],
        additionalProperties: false,
        patternProperties: { '^//': {} },
      },
      {
        type: 'object',
        properties: {
          maildir: { type: 'string', minLength: 1, description: 'A Maildir path (created if missing); "~" is expanded.' },
          timeout: deliverTimeout.schema(),
        },
        required: ['maildir'],
        additionalProperties: false,
        patternProperties: { '^//': {} },
      },
      {
        type: 'object',
        properties: {
          mbox: { type: 'string', minLength: 1, description: 'An mbox file (mboxrd, created 0600 if missing), appended to under a dotlock and an fcntl lock; "~" is expanded.' },
          timeout: deliverTimeout.schema(),
        },
        required: ['mbox'],
        additionalProperties: false,
        patternProperties: { '^//': {} },
      },
      ...(['lmtp', 'smtp'] as const).map((kind) => ({
        type: 'object',
        properties: {
          [kind]: {
            type: 'string',
            pattern: SERVER_ADDRESS.source,
            description:
              kind === 'lmtp'
                ? 'The LMTP server: "unix:/run/dovecot/lmtp" or "host:port". One transaction per message.'
                : 'The SMTP server (a local MTA or a relay): "host:port". One transaction per message.',
          },
          to: { type: 'string', minLength: 1, pattern: ENVELOPE_ADDRESS.source, description: 'The one recipient (RCPT TO).' },
          from: { type: 'string', pattern: `^(?:${ENVELOPE_ADDRESS.source.slice(1, -1)})?$`, description: 'The envelope sender (MAIL FROM); "" for the null sender. Default: the message\'s Return-Path, else its From, else the null sender.' },
          tls: { enum: ['none', 'starttls', 'implicit'], description: 'TLS to the server (TCP only): default "none" to a loopback address, else "starttls" (required).' },
          tlsOptions: { type: 'object', properties: { ca: { type: 'string', minLength: 1 } }, additionalProperties: false, description: 'ca: a PEM file of certificates to trust instead of the system\'s.' },
          ...(kind === 'smtp' ? { auth: transferAuth.schema() } : {}),
          timeout: deliverTimeout.schema(),
        },
        required: [kind, 'to'],
        additionalProperties: false,
        patternProperties: { '^//': {} },
      })),
    ],
  }),
});

/** Node's resolver takes addresses only: a name would need a resolver of its own. */
function dnsServerProblem(text: string): string | null {
  const m = /^\[([^\]]+)\](?::(\d+))?$|^([\d.]+)(?::(\d+))?$|^([0-9A-Fa-f:]+)$/.exec(text);
  const ip = m?.[1] ?? m?.[3] ?? m?.[5];
  const port = Number(m?.[2] ?? m?.[4] ?? 53);
  if (!ip || !isIP(ip) || !(port >= 1 && port <= 65535)) return `"${text}" is not a resolver's IP address with an optional port ("127.0.0.1:5353", "[::1]:53")`;
  return null;
}

const FINGERPRINT = '^sha256:([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$';

/** Every key an account may have; `defaults` may hold all of them but `name`. */
const accountFields = {
  name: required(string({ pattern: '^[A-Za-z0-9._-]+$', expected: 'a name of letters, digits, ".", "_" and "-"', description: 'Unique name of the account.' })),
  enabled: optional(boolean({ description: 'false leaves the account out unless named with --account.' })),
  host: required(string({ pattern: '^[^\\s/]+$', expected: 'a host name or address', description: 'POP3 server.' })),
  port: optional(integer({ min: 1, max: 65535, description: 'Default 995 for implicit TLS, 110 otherwise.' })),
  tls: optional(oneOf(['implicit', 'starttls', 'none'], { description: '"implicit" (POP3S, the default), "starttls" (STLS, never a silent downgrade) or "none".' })),
  tlsOptions: optional(
    object(
      {
        ca: optional(string({ minLength: 1, description: 'PEM file of certificates to trust instead of the system store.' })),
        servername: optional(string({ minLength: 1, description: 'Name to expect in the certificate (and send as SNI) instead of host.' })),
        fingerprint: optional(string({ pattern: FINGERPRINT, expected: 'a certificate pin like "sha256:AB:CD:..." (64 hex digits)', description: 'Accept exactly the certificate with this SHA-256 fingerprint.' })),
        insecure: optional(boolean({ description: 'Accept any certificate. Only for testing.' })),
      },
      { description: 'Loosen or pin certificate checking.' },
    ),
  ),
  allowPlaintext: optional(boolean({ description: 'Allow sending the password in clear text to a host that is not loopback.' })),
  user: required(string({ minLength: 1, pattern: SENDABLE, expected: 'a non-empty user name', description: 'Login name.' })),
  password: required(secret),
  auth: optional(oneOf(['auto', 'user', 'apop', 'plain', 'login', 'cram-md5', 'xoauth2', 'oauthbearer'], { description: '"auto" (default) picks the strongest the server offers.' })),
  retention: optional(duration('How long a delivered message stays on the server, from when this host first saw it (default "7d").', { allowNever: true, allowZero: true })),
  peerRetention: optional(
    duration(
      'The shortest retention of the other hosts that share this mailbox, when it differs from this host\'s: a run that comes longer than this after the one before warns that a peer may have deleted mail this host never saw (default: this host\'s retention).',
      { allowNever: true, allowZero: true },
    ),
  ),
  deliver: optional(deliverTarget),
  route: optional(
    array(ruleShape(deliverTarget), {
      minItems: 1,
      description: 'Ordered rules: each message goes to the first rule that matches (and on, past rules that say "continue": true). A message no ending rule takes goes to "deliver".',
    }),
  ),
  processors: optional(processorsShape(deliverTarget)),
  onFailure: optional(onFailureShape(deliverTarget)),
  dnsbl: optional(
    object(
      {
        servers: optional(
          array(string({ minLength: 1, check: dnsServerProblem, description: 'An IP address, with a port if not 53: "127.0.0.1:5353", "[::1]:5353", "::1".' }), {
            minItems: 1,
            description: 'DNS resolvers to ask, as "host:port" (default: the system\'s, from /etc/resolv.conf).',
          }),
        ),
        trustedHops: optional(
          integer({
            min: 1,
            max: 20,
            description: 'How many Received headers at the top of a message your own hosts wrote (default 1): the last of them names the client that handed the message to you, whose address is looked up.',
          }),
        ),
        timeout: optional(duration('How long one lookup may take before it counts as failed (default "5s").', { timer: 'a timeout' })),
      },
      { description: 'How "inSpammerBlacklist" matchers look up the client your own MTA took a message from.' },
    ),
  ),
  timeout: optional(duration('Network inactivity timeout (default "60s", at most "24d").', { timer: 'a timeout' })),
  keepalive: optional(
    duration('While deliveries keep the session idle, send NOOP this often, so the server does not end it (default "1m", at most "24d"; "0": never).', {
      allowZero: true,
      timer: 'a keepalive',
    }),
  ),
  every: optional(
    duration('How often `pinchmail daemon` polls this account (default "5m", at most "24d"), from the start of one poll to the next, give or take a tenth at random so peers drift apart. Cron runs ignore it.', {
      timer: 'an interval',
    }),
  ),
  deadline: optional(
    duration(
      'The most time one run of this account may take (default "1h", at most "24d"). Then the run stops: what was delivered stays recorded, nothing is deleted, and pinchmail exits 75.',
      { timer: 'a deadline' },
    ),
  ),
  maxMessages: optional(
    integer({
      min: 1,
      max: 10_000_000,
      description: 'The most messages the mailbox may list (default 200000, at most 10000000). A server that claims or lists more fails the account (exit 76).',
    }),
  ),
  maxMessageSize: optional(
    string({
      pattern: SIZE_PATTERN,
      expected: 'a size like "50M"',
      // Bodies are bounded on the wire by twice this (CRLF, stuffing); 2^40 keeps that far from overflowing anything.
      check: (s) => (parseSize(s)! < 1024 ? `"${s}" is too small for a message (at least "1K")` : parseSize(s)! > 1024 ** 4 ? `"${s}" is too large (at most "1024G")` : null),
      description: 'The largest message retrieved, by the size LIST gives (default "1G"). A larger one is left on the server and reported as failed, every run.',
    }),
  ),
  maxMessagesPerRun: optional(
    integer({
      min: 1,
      max: 10_000_000,
      description:
        'The most messages one run fetches (default no limit), oldest first; the rest wait for the next run, which says how many. A first sight of a huge mailbox then fits a cron interval. Like getmail6\'s max_messages_per_session and fetchmail\'s fetchlimit.',
    }),
  ),
  maxBytesPerRun: optional(
    string({
      pattern: SIZE_PATTERN,
      expected: 'a size like "500M"',
      check: (s) => (parseSize(s)! > 1024 ** 5 ? `"${s}" is too large` : null),
      description: 'The most bytes (by LIST sizes) one run fetches (default no limit); one message is always fetched, however large.',
    }),
  ),
  stateKey: optional(string({ minLength: 1, description: 'Key of this mailbox in the state database (default: user and lower-cased host).' })),
};

export const accountShape = object(accountFields, { description: 'A POP3 account.' });

const { name: _name, ...defaultableFields } = accountFields;
const optionalDefaults = allOptional(defaultableFields);

/** Accounts as written in the file: only `name` is needed here, since defaults may supply the rest. */
const accountEntry = object(
  { ...optionalDefaults, name: accountFields.name },
  { description: 'A POP3 account. host, user, password and deliver (or route) may come from defaults.' },
);

export const configShape = object(
  {
    database: optional(
      string({
        minLength: 1,
        description:
          'State database: an SQLite file (default $XDG_STATE_HOME/pinchmail/state.sqlite), or a PostgreSQL URL (postgresql://USER@HOST[:PORT]/DB) that the hosts of a group share: they then poll each account as one consumer.',
      }),
    ),
    databasePassword: optional(secret),
    parallel: optional(
      integer({
        min: 1,
        max: MAX_PARALLEL_ACCOUNTS,
        description:
          'How many accounts a run (or the daemon) polls at once, each over its own connection (default 1: one after another). The exit status and the output keep the config order. --parallel overrides it.',
      }),
    ),
    defaults: optional(object(optionalDefaults, { description: 'Any account key but name; an account\'s own value wins.' })),
    accounts: required(array(accountEntry, { minItems: 1, description: 'The POP3 accounts to poll.' })),
  },
  { description: 'pinchmail configuration', extraKeys: ['$schema'] },
);

export type RawConfig = ReturnType<typeof configShape.parse>;
export type RawAccount = RawConfig['accounts'][number];
export { accountFields };

/** The JSON Schema for the config file. */
export function configJsonSchema(): JsonSchema {
  const root = configShape.schema();
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://pinchmail.dev/schema/pinchmail.schema.json',
    title: 'pinchmail configuration',
    ...root,
    $defs: matcherDefs(),
  };
}
