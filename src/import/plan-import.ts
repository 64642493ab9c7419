import path from 'node:path';
import { defaultStateKey } from '../config/load.js';
import type { ImportedAccount, SeenState, SeenUidl, SourceAccount } from './model.js';

/** Where an inline password of the other fetcher's config goes: a 0600 file of its own, an environment variable, or the 0600 config. */
export type PasswordPlace = 'file' | 'env' | 'inline';

export interface ImportRequest {
  accounts: readonly SourceAccount[];
  place: PasswordPlace;
  /** Where password files go: beside the config. */
  configDir: string;
  /** Take an account that keeps mail but whose seen-state file is missing as having delivered nothing. */
  allNew: boolean;
  /** Why pinchmail would refuse this account alone in a config; null when it takes it. */
  refusal: (account: Record<string, unknown>) => string | null;
  /** The state database, written into the config so that the imported state is the one its runs read. */
  database: string;
}

export interface PlannedAccount {
  imported: ImportedAccount;
  /** Its name in pinchmail: the source's, made unique. */
  name: string;
  /** Why it is not in the config; absent when it is. */
  leftOut?: string;
  /** Why the source has no UIDLs for it ("FILE is not there"); absent when it has. */
  missing?: string;
}

/** The UIDLs to record as delivered for one mailbox: every imported account that polls it. */
export interface PlannedMailbox {
  stateKey: string;
  names: string[];
  files: string[];
  uidls: SeenUidl[];
  /** Other spellings of some of them (SeenState.alternates), recorded as delivered too. */
  alternates: SeenUidl[];
}

export interface ImportPlan {
  /** The pinchmail config to write (0600): every account not left out. */
  config: { database: string; accounts: Record<string, unknown>[] };
  accounts: PlannedAccount[];
  mailboxes: PlannedMailbox[];
  /** Password files to create 0600 before the config that names them. */
  secretFiles: { path: string; text: string }[];
  /** One line per password (where it went, or what to set; never the password) and per account left out. */
  notes: string[];
}

