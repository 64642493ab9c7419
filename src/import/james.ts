/**
 * Apache James's mail processing (James 2.x config.xml's <spoolmanager>, James 3.x
 * mailetcontainer.xml's <processors>) translated into pinchmail's "processors": each James
 * processor becomes a pinchmail processor, each mailet with its matcher a rule. Pure: the
 * caller reads the file and prints the result.
 *
 * James tries every mailet of a processor, in order, whose matcher matches, until a mailet
 * changes the mail's state: "ghost" ends its processing, another state moves it to that
 * processor. So a mailet that changes the state becomes a rule that ends the route, and one
 * that leaves it alone a rule with "continue": true.
 */
import { DEFAULT_ERROR_AFTER, ERROR, ROOT } from '../config/processors.js';
import { PROCESSOR_NAME } from '../config/route-schema.js';
import { ConfigError } from '../errors.js';
import { attribute, childrenNamed, findElement, readXml, type XmlDocument, type XmlElement } from './james-xml.js';
import { findLoop, reachableFrom, type Graph } from '../util/graph.js';

export interface JamesOptions {
  /** User names (the part before "@") RecipientIsLocal stands for: James keeps them in its users repository. */
  localUsers?: string[];
  /** Domains HostIsLocal and RecipientIsLocal stand for; else config.xml's <servernames>. */
  localDomains?: string[];
  /** The Maildir that LocalDelivery and its likes become (default "Maildir"). */
  localMaildir?: string;
  /** The file's name, as errors begin with it (default "James config"). */
  file?: string;
}

export interface JamesNote {
  /** e.g. 'processor "transport", mailet 3 (RemoteDelivery)' */
  where: string;
  what: string;
  /** false: left out of the translation. */
  translated: boolean;
}

export interface JamesTranslation {
  processors: Record<string, unknown[]>;
  onFailure?: { after: number; processor: string };
  notes: JamesNote[];
}

type Matcher =
  | 'all'
  | { relayLimit: number }
  | { userIs: string[] }
  | { recipientIs: string[] }
  | { senderIs: string[] }
  | { hostIs: string[] }
  | { subjectIs: string }
  | { subjectStartsWith: string }
  | { hasHeader: string; value?: string }
  | { sizeOver: string }
  | { inSpammerBlacklist: string }
  | { and: Matcher[] }
  | { or: Matcher[] }
  | { not: Matcher };

type Target = { maildir: string } | { command: string[] };
type Action = { deliver: Target } | { drop: true } | { processor: string };
type Rule = { match: Matcher } & Action & { continue?: true };

/** A rule with where it came from, for the checks made on the whole translation. */
interface PlacedRule {
  rule: Rule;
  where: string;
  /** The James repository path the rule delivers to, when it came from one. */
  repository?: string;
}

interface Context {
  /** The local domains, or why there are none. */
  domains: { list: string[]; autodetected: boolean } | { missing: string };
  users: string[] | null;
  maildir: string;
  /** James 3's named composite matchers (<matcher name="..." match="...Or">) of the processor at hand. */
  composites: ReadonlyMap<string, XmlElement>;
}

const DEFAULT_FILE = 'James config';
const DEFAULT_MAILDIR = 'Maildir';
const GHOST = 'ghost';
/** Failed runs before a message goes to "error": James moves it there at the first failure, pinchmail retries first. */
const ERROR_AFTER = DEFAULT_ERROR_AFTER;

export function translateJames(xml: string, options: JamesOptions = {}): JamesTranslation {
  const file = options.file ?? DEFAULT_FILE;
  const doc = readXml(xml, file);
  const container = mailetContainer(doc, file);
  const processorElements = namedProcessors(container.processors, file);
  if (!processorElements.has(ROOT)) throw new ConfigError(file, `no processor "${ROOT}": James starts every mail there`);

  const notes: JamesNote[] = [];
  const placed = new Map<string, PlacedRule[]>();
  const base = {
    domains: localDomains(options, container),
    users: options.localUsers ?? null,
    maildir: options.localMaildir ?? DEFAULT_MAILDIR,
  };
  for (const [name, element] of processorElements) {
    placed.set(name, translateProcessor(name, element, { ...base, composites: compositeMatchers(element) }, notes));
  }
  noteIncludedFiles(processorElements, doc.externalEntities, notes);

  const onFailure = placed.has(ERROR) ? { after: ERROR_AFTER, processor: ERROR } : undefined;
  checkTranslation(placed, onFailure, notes);

  const processors: Record<string, unknown[]> = Object.create(null);
  // pinchmail refuses a processor no message reaches, so the one a left-out rule led to is left out too.
  const reached = reachable(placed, onFailure);
  for (const [name, rules] of placed) if (reached.has(name)) processors[name] = rules.map((r) => r.rule);
  return { processors, ...(onFailure ? { onFailure } : {}), notes };
}

