import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { ConfigError, errorMessage, fileProblem } from '../errors.js';
import { parseDuration, parseSize } from './duration.js';
import { findDuplicateKey, findJsonSyntaxError } from './json-syntax.js';
import { configFileProblem, configSecretProblem, readRegularFile } from './secrets.js';
import { isLoopback } from '../util/loopback.js';
import { PERMANENT_SYSEXITS } from '../util/sysexits.js';
import { defaultDatabasePath, resolvePath } from './paths.js';
import type { AccountConfig, Config, DnsblConfig, TargetConfig } from './types.js';
import { resolveRouting } from './processors.js';
import { configShape, type DeliverSpec, type MailTransferSpec, type RawAccount, type SecretSource } from './schema.js';
import { childPath } from './shape.js';

/** Every delivery target an account can use (for how many may run at once). */
export function targetsOf(account: Pick<AccountConfig, 'deliver' | 'processors' | 'onFailure'>): TargetConfig[] {
  return [
    ...(account.deliver ? [account.deliver] : []),
    ...[...(account.processors?.values() ?? [])].flatMap((p) => p.rules.flatMap((r) => (r.target ? [r.target] : []))),
    ...(account.onFailure?.target ? [account.onFailure.target] : []),
  ];
}

const DEFAULT_RETENTION = '7d';
const DEFAULT_TIMEOUT = '60s';
/** Far inside any server's idle timeout: RFC 1939 asks for at least ten minutes, mailutils and Dovecot use that. */
const DEFAULT_KEEPALIVE = '1m';
const DEFAULT_DELIVER_TIMEOUT = '10m';
const DEFAULT_DEADLINE = '1h';
const DEFAULT_EVERY = '5m';
const DEFAULT_MAX_MESSAGES = 200_000;
const DEFAULT_MAX_MESSAGE_SIZE = '1G';
/** A DNSBL answers from its own servers in milliseconds; seconds mean it is not answering. */
const DEFAULT_DNSBL_TIMEOUT = '5s';

/**
 * Reads and validates a config file; every problem is a ConfigError naming where it is.
 * A config names the commands pinchmail runs and may hold a password, so one that another
 * user could change, or read while it holds a password, is refused (see src/config/secrets.ts).
 */
export function loadConfig(file: string): Config {
  const { text, stat } = readConfigFile(file);
  // Before parsing: a file someone else may have written is not worth reading further.
  const untrusted = configFileProblem(file, stat);
  if (untrusted) throw new ConfigError(file, untrusted);
  const { config, inlinePassword } = parseDocument(text, file);
  const exposed = inlinePassword ? configSecretProblem(stat, inlinePassword) : null;
  if (exposed) throw new ConfigError(file, exposed);
  return config;
}

function readConfigFile(file: string): { text: string; stat: Stats } {
  try {
    return readRegularFile(file);
  } catch (err) {
    throw new ConfigError(file, `cannot read the config file: ${fileProblem(err)}`, { cause: err });
  }
}

export function parseConfig(text: string, file: string): Config {
  return parseDocument(text, file).config;
}

/** The config, and where the first password written in it as a string is (null if none). */
function parseDocument(text: string, file: string): { config: Config; inlinePassword: string | null } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const where = findJsonSyntaxError(text);
    const problem = where ? `line ${where.line}, column ${where.column}: ${where.message}` : errorMessage(err);
    throw new ConfigError(file, `invalid JSON at ${problem}`, { cause: err });
  }
  // JSON.parse keeps the last of a key given twice; the first may be the one meant.
  const duplicate = findDuplicateKey(text);
  if (duplicate) {
    throw new ConfigError(duplicate.path, `given twice in the same object (again at line ${duplicate.line}, column ${duplicate.column}); say it once`);
  }
  const raw = configShape.parse(json, '');
  const dir = path.dirname(path.resolve(file));
  const accounts = raw.accounts.map((entry, index) => resolveAccount(entry, raw.defaults ?? {}, index, dir));
  checkUnique(accounts);
  // Every password setting in the file, used or not: one in "defaults" that every account overrides is still there.
  const settings = [
    ...raw.accounts.map((a, i) => ({ at: `accounts[${i}].password`, source: a.password })),
    { at: 'defaults.password', source: raw.defaults?.password },
    { at: 'databasePassword', source: raw.databasePassword },
    // A password in the URL is a password written in the file.
    ...(raw.database && isPostgresUrl(raw.database) && urlPassword(raw.database) ? [{ at: 'database', source: urlPassword(raw.database) }] : []),
    ...raw.accounts.flatMap((a, i) => relayPasswords(a, `accounts[${i}]`)),
    ...(raw.defaults ? relayPasswords(raw.defaults, 'defaults') : []),
  ];
  return {
    config: {
      file: path.resolve(file),
      ...databaseOf(raw.database, raw.databasePassword, dir),
      parallel: raw.parallel ?? 1,
      accounts,
      secretEnv: [...new Set(settings.flatMap(({ source }) => (typeof source === 'object' && 'env' in source ? [source.env] : [])))],
    },
    inlinePassword: settings.find(({ source }) => typeof source === 'string')?.at ?? null,
  };
}