/** PINCHMAIL_PASSWORD_WORK for account "work". */
export const passwordVariable = (name: string): string => `PINCHMAIL_PASSWORD_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;

/**
 * The config and files an import writes, decided before anything is: names made unique,
 * each account checked on its own (one pinchmail refuses is left out, not the import),
 * one account per mailbox (the others' UIDLs merged into it), each inline password put
 * where `place` says.
 */
export function planImport(request: ImportRequest): ImportPlan {
  const taken = new Set<string>();
  const variables = new Set<string>();
  const plan: ImportPlan = { config: { database: request.database, accounts: [] }, accounts: [], mailboxes: [], secretFiles: [], notes: [] };
  /** The account written for each mailbox, to merge the next one that polls it. */
  const written = new Map<string, { name: string; imported: ImportedAccount }>();
  /** Each state key's server and port: the same user and host on another port is another mailbox. */
  const ports = new Map<string, number>();
  for (const source of request.accounts) {
    const { seen } = source;
    const name = uniqueName(source.imported.name, taken);
    const imported = keptAsSeen(source, name, plan.notes);
    const stateKey = mailboxOf(imported, ports);
    if (stateKey !== null && stateKey !== defaultKeyOf(imported)) imported.account.stateKey = stateKey;
    const placed = placePassword(imported, name, request, variables);
    const leftOut =
      imported.incomplete ??
      unsendable(imported.inlinePassword) ??
      missingSeenState(source, request.allNew) ??
      refused(request.refusal(placed.account)) ??
      (stateKey !== null ? sameMailbox(imported, written.get(stateKey)) : undefined);
    plan.accounts.push({ imported, name, ...(leftOut ? { leftOut } : {}), ...(source.seen ? {} : { missing: source.missing }) });
    if (stateKey !== null && seen) addSeen(plan.mailboxes, stateKey, name, seen);
    if (leftOut) {
      plan.notes.push(`account ${name}: left out of the config, as ${leftOut}`);
      continue;
    }
    if (stateKey !== null) written.set(stateKey, { name, imported });
    plan.config.accounts.push(orderKeys(placed.account));
    if (placed.secretFile) plan.secretFiles.push(placed.secretFile);
    if (placed.note) plan.notes.push(placed.note);
    plan.notes.push(...loosened(name, placed.account));
  }
  return plan;
}

/**
 * An account whose file says delete once delivered ("retention": "0") though its seen
 * state holds UIDLs: the tool kept mail all the same (a --keep on its command line, or
 * messages it failed to delete). Those messages are imported as delivered, so "0" would
 * have the first run delete every one of them: "never" until the operator says otherwise.
 */
function keptAsSeen(source: SourceAccount, name: string, notes: string[]): ImportedAccount {
  const { imported, seen } = source;
  const account = { ...imported.account };
  if (account.retention === '0' && seen && seen.uidls.length > 0) {
    account.retention = 'never';
    notes.push(
      `account ${name}: its configuration deletes each message once delivered, yet ${seen.file} holds ${seen.uidls.length} UIDL${seen.uidls.length === 1 ? '' : 's'} of messages it kept (a --keep on its command line?): "retention" is "never" for now, so nothing is deleted until you set it`,
    );
  }
  return { ...imported, account };
}

/** Settings that trust more than pinchmail does by default, carried over as the source had them: said, never silent. */
function loosened(name: string, account: Record<string, unknown>): string[] {
  const out: string[] = [];
  if (account.allowPlaintext === true) out.push(`account ${name}: sends its password in clear text over a connection without TLS, as the source did ("allowPlaintext": true)`);
  if ((account.tlsOptions as { insecure?: unknown } | undefined)?.insecure === true) out.push(`account ${name}: accepts any certificate, as the source did ("tlsOptions": { "insecure": true })`);
  return out;
}

function uniqueName(wanted: string, taken: Set<string>, separator = '-'): string {
  let name = wanted;
  for (let n = 2; taken.has(name); n++) name = `${wanted}${separator}${n}`;
  taken.add(name);
  return name;
}

/** pinchmail's default key of the account's mailbox (user and host); null with no host or user. */
function defaultKeyOf(imported: ImportedAccount): string | null {
  const { host, user } = imported.account;
  return typeof host === 'string' && host && typeof user === 'string' && user ? defaultStateKey(host, user) : null;
}

/**
 * The key the account's state is kept under. pinchmail's default names user and host; an
 * account with the same user and host as an earlier one but another port polls another
 * mailbox (another server), so it gets a key of its own with the port in it, and the UIDLs
 * of one are never merged into the other's.
 */
function mailboxOf(imported: ImportedAccount, ports: Map<string, number>): string | null {
  const key = defaultKeyOf(imported);
  if (key === null) return null;
  const { port, tls } = imported.account;
  const effective = typeof port === 'number' ? port : tls === 'implicit' || tls === undefined ? 995 : 110;
  const owner = ports.get(key);
  if (owner === undefined || owner === effective) {
    ports.set(key, effective);
    return key;
  }
  const own = `${key}:${effective}`;
  ports.set(own, effective);
  return own;
}

/** The account as the config will hold it, with its password where `place` says (or, with none in the source, an environment variable). */
function placePassword(
  imported: ImportedAccount,
  name: string,
  { place, configDir }: ImportRequest,
  variables: Set<string>,
): { account: Record<string, unknown>; secretFile?: { path: string; text: string }; note?: string } {
  const account: Record<string, unknown> = { ...imported.account, name };
  const secret = imported.inlinePassword;
  // Two accounts must never be told to read one variable: one server would get the other's password.
  const variable = (): string => uniqueName(passwordVariable(name), variables, '_');
  if (secret === undefined) {
    if (account.password !== undefined) return { account };
    const env = variable();
    account.password = { env };
    const where = imported.askedPassword ?? 'the source holds no password for it';
    return { account, note: `account ${name}: ${where}; pinchmail asks nobody: set ${env} to it where pinchmail runs, or name a file or a command in its "password"` };
  }
  if (place === 'file') {
    const file = path.join(configDir, `${name}.password`);
    account.password = { file };
    return { account, secretFile: { path: file, text: `${secret}\n` }, note: `account ${name}: its password is now in ${file} (mode 0600)` };
  }
  if (place === 'env') {
    const env = variable();
    account.password = { env };
    return { account, note: `account ${name}: its password is not copied; set ${env} to it where pinchmail runs` };
  }
  account.password = secret;
  return { account, note: `account ${name}: its password is inline in the config (mode 0600)` };
}

/**
 * An account that keeps mail on the server, with no record of what the source delivered:
 * importing it would deliver every message there again, the flood the import is for
 * avoiding. Most likely the file is elsewhere; the operator says when it really is new.
 */
function missingSeenState(source: SourceAccount, allNew: boolean): string | undefined {
  if (source.seen || allNew || source.imported.account.retention === '0') return undefined;
  return `it keeps mail on the server but ${source.missing}: every message there would be delivered again (if the source really has delivered nothing from it, import again with --all-new)`;
}

/** A password no POP3 command can carry; written to a file, only its first line would be read. */
const unsendable = (password: string | undefined): string | undefined =>
  password !== undefined && /[\r\n\0]/.test(password) ? 'its password holds a line break or NUL, which no POP3 command can carry' : undefined;

const refused = (problem: string | null): string | undefined => (problem === null ? undefined : `pinchmail refuses it: ${problem}`);

/** pinchmail polls a mailbox as one account: the first that names it is kept, the next merged into it. */
function sameMailbox(imported: ImportedAccount, first: { name: string; imported: ImportedAccount } | undefined): string | undefined {
  if (!first) return undefined;
  const { name: _a, ...mine } = imported.account;
  const { name: _b, ...theirs } = first.imported.account;
  const same = JSON.stringify(orderKeys(mine)) === JSON.stringify(orderKeys(theirs));
  return `it polls the same mailbox as account ${first.name}, which pinchmail polls once (its UIDLs are merged into it)${same ? '' : `; its own settings differ from ${first.name}'s: to keep both, add it by hand with a "stateKey" of its own`}`;
}

/** Merges one account's UIDLs into its mailbox's, the earliest first-seen time winning. */
function addSeen(mailboxes: PlannedMailbox[], stateKey: string, name: string, seen: SeenState): void {
  let box = mailboxes.find((m) => m.stateKey === stateKey);
  if (!box) mailboxes.push((box = { stateKey, names: [], files: [], uidls: [], alternates: [] }));
  box.names.push(name);
  if (!box.files.includes(seen.file)) box.files.push(seen.file);
  merge(box.uidls, seen.uidls);
  merge(box.alternates, (seen.alternates ?? []).filter((a) => !box.uidls.some((u) => u.uidl === a.uidl)));
}

/** Adds `more` to `into`, a UIDL in both keeping the earlier first-seen time. */
function merge(into: SeenUidl[], more: readonly SeenUidl[]): void {
  const at = new Map(into.map((u, i) => [u.uidl, i]));
  for (const u of more) {
    const i = at.get(u.uidl);
    if (i === undefined) {
      at.set(u.uidl, into.length);
      into.push(u);
    } else into[i] = { uidl: u.uidl, firstSeen: earliest(into[i]!.firstSeen, u.firstSeen) };
  }
}

const earliest = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));

/** The keys in the order the example config has them, so the file reads like one written by hand. */
const ORDER = ['name', 'enabled', 'stateKey', 'host', 'port', 'tls', 'tlsOptions', 'allowPlaintext', 'user', 'password', 'auth', 'timeout', 'retention', 'deliver', 'route'];
function orderKeys(account: Record<string, unknown>): Record<string, unknown> {
  const rank = (k: string): number => (ORDER.includes(k) ? ORDER.indexOf(k) : ORDER.length);
  return Object.fromEntries(Object.entries(account).sort(([a], [b]) => rank(a) - rank(b)));
}