// ---------------------------------------------------------------------------
// The file's layout

interface MailetContainer {
  processors: XmlElement[];
  /** config.xml's <servernames>, null when the file has none (James 3 keeps domains elsewhere). */
  servernames: { names: string[]; autodetect: boolean } | null;
}

/** James 2's <spoolmanager> (anywhere under <config>), else James 3's <processors>. */
function mailetContainer(doc: XmlDocument, file: string): MailetContainer {
  const block = findElement(doc.elements, 'spoolmanager') ?? findElement(doc.elements, 'processors');
  if (!block) throw new ConfigError(file, 'holds no <spoolmanager> (James 2 config.xml) or <processors> (James 3 mailetcontainer.xml) block');
  const james = findElement(doc.elements, 'James');
  const servernames = james ? childrenNamed(james, 'servernames')[0] : undefined;
  return {
    processors: childrenNamed(block, 'processor'),
    servernames: servernames
      ? {
          names: childrenNamed(servernames, 'servername').map((s) => s.text).filter((s) => s !== ''),
          autodetect: attribute(servernames, 'autodetect')?.toLowerCase() === 'true',
        }
      : null,
  };
}

/** The processors by name (James 2's name="", James 3's state=""), in file order. */
function namedProcessors(elements: XmlElement[], file: string): Map<string, XmlElement> {
  const byName = new Map<string, XmlElement>();
  elements.forEach((element, i) => {
    const name = attribute(element, 'state') ?? attribute(element, 'name');
    if (name === undefined) {
      throw new ConfigError(file, `processor ${i + 1} has no name (James 2 names a processor with name="...", James 3 with state="...")`);
    }
    if (byName.has(name)) throw new ConfigError(file, `two processors are named "${name}"`);
    byName.set(name, element);
  });
  return byName;
}

function localDomains(options: JamesOptions, container: MailetContainer): Context['domains'] {
  if (options.localDomains?.length) return { list: options.localDomains, autodetected: false };
  const servernames = container.servernames;
  if (servernames === null) {
    return { missing: 'this file names no local domains (James 3 keeps them in domainlist.xml): give localDomains' };
  }
  if (servernames.names.length === 0) return { missing: 'this file\'s <servernames> lists no <servername>: give localDomains' };
  return { list: servernames.names, autodetected: servernames.autodetect };
}

/** James 3's <matcher name="N" match="...And|Or|Not">, which a mailet's match="N" refers to. */
function compositeMatchers(processor: XmlElement): Map<string, XmlElement> {
  const composites = new Map<string, XmlElement>();
  for (const matcher of childrenNamed(processor, 'matcher')) {
    const name = attribute(matcher, 'name');
    if (name !== undefined) composites.set(name, matcher);
  }
  return composites;
}

// ---------------------------------------------------------------------------
// Processors and mailets

function translateProcessor(name: string, element: XmlElement, ctx: Context, notes: JamesNote[]): PlacedRule[] {
  const rules: PlacedRule[] = [];
  let catchAll: string | null = null;
  let endedBy: string | null = null;
  childrenNamed(element, 'mailet').forEach((mailet, i) => {
    const className = attribute(mailet, 'class');
    const where = `processor "${name}", mailet ${i + 1}${className ? ` (${simpleName(className)})` : ''}`;
    const result = translateMailet(mailet, className, ctx);
    if ('reason' in result) {
      notes.push({ where, what: result.reason, translated: false });
      if (className !== undefined && endsTheWay(simpleName(className), mailetParameters(mailet))) endedBy ??= `mailet ${i + 1}`;
      return;
    }
    if (endedBy !== null) {
      // James ended the way of some mail at the mailet left out; the rules after it (a final drop, say) would now take that mail instead.
      notes.push({ where, what: `follows ${endedBy}, left out, which ended the way of the mail it took: what reaches here goes to the account's deliver instead`, translated: false });
      return;
    }
    if (catchAll !== null) {
      // pinchmail refuses rules after one that takes every message; James never ran them either.
      notes.push({ where, what: `never reached: ${catchAll} takes every message first`, translated: false });
      return;
    }
    for (const what of result.notes) notes.push({ where, what, translated: true });
    rules.push({ rule: result.rule, where, ...(result.repository !== undefined ? { repository: result.repository } : {}) });
    if (takesEverything(result.rule)) catchAll = `mailet ${i + 1}`;
  });
  return rules;
}