/** The state database the config names, and where this host keeps its own files for it. */
function databaseOf(database: string | undefined, password: SecretSource | undefined, dir: string): Pick<Config, 'database' | 'databasePassword' | 'localState'> {
  if (database && isPostgresUrl(database)) {
    if (!URL.canParse(database)) throw new ConfigError('database', 'not a PostgreSQL URL pinchmail can read (postgresql://USER@HOST[:PORT]/DB)');
    // One directory per database (its password aside): two groups never share a spool.
    const u = new URL(database);
    u.password = '';
    const key = createHash('sha256').update(u.toString()).digest('hex').slice(0, 16);
    return { database, databasePassword: password ?? null, localState: path.join(path.dirname(defaultDatabasePath()), `postgresql-${key}`) };
  }
  if (password !== undefined) throw new ConfigError('databasePassword', 'only for a PostgreSQL "database"; an SQLite file has no password');
  const file = database ? resolvePath(database, dir) : defaultDatabasePath();
  return { database: file, databasePassword: null, localState: file };
}

/** A PostgreSQL URL, as libpq and node-postgres take one. */
export const isPostgresUrl = (database: string): boolean => /^postgres(ql)?:\/\//i.test(database);

const urlPassword = (url: string): string | undefined => {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
};

type Defaults = Partial<Omit<RawAccount, 'name'>>;

/** The SMTP AUTH passwords of an account's (or the defaults') targets, where they are written. */
function relayPasswords(entry: Defaults, at: string): { at: string; source: SecretSource }[] {
  const targets: [DeliverSpec | undefined, string][] = [
    [entry.deliver, `${at}.deliver`],
    ...(entry.route ?? []).map((r, i): [DeliverSpec | undefined, string] => [r.deliver, `${at}.route[${i}].deliver`]),
    ...Object.entries(entry.processors ?? {}).flatMap(([name, rules]) =>
      rules.map((r, i): [DeliverSpec | undefined, string] => [r.deliver, `${childPath(childPath(at, 'processors'), name)}[${i}].deliver`]),
    ),
    [entry.onFailure?.deliver, `${at}.onFailure.deliver`],
  ];
  return targets.flatMap(([spec, where]) => (spec && 'smtp' in spec && spec.auth ? [{ at: `${where}.auth.password`, source: spec.auth.password }] : []));
}

function resolveAccount(entry: RawAccount, defaults: Defaults, index: number, dir: string): AccountConfig {
  const at = `accounts[${index}]`;
  // An account's own value wins; `from` says where a value came from, for messages.
  const pick = <K extends keyof Defaults>(key: K): { value: Defaults[K]; path: string } =>
    entry[key] !== undefined ? { value: entry[key], path: childPath(at, key) } : { value: defaults[key], path: childPath('defaults', key) };
  const need = <K extends keyof Defaults>(key: K, what: string): { value: NonNullable<Defaults[K]>; path: string } => {
    const got = pick(key);
    if (got.value === undefined) throw new ConfigError(at, `missing "${key}" (${what}); set it in the account or in "defaults"`);
    return got as { value: NonNullable<Defaults[K]>; path: string };
  };

  const host = need('host', 'the POP3 server').value;
  const user = need('user', 'the login name').value;
  const password = need('password', 'the password or where to get it');
  // An account's own route or processors replace both of the defaults'.
  const ownRouting = entry.route !== undefined || entry.processors !== undefined;
  const route = ownRouting ? { value: entry.route, path: childPath(at, 'route') } : pick('route');
  const processors = ownRouting ? { value: entry.processors, path: childPath(at, 'processors') } : pick('processors');
  const deliver = route.value || processors.value ? pick('deliver') : need('deliver', 'where messages go');
  const routing = resolveRouting({
    route,
    processors,
    // With its own routing, the defaults' onFailure (which may name the defaults' processors) is not the account's.
    onFailure: ownRouting ? { value: entry.onFailure, path: childPath(at, 'onFailure') } : pick('onFailure'),
    deliverPath: deliver.value ? deliver.path : null,
    resolve: (spec: DeliverSpec, where: string) => resolveTarget(spec, where, dir),
  });
  const tls = pick('tls').value ?? 'implicit';
  const tlsOptions = pick('tlsOptions').value ?? {};
  const auth = pick('auth').value ?? 'auto';
  const allowPlaintext = pick('allowPlaintext').value ?? false;

  if (tls === 'none' && !allowPlaintext && !isLoopback(host) && ['user', 'plain', 'login', 'xoauth2', 'oauthbearer'].includes(auth)) {
    throw new ConfigError(
      pick('auth').value === undefined ? childPath(at, 'tls') : pick('auth').path,
      `"auth": "${auth}" would send the secret in clear text to ${host} over "tls": "none"; use "tls": "starttls" or "implicit", or set "allowPlaintext": true`,
    );
  }

  return {
    index,
    path: at,
    name: entry.name,
    enabled: pick('enabled').value ?? true,
    host,
    port: pick('port').value ?? (tls === 'implicit' ? 995 : 110),
    tls,
    tlsOptions: {
      ...(tlsOptions.ca !== undefined ? { caFile: resolvePath(tlsOptions.ca, dir) } : {}),
      ...(tlsOptions.servername !== undefined ? { servername: tlsOptions.servername } : {}),
      ...(tlsOptions.fingerprint !== undefined ? { fingerprint: tlsOptions.fingerprint } : {}),
      insecure: tlsOptions.insecure ?? false,
    },
    allowPlaintext,
    user,
    password: resolveSecretPaths(password.value, dir),
    passwordPath: password.path,
    auth,
    retentionMs: parseDuration(pick('retention').value ?? DEFAULT_RETENTION)!,
    peerRetentionMs: optionalDuration(pick('peerRetention').value),
    deliver: deliver.value ? resolveTarget(deliver.value, deliver.path, dir) : null,
    processors: routing.processors,
    onFailure: routing.onFailure,
    dnsbl: dnsblOf(pick('dnsbl').value),
    timeoutMs: parseDuration(pick('timeout').value ?? DEFAULT_TIMEOUT)!,
    keepaliveMs: parseDuration(pick('keepalive').value ?? DEFAULT_KEEPALIVE)!,
    deadlineMs: parseDuration(pick('deadline').value ?? DEFAULT_DEADLINE)!,
    everyMs: parseDuration(pick('every').value ?? DEFAULT_EVERY)!,
    maxMessages: pick('maxMessages').value ?? DEFAULT_MAX_MESSAGES,
    maxMessageSize: parseSize(pick('maxMessageSize').value ?? DEFAULT_MAX_MESSAGE_SIZE)!,
    perRun: perRunLimit(pick('maxMessagesPerRun').value, pick('maxBytesPerRun').value),
    stateKey: pick('stateKey').value ?? defaultStateKey(host, user),
  };
}

function dnsblOf(spec: Defaults['dnsbl']): DnsblConfig {
  return { servers: spec?.servers ?? null, trustedHops: spec?.trustedHops ?? 1, timeoutMs: parseDuration(spec?.timeout ?? DEFAULT_DNSBL_TIMEOUT)! };
}