type MailetResult = { rule: Rule; notes: string[]; repository?: string } | { reason: string };

/** The mailet and its matcher as a rule, or why it cannot be one (the mailet's reason first: it is the more basic). */
function translateMailet(mailet: XmlElement, className: string | undefined, ctx: Context): MailetResult {
  if (className === undefined) return { reason: 'a mailet without class="...": James would not start' };
  const parameters = mailetParameters(mailet);
  const action = translateAction(className, parameters, ctx);
  if ('reason' in action) return action;
  // James 3 takes a mailet without match="..." as match="All".
  const match = attribute(mailet, 'match') ?? 'All';
  const matcher = translateMatch(match, ctx);
  if ('reason' in matcher) return { reason: `match="${match}": ${matcher.reason}` };
  const rule = { match: matcher.matcher, ...action.action, ...(action.continues ? { continue: true as const } : {}) };
  return { rule, notes: [...matcher.notes, ...action.notes], ...(action.repository !== undefined ? { repository: action.repository } : {}) };
}

/** The mailet's parameters: its child elements' text, by element name. */
function mailetParameters(mailet: XmlElement): Map<string, string> {
  const parameters = new Map<string, string>();
  for (const child of mailet.children) parameters.set(child.name, child.text);
  return parameters;
}

function simpleName(className: string): string {
  return className.slice(className.lastIndexOf('.') + 1);
}

/** Mailets that end a mail's way through its processor (its state changes): what follows them never sees that mail. */
function endsTheWay(mailet: string, parameters: ReadonlyMap<string, string>): boolean {
  const passThrough = parameters.get('passThrough')?.trim().toLowerCase();
  // ToRepository and AbstractRedirect's kin end the mail's way unless they pass it on.
  if (['ToRepository', 'Redirect', 'Forward', 'Resend'].includes(mailet)) return passThrough !== 'true';
  // The notices' default differs between James's versions (James 3 puts ToRepository after Bounce in "error"): ending only when the file says so.
  if (['Bounce', 'DSNBounce', 'NotifySender', 'NotifyPostmaster'].includes(mailet)) return passThrough === 'false';
  if (mailet === 'ToRecipientFolder' || mailet === 'ToSenderFolder') return parameters.get('consume')?.trim().toLowerCase() === 'true';
  return ENDING_MAILETS.has(mailet);
}

const ENDING_MAILETS = new Set(['Null', 'ToProcessor', 'LocalDelivery', 'ToMultiRepository', 'RemoteDelivery']);

function isRecipientMatcher(m: Matcher): boolean {
  return typeof m === 'object' && ('userIs' in m || 'hostIs' in m || 'recipientIs' in m);
}

function takesEverything(rule: Rule): boolean {
  return rule.match === 'all' && rule.continue !== true;
}

// ---------------------------------------------------------------------------
// Mailets → actions

type ActionResult = { action: Action; continues: boolean; notes: string[]; repository?: string } | { reason: string };

interface MailetTranslator {
  /** The parameters it carries over; any other is listed as not carried over. */
  uses: readonly string[];
  translate(parameters: ReadonlyMap<string, string>, ctx: Context): ActionResult;
}

const LOCAL_DELIVERY_NOTE = (ctx: Context): string =>
  `James delivers to each recipient's own mailbox; pinchmail delivers to this one Maildir ("${ctx.maildir}"; localMaildir sets it)`;

/** The mailets that carry over, by simple name. */
const TRANSLATORS = new Map<string, MailetTranslator>([
  ['Null', { uses: [], translate: () => ends({ drop: true }) }],
  ['ToProcessor', { uses: ['processor'], translate: toProcessor }],
  ['ToRepository', { uses: ['repositoryPath', 'passThrough'], translate: toRepository }],
  ['LocalDelivery', { uses: [], translate: (_, ctx) => ends({ deliver: { maildir: ctx.maildir } }, [LOCAL_DELIVERY_NOTE(ctx)]) }],
  // ToMultiRepository always ghosts the mail once stored (James 2.3's source).
  ['ToMultiRepository', { uses: ['repositoryUrl'], translate: (_, ctx) => ends({ deliver: { maildir: ctx.maildir } }, [LOCAL_DELIVERY_NOTE(ctx)]) }],
  ['ToRecipientFolder', { uses: ['folder', 'consume'], translate: toRecipientFolder }],
]);

function ends(action: Action, notes: string[] = []): ActionResult {
  return { action, continues: false, notes };
}

function toProcessor(parameters: ReadonlyMap<string, string>): ActionResult {
  const target = parameters.get('processor');
  if (!target) return { reason: 'ToProcessor without <processor>: James would not start' };
  // "ghost" is James's state for "no further processing".
  return ends(target === GHOST ? { drop: true } : { processor: target });
}

function toRepository(parameters: ReadonlyMap<string, string>): ActionResult {
  const path = parameters.get('repositoryPath');
  if (!path) return { reason: 'ToRepository without <repositoryPath>: James would not start' };
  const maildir = fileRepository(path);
  if ('reason' in maildir) return maildir;
  return { action: { deliver: { maildir: maildir.path } }, continues: isTrue(parameters.get('passThrough')), notes: [], repository: maildir.path };
}

/** A file:// repository's path, as James wrote it (relative stays relative), without the trailing slash. */
function fileRepository(url: string): { path: string } | { reason: string } {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'db' || scheme === 'dbfile') return { reason: `${url} is a database repository: pinchmail delivers to a Maildir or a command` };
  if (scheme !== 'file') return { reason: `${url} is not a file:// repository: pinchmail delivers to a Maildir or a command` };
  const path = url.slice('file://'.length).replace(/(.)\/+$/, '$1');
  return path === '' ? { reason: `${url} names no directory` } : { path };
}

/** ToRecipientFolder passes the mail on unless consume is true (James 3's source). */
function toRecipientFolder(parameters: ReadonlyMap<string, string>, ctx: Context): ActionResult {
  const folder = parameters.get('folder');
  const note = `${LOCAL_DELIVERY_NOTE(ctx)}${folder ? ` (James delivered into the folder "${folder}" of each)` : ''}`;
  return { action: { deliver: { maildir: ctx.maildir } }, continues: !isTrue(parameters.get('consume')), notes: [note] };
}

function isTrue(value: string | undefined): boolean {
  return value?.toLowerCase() === 'true';
}

/** Why a parameter of a translated mailet does not carry over. */
const PARAMETER_REASONS = new Map<string, string>([
  ['notice', 'James keeps it with the mail for a bounce; pinchmail sends none'],
  ['onMailetException', 'pinchmail retries a failed delivery, then sends it where onFailure says'],
  ['onMatchException', 'pinchmail retries a failed delivery, then sends it where onFailure says'],
  ['repositoryUrl', 'pinchmail delivers to the one Maildir localMaildir names'],
]);