/** The per-run limit the keys set, or null when neither is there. */
function perRunLimit(messages: number | undefined, bytes: string | undefined): { messages: number; bytes: number } | null {
  if (messages === undefined && bytes === undefined) return null;
  return { messages: messages ?? Number.POSITIVE_INFINITY, bytes: bytes === undefined ? Number.POSITIVE_INFINITY : parseSize(bytes)! };
}

/** A duration the schema has checked, or null when the key is absent. */
function optionalDuration(text: string | undefined): number | null {
  return text === undefined ? null : parseDuration(text)!;
}

function resolveSecretPaths(source: SecretSource, dir: string): SecretSource {
  return typeof source === 'object' && 'file' in source ? { file: resolvePath(source.file, dir) } : source;
}

function resolveMailTransfer(spec: MailTransferSpec, timeoutMs: number, at: string, dir: string): TargetConfig {
  const kind = 'lmtp' in spec ? 'lmtp' : 'smtp';
  const text = 'lmtp' in spec ? spec.lmtp : spec.smtp;
  const colon = text.lastIndexOf(':');
  const address = text.startsWith('unix:')
    ? { path: resolvePath(text.slice('unix:'.length), dir) }
    : { host: text.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(text.slice(colon + 1)) };
  const local = 'path' in address || isLoopback(address.host);
  const tls = spec.tls ?? (local ? 'none' : 'starttls');
  if (spec.auth && tls === 'none' && !local) {
    throw new ConfigError(`${at}.auth`, `with "tls": "none", the password would cross the network in the clear to ${text}; use "starttls" or "implicit"`);
  }
  return {
    kind,
    address,
    to: spec.to,
    ...(spec.from !== undefined ? { from: spec.from } : {}),
    tls,
    ...(spec.tlsOptions?.ca !== undefined ? { caFile: resolvePath(spec.tlsOptions.ca, dir) } : {}),
    ...(spec.auth ? { auth: { user: spec.auth.user, password: spec.auth.password, passwordPath: `${at}.auth.password` } } : {}),
    timeoutMs,
    path: at,
  };
}

export function resolveTarget(spec: DeliverSpec, at: string, dir: string): TargetConfig {
  const timeoutMs = parseDuration(spec.timeout ?? DEFAULT_DELIVER_TIMEOUT)!;
  if ('maildir' in spec) return { kind: 'maildir', dir: resolvePath(spec.maildir, dir), timeoutMs, path: at };
  if ('mbox' in spec) return { kind: 'mbox', file: resolvePath(spec.mbox, dir), timeoutMs, path: at };
  if ('lmtp' in spec || 'smtp' in spec) return resolveMailTransfer(spec, timeoutMs, at, dir);
  const argv = typeof spec.command === 'string' ? ['/bin/sh', '-c', spec.command] : [...spec.command];
  // A program given as "~/bin/x" is a path like any other.
  if (argv[0]!.startsWith('~/')) argv[0] = resolvePath(argv[0]!, dir);
  const exitCodes = { permanent: spec.exitCodes?.permanent ?? PERMANENT_SYSEXITS, drop: spec.exitCodes?.drop ?? [] };
  return { kind: 'command', argv, timeoutMs, path: at, parallel: spec.parallel ?? 1, exitCodes };
}

function checkUnique(accounts: AccountConfig[]): void {
  const names = new Map<string, AccountConfig>();
  const keys = new Map<string, AccountConfig>();
  for (const account of accounts) {
    const sameName = names.get(account.name);
    if (sameName) throw new ConfigError(`${account.path}.name`, `duplicate name "${account.name}" (also ${sameName.path})`);
    names.set(account.name, account);
    const sameBox = keys.get(account.stateKey);
    if (sameBox) {
      throw new ConfigError(
        account.path,
        `same mailbox as ${sameBox.path} ("${account.stateKey}"): one would never see mail the other delivered; give one a different "stateKey" if this is really meant`,
      );
    }
    keys.set(account.stateKey, account);
  }
}

/** The mailbox an account's state is kept under unless "stateKey" says otherwise: its user and lower-cased host. */
export function defaultStateKey(host: string, user: string): string {
  return `${host.toLowerCase()}/${user}`;
}