/** The standard mailets that do not carry over, by simple name, with why. */
const NOT_TRANSLATED = new Map<string, string>();
function notTranslated(reason: string, ...names: string[]): void {
  for (const name of names) NOT_TRANSLATED.set(name, reason);
}
notTranslated('pinchmail does not relay mail; it delivers what it fetches', 'RemoteDelivery');
notTranslated('pinchmail never sends mail back', 'Bounce', 'DSNBounce', 'NotifySender', 'NotifyPostmaster', 'VacationMailet', 'Vacation');
notTranslated('pinchmail does not send mail on; a "command" target (sendmail -i ADDRESS) can', 'Forward', 'Redirect', 'Resend');
notTranslated(
  'pinchmail does not rewrite recipients: each rule names where its messages go',
  'PostmasterAlias', 'UsersRepositoryAliasingForwarding', 'JDBCAlias', 'JDBCVirtualUserTable', 'XMLVirtualUserTable', 'VirtualUserTable',
  'RecipientRewriteTable', 'XMLRecipientRewriteTable', 'RecipientToLowerCase', 'UseHeaderRecipients',
);
notTranslated(
  'pinchmail delivers the message as fetched, unchanged; a "command" target can change it',
  'AddFooter', 'AddHeader', 'AddSubjectPrefix', 'AddHabeasWarrantMark', 'AddDeliveredToHeader', 'RemoveMimeHeader', 'RemoveMimeHeaderByPrefix',
  'SetMimeHeader', 'MailAttributesToMimeHeaders', 'OnlyText', 'ReplaceContent', 'ContentReplacer', 'StripAttachment', 'RecoverAttachment',
  'UnwrapText', 'WrapText', 'MimeDecodingMailet', 'TextCalendarBodyToAttachment',
);
notTranslated('mail attributes live inside James; pinchmail has none to set', 'SetMailAttribute', 'RemoveMailAttribute', 'RemoveAllMailAttributes', 'ICalendarParser', 'ICALToHeader', 'ICALToJsonAttribute', 'ContactExtractor');
notTranslated(
  'pinchmail scans nothing itself: let the MTA that receives the mail do it and match its header with "hasHeader", or pipe the message through a "command" target',
  'SpamAssassin', 'ClamAVScan', 'BayesianAnalysis', 'BayesianAnalysisFeeder', 'SPF', 'DLP', 'WhiteListManager',
);
notTranslated('pinchmail logs each delivery itself', 'LogMessage', 'MetricsMailet');
notTranslated('pinchmail runs no Sieve script; a "command" target can hand the message to an MDA that does (dovecot-lda)', 'Sieve', 'SieveMailet', 'ManageSieveMailet');
notTranslated(
  'pinchmail runs no mailing list',
  'AvalonListserv', 'AvalonListservManager', 'GenericListserv', 'GenericListservManager', 'XMLListserv', 'CommandListservManager', 'CommandListservProcessor',
);
notTranslated('pinchmail does not sign, check or decrypt messages', 'SMIMESign', 'SMIMECheckSignature', 'SMIMEDecrypt', 'Sign');
notTranslated('pinchmail does not read James\'s repositories', 'FromRepository');
notTranslated('pinchmail stores nothing for the sender', 'ToSenderFolder');
notTranslated('it does nothing', 'Identity');
notTranslated('pinchmail posts nothing to a web service', 'HeadersToHTTP', 'SerialiseToHTTP', 'AmqpForwardAttribute');
notTranslated('pinchmail keeps no message expiry', 'Expires');

/** Packages whose mailets are James's own: one of them that this file does not know is not the user's. */
const JAMES_PACKAGES = ['org.apache.james.', 'org.apache.mailet.'];

function translateAction(className: string, parameters: ReadonlyMap<string, string>, ctx: Context): ActionResult {
  const name = simpleName(className);
  const translator = TRANSLATORS.get(name);
  if (translator) {
    const result = translator.translate(parameters, ctx);
    if ('reason' in result) return result;
    return { ...result, notes: [...result.notes, ...unusedParameters(parameters, translator.uses)] };
  }
  const reason = NOT_TRANSLATED.get(name);
  if (reason !== undefined) return { reason };
  if (JAMES_PACKAGES.some((p) => className.startsWith(p))) return { reason: 'a James mailet pinchmail does not know' };
  return customMailet(name, parameters);
}

function unusedParameters(parameters: ReadonlyMap<string, string>, uses: readonly string[]): string[] {
  return [...parameters.keys()]
    .filter((p) => !uses.includes(p))
    .map((p) => `<${p}> not carried over: ${PARAMETER_REASONS.get(p) ?? 'pinchmail has no equivalent'}`);
}

/**
 * The user's own mailet: a command stands in for it, for the user to fill in. James passes
 * the mail on after a mailet that leaves its state alone, hence "continue".
 */
function customMailet(name: string, parameters: ReadonlyMap<string, string>): ActionResult {
  const given = [...parameters].map(([key, value]) => `${key}=${value}`).join(', ');
  const note =
    'a custom mailet: fill in the command that does its job; James passes the mail on unless the mailet ends it (remove continue if it sets the state to ghost)' +
    (given ? `; its parameters: ${given}` : '');
  return { action: { deliver: { command: [`/usr/local/bin/${name}`] } }, continues: true, notes: [note] };
}

// ---------------------------------------------------------------------------
// Matchers

type MatcherResult = { matcher: Matcher; notes: string[] } | { reason: string };
type MatcherTranslator = (condition: string, ctx: Context) => MatcherResult;

const found = (matcher: Matcher, notes: string[] = []): MatcherResult => ({ matcher, notes });

/** `match="Name=condition"` (Name may be fully qualified), or a composite matcher's name. */
function translateMatch(match: string, ctx: Context): MatcherResult {
  const composite = ctx.composites.get(match);
  if (composite) return translateComposite(composite, ctx);
  const eq = match.indexOf('=');
  const className = (eq === -1 ? match : match.slice(0, eq)).trim();
  const condition = eq === -1 ? '' : match.slice(eq + 1);
  const name = simpleName(className);
  const translator = MATCHERS.get(name);
  if (translator) return translator(condition, ctx);
  const reason = MATCHERS_NOT_TRANSLATED.get(name);
  if (reason !== undefined) return { reason };
  return { reason: 'not a matcher pinchmail knows (one of your own?): write its test with pinchmail\'s matchers by hand' };
}

/** James 3's And, Or and Not, whose <matcher match="..."> children are the conditions. */
function translateComposite(composite: XmlElement, ctx: Context): MatcherResult {
  const kind = simpleName(attribute(composite, 'match') ?? '');
  const parts: Matcher[] = [];
  const notes: string[] = [];
  for (const child of childrenNamed(composite, 'matcher')) {
    const result = translateMatch(attribute(child, 'match') ?? 'All', { ...ctx, composites: new Map() });
    if ('reason' in result) return { reason: `${attribute(child, 'match')}: ${result.reason}` };
    parts.push(result.matcher);
    notes.push(...result.notes);
  }
  if (parts.length === 0) return { reason: 'a composite matcher without <matcher> children' };
  const any: Matcher = parts.length === 1 ? parts[0]! : { or: parts };
  switch (kind) {
    case 'And':
      // James's And takes the recipients every condition matches; pinchmail's "and" would let two different recipients satisfy two of them.
      if (parts.filter(isRecipientMatcher).length > 1) return { reason: 'an And of several recipient conditions: James matches them per recipient, pinchmail per message; write the addresses as one recipientIs by hand' };
      return found(parts.length === 1 ? parts[0]! : { and: parts }, notes);
    case 'Or':
      return found(any, notes);
    case 'Not':
      // James's Not matches where none of its conditions does.
      return found({ not: any }, notes);
    default:
      return { reason: `a composite matcher "${kind}": pinchmail combines matchers with and, or and not only` };
  }
}

const LOCAL_PART = /^[^\s@<>,;:"]+$/;
const ADDRESS = /^[^\s@<>,;:"]+@[^\s@<>,;:"]+$/;
const DOMAIN = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const HEADER_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

/**
 * A list condition, as James reads it (a StringTokenizer on ", ": commas and spaces
 * both separate), each item checked against `pattern`.
 */
function list(condition: string, pattern: RegExp, kind: string): string[] | { reason: string } {
  const items = condition.split(/[,\s]+/).filter((item) => item !== '');
  if (items.length === 0) return { reason: `expected a list of ${kind}s` };
  const bad = items.find((item) => !pattern.test(item));
  return bad === undefined ? items : { reason: `"${bad}" is not ${article(kind)} ${kind}` };
}

function article(word: string): string {
  return /^[aeiou]/i.test(word) ? 'an' : 'a';
}

function listMatcher(key: 'userIs' | 'recipientIs' | 'senderIs' | 'hostIs', pattern: RegExp, kind: string): MatcherTranslator {
  return (condition) => {
    const items = list(condition, pattern, kind);
    return Array.isArray(items) ? found({ [key]: items } as Matcher) : items;
  };
}

function textMatcher(key: 'subjectIs' | 'subjectStartsWith'): MatcherTranslator {
  return (condition) => (condition === '' ? { reason: 'expected a text after "="' } : found({ [key]: condition } as Matcher));
}

function relayLimit(condition: string): MatcherResult {
  const text = condition.trim();
  if (!/^[0-9]+$/.test(text) || Number(text) < 1) return { reason: `expected a number of Received headers, got "${condition}"` };
  return found({ relayLimit: Number(text) });
}

/** HasHeader=Name, HasHeader=Name=value; James's "+" joins several conditions, all of which must hold. */
function hasHeader(condition: string): MatcherResult {
  const parts: Matcher[] = [];
  for (const part of condition.split('+')) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim();
    if (!HEADER_NAME.test(name)) return { reason: `expected a header field name, got "${part}"` };
    parts.push(eq === -1 ? { hasHeader: name } : { hasHeader: name, value: part.slice(eq + 1).trim() });
  }
  return found(parts.length === 1 ? parts[0]! : { and: parts });
}

/** SizeGreaterThan=2000 (bytes), 500k, 1m, 1g: binary units, case-blind. */
function sizeGreaterThan(condition: string): MatcherResult {
  const m = /^\s*([0-9]+)\s*([kmg]?)\s*$/i.exec(condition);
  if (!m) return { reason: `expected a size like 1m, 500k or 2000 (bytes), got "${condition}"` };
  return found({ sizeOver: `${Number(m[1])}${m[2]!.toUpperCase()}` });
}

function inSpammerBlacklist(condition: string): MatcherResult {
  const zone = condition.trim().replace(/\.$/, '');
  if (!DOMAIN.test(zone)) return { reason: `expected a DNSBL zone like "sbl.spamhaus.org.", got "${condition}"` };
  return found({ inSpammerBlacklist: zone });
}

function domainsOrReason(ctx: Context): { list: string[]; notes: string[] } | { reason: string } {
  if ('missing' in ctx.domains) return { reason: ctx.domains.missing };
  const bad = ctx.domains.list.find((d) => !DOMAIN.test(d));
  if (bad !== undefined) return { reason: `local domain "${bad}" is not a domain: give localDomains` };
  const notes = ctx.domains.autodetected ? ['James also took this host\'s own names as local (servernames autodetect="true"): add them with localDomains'] : [];
  return { list: ctx.domains.list, notes };
}

function hostIsLocal(_condition: string, ctx: Context): MatcherResult {
  const domains = domainsOrReason(ctx);
  return 'reason' in domains ? domains : found({ hostIs: domains.list }, domains.notes);
}

function recipientIsLocal(_condition: string, ctx: Context): MatcherResult {
  if (ctx.users === null || ctx.users.length === 0) {
    return { reason: 'James keeps its users in its users repository, not in this file: give localUsers (the user names, the part before "@")' };
  }
  const bad = ctx.users.find((u) => !LOCAL_PART.test(u));
  if (bad !== undefined) return { reason: `local user "${bad}" is not a user name (the part before "@")` };
  const domains = domainsOrReason(ctx);
  if ('reason' in domains) return domains;
  // Each user at each local domain: alice@gmail.com with a Cc to someone at a local domain is not a local alice.
  const addresses = ctx.users.flatMap((user) => domains.list.map((domain) => `${user}@${domain}`.toLowerCase()));
  return found({ recipientIs: addresses }, domains.notes);
}

/** The matchers that carry over, by simple name. */
const MATCHERS = new Map<string, MatcherTranslator>([
  ['All', () => found('all')],
  ['RelayLimit', relayLimit],
  ['UserIs', listMatcher('userIs', LOCAL_PART, 'user name')],
  ['RecipientIs', listMatcher('recipientIs', ADDRESS, 'address')],
  ['SenderIs', listMatcher('senderIs', ADDRESS, 'address')],
  ['HostIs', listMatcher('hostIs', DOMAIN, 'domain')],
  ['SubjectIs', textMatcher('subjectIs')],
  ['SubjectStartsWith', textMatcher('subjectStartsWith')],
  ['HasHeader', hasHeader],
  ['SizeGreaterThan', sizeGreaterThan],
  ['InSpammerBlacklist', inSpammerBlacklist],
  ['HostIsLocal', hostIsLocal],
  ['RecipientIsLocal', recipientIsLocal],
]);

/** James's matchers that do not carry over, by simple name, with why. */
const MATCHERS_NOT_TRANSLATED = new Map<string, string>();
function matcherNotTranslated(reason: string, ...names: string[]): void {
  for (const name of names) MATCHERS_NOT_TRANSLATED.set(name, reason);
}
matcherNotTranslated(
  'a fetcher does not see the SMTP session that brought the mail (client address, authentication)',
  'SMTPAuthSuccessful', 'SMTPAuthUserIs', 'SMTPIsAuthNetwork', 'RemoteAddrInNetwork', 'RemoteAddrNotInNetwork', 'NESSpamCheck',
);
matcherNotTranslated(
  'mail attributes live inside James; a fetched message has none',
  'HasMailAttribute', 'HasMailAttributeWithValue', 'HasMailAttributeWithValueRegex', 'SentByMailet', 'IsMarkedAsSpam', 'HasException',
);
matcherNotTranslated(
  'a fetcher does not see James\'s envelope (its sender and recipient list), only the message',
  'IsSingleRecipient', 'SenderIsNull', 'SenderInFakeDomain', 'VirtualUserTable', 'IsInWhiteList',
);
matcherNotTranslated('Java regular expressions on the envelope: pinchmail\'s "to" and "from" take an RE2 one on the headers; write it by hand', 'RecipientIsRegex', 'SenderIsRegex');
matcherNotTranslated('pinchmail\'s senderIs takes whole addresses; a "from" matcher with a regular expression can test the domain', 'SenderHostIs');
matcherNotTranslated('pinchmail keeps no quota', 'RecipientIsOverFixedQuota', 'IsOverQuota');
matcherNotTranslated(
  'pinchmail has no matcher like it; a "header" matcher with a regular expression may do',
  'AttachmentFileNameIs', 'CommandForListserv', 'CommandListservMatcher', 'CompareNumericHeaderValue', 'FetchedFrom', 'HasAttachment',
  'HasHabeasWarrantMark', 'IsSMIMEEncrypted', 'IsSMIMESigned', 'IsX509CertificateSubject', 'HasPriority', 'AtLeastPriority', 'AtMostPriority',
  'HasMimeType', 'HasMimeTypeParameter', 'HasHeaderWithPrefix', 'HeaderRegex',
);

// ---------------------------------------------------------------------------
// Checks on the whole translation

function checkTranslation(placed: ReadonlyMap<string, PlacedRule[]>, onFailure: JamesTranslation['onFailure'], notes: JamesNote[]): void {
  const kept = (where: string, what: string): void => {
    notes.push({ where, what, translated: true });
  };
  for (const { where, target } of references(placed)) {
    if (!placed.has(target)) {
      kept(where, `moves messages to processor "${target}", which the file does not have: pinchmail refuses that; add the processor or change the rule`);
    }
  }
  const reached = reachable(placed, onFailure);
  for (const [name, rules] of placed) {
    const where = `processor "${name}"`;
    if (!PROCESSOR_NAME.test(name) || name === GHOST) kept(where, 'pinchmail takes processor names of letters, digits, ".", "_" and "-" (not "ghost"): rename it and the rules that name it');
    if (rules.length === 0) kept(where, 'no rule of it could be translated; pinchmail needs at least one: write its rules by hand');
    if (!reached.has(name)) {
      notes.push({ where, what: 'never reached from root: no translated rule moves a message here (write the rule that leads here, and the processor)', translated: false });
      continue;
    }
    const last = rules.at(-1);
    if (last && !takesEverything(last.rule)) kept(where, `messages that reach the end of "${name}" go to the account's deliver, which the account must then have`);
  }
  const loop = findLoop(branchesOf(placed));
  if (loop) kept(`processor "${loop[0]}"`, `a loop: ${loop.join(' -> ')}; James lets a mail go round, pinchmail refuses it: change one of these rules`);
  if (onFailure) {
    kept(
      `processor "${onFailure.processor}"`,
      `James sends a mail to "${onFailure.processor}" as soon as a mailet fails; pinchmail retries a failed delivery and sends the message there after ${onFailure.after} failed runs (pinchmail's choice: "onFailure.after" sets it)`,
    );
  }
  const relative = [...placed.values()].flat().flatMap((r) => (r.repository !== undefined && !r.repository.startsWith('/') ? [r.repository] : []));
  if (relative.length > 0) {
    kept(
      'repositories',
      `${relative.join(', ')}: relative paths, kept as James wrote them; James read them from its own directory, pinchmail reads them from its config file's directory`,
    );
  }
}

function references(placed: ReadonlyMap<string, PlacedRule[]>): { where: string; target: string }[] {
  return [...placed.values()].flat().flatMap(({ rule, where }) => ('processor' in rule ? [{ where, target: rule.processor }] : []));
}

/** The processors a message can reach: from root, and the one onFailure names. */
function reachable(placed: ReadonlyMap<string, PlacedRule[]>, onFailure: JamesTranslation['onFailure']): Set<string> {
  return reachableFrom(branchesOf(placed), [ROOT, ...(onFailure ? [onFailure.processor] : [])]);
}

function branchesOf(placed: ReadonlyMap<string, PlacedRule[]>): Graph {
  return new Map([...placed].map(([name, rules]) => [name, rules.flatMap(({ rule }) => ('processor' in rule ? [rule.processor] : []))]));
}

/**
 * James 2.3's config.xml pulls other files in through DOCTYPE entities (&listserverConfig;):
 * a reference inside a processor stands for mailets this translation did not read.
 */
function noteIncludedFiles(processors: ReadonlyMap<string, XmlElement>, entities: ReadonlyMap<string, string>, notes: JamesNote[]): void {
  for (const [name, element] of processors) {
    for (const [, entity] of element.text.matchAll(/&([^\s;&]+);/g)) {
      const source = entities.get(entity!);
      notes.push({
        where: `processor "${name}"`,
        what: `&${entity}; includes ${source ? `the mailets of ${source}` : 'mailets from another file'}, which were not read: translate them by hand`,
        translated: false,
      });
    }
  }
}
