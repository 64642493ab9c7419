/**
 * getmail6's destinations (destinations.py) as pinchmail targets: Maildir, Mboxrd,
 * MDA_external and MDA_lmtp one each, MultiDestination all of its own in turn. The
 * others (MultiSorter, MultiGuesser, MDA_qmaillocal) have no equivalent.
 */
import { block, boolParameter, expandUserVars, intParameter, note, pathValue, pythonTuple, refused, take, type Context, type IniEntry, type IniSection } from './getmail-ini.js';

/** What the destination comes to: pinchmail targets (several for MultiDestination), and whether getmail added its headers on the way. */
export interface Delivery {
  targets: Record<string, unknown>[];
  addsHeaders: boolean;
}

export function translateDestination(ctx: Context, multidrop: boolean): Delivery | null {
  const section = ctx.ini.sections.get('destination');
  if (!section) {
    block(ctx, 'it has no [destination]');
    return null;
  }
  const reasons = ctx.blockers.size;
  const delivery = destinationOf(ctx, section, multidrop, 0);
  // Said in general only where no more precise reason was.
  if (!delivery && ctx.blockers.size === reasons) block(ctx, 'it has no delivery pinchmail can do');
  return delivery;
}

/** The most a MultiDestination may come to, sections it names within sections counted in: each is one rule of the route. */
export const MAX_TARGETS = 100;

/** What one rc file's destinations have come to so far: each section read once at each depth, its entries marked read once. */
interface Destinations {
  made: Map<IniSection, Map<number, Delivery | null>>;
  /** Sections whose entries are marked read, and those whose values were searched for the "[name]"s they name. */
  marked: Set<IniSection>;
  searched: Set<IniSection>;
}
const destinations = new WeakMap<Context, Destinations>();

/**
 * One destination section (the [destination], or one a MultiDestination names as "[name]").
 * A section named again at the same depth is what it was (its lines said once): sections
 * naming each other over and over would otherwise be read as often as the paths through them.
 */
function destinationOf(ctx: Context, section: IniSection, multidrop: boolean, depth: number): Delivery | null {
  let state = destinations.get(ctx);
  if (!state) destinations.set(ctx, (state = { made: new Map(), marked: new Set(), searched: new Set() }));
  let byDepth = state.made.get(section);
  if (!byDepth) state.made.set(section, (byDepth = new Map()));
  if (byDepth.has(depth)) return byDepth.get(depth)!;
  const delivery = readDestination(ctx, section, multidrop, depth, state);
  byDepth.set(depth, delivery);
  return delivery;
}

/**
 * The names of "[name]" in a value, left to right as the regex /\[([^\]]+)\]/g finds them
 * (a name may hold "[": the first "]" ends it). One pass: the next "]" is looked for again
 * only once passed, where the regex looked for it from every "[".
 */
export function bracketedNames(value: string): string[] {
  const names: string[] = [];
  let close = -2;
  for (let at = value.indexOf('['); at >= 0; at = value.indexOf('[', at)) {
    if (close !== -1 && close <= at) close = value.indexOf(']', at + 1);
    if (close === -1) break;
    if (close === at + 1) {
      at++;
      continue;
    }
    names.push(value.slice(at + 1, close));
    at = close + 1;
  }
  return names;
}

function readDestination(ctx: Context, section: IniSection, multidrop: boolean, depth: number, state: Destinations): Delivery | null {
  const type = take(ctx, section, 'type');
  const get = (key: string): IniEntry | undefined => take(ctx, section, key);
  /** A destination pinchmail has no equivalent for: one line says so for it, and for the sections it names. */
  const unsupported = (why: string): null => {
    const mark = (s: IniSection): void => {
      if (state.marked.has(s)) return;
      state.marked.add(s);
      for (const e of s.entries.values()) ctx.read.add(e);
    };
    if (!state.searched.has(section)) {
      state.searched.add(section);
      mark(section);
      for (const e of section.entries.values()) {
        for (const name of bracketedNames(e.value)) {
          const named = ctx.ini.sections.get(name);
          if (named) mark(named);
        }
      }
    }
    note(ctx, type ?? section, why);
    return null;
  };
  if (!type) return unsupported(`[${section.name}] has no "type"`);
  const user = ['Maildir', 'Mboxrd', 'MDA_external'].includes(type.value) ? get('user') : undefined;
  if (user) note(ctx, user, 'pinchmail delivers as the user it runs as');
  switch (type.value) {
    case 'Maildir': {
      const dir = requiredPath(ctx, section, type, 'path');
      const mode = get('filemode');
      // pinchmail writes messages 0600, getmail's default.
      if (mode && parseInt(mode.value.replace(/^0o/, ''), 8) !== 0o600) note(ctx, mode, 'pinchmail writes each message mode 0600');
      return dir ? { targets: [{ maildir: dir }], addsHeaders: true } : null;
    }
    case 'Mboxrd': {
      const file = requiredPath(ctx, section, type, 'path');
      const lock = get('locktype');
      // lockf is an fcntl lock, which pinchmail takes (with a dotlock).
      if (lock?.value === 'flock') note(ctx, lock, 'pinchmail locks an mbox with a dotlock and an fcntl lock (getmail\'s "lockf"), never flock');
      else if (lock && lock.value !== 'lockf') refused(ctx, lock, `no mbox lock type "${lock.value}" (lockf or flock)`);
      return file ? { targets: [{ mbox: file }], addsHeaders: true } : null;
    }
    case 'MDA_external':
      return externalCommand(ctx, section, type, multidrop);
    case 'MDA_lmtp':
      return lmtpServer(ctx, section, type, multidrop);
    case 'MultiDestination':
      return depth < 8 ? everyDestination(ctx, section, type, multidrop, depth) : unsupported('destinations nested this deep: getmail would loop');
    case 'MultiSorter':
    case 'MultiGuesser':
      return unsupported(`${type.value} sorts by recipient with Python regular expressions; pinchmail's "route" (a "header", "to" or "from" matcher per rule) is to be written by hand`);
    case 'MDA_qmaillocal':
      return unsupported('pinchmail does not run qmail-local; a "command" target can run it with the arguments getmail gave it');
    default:
      unsupported(`getmail has no destination "${type.value}"`);
      block(ctx, `getmail itself refuses this file (line ${type.line}: it has no destination "${type.value}")`);
      return null;
  }
}

function requiredPath(ctx: Context, section: IniSection, type: IniEntry, key: string): string | null {
  const entry = take(ctx, section, key);
  if (!entry) refused(ctx, type, `${type.value} needs "${key}"`);
  return entry ? pathValue(ctx, entry, entry.value) : null;
}

/**
 * MDA_external runs `path` with `arguments` (no shell), each expanded as a path and with
 * %(sender), %(recipient), %(local), %(domain) and %(mailbox) replaced: the last is empty
 * for POP3; the recipient ones are there only for multidrop, else passed as written.
 */
function externalCommand(ctx: Context, section: IniSection, type: IniEntry, multidrop: boolean): Delivery | null {
  const program = requiredPath(ctx, section, type, 'path');
  const args = take(ctx, section, 'arguments');
  const values = args ? pythonTuple(args.value) : [];
  if (values === null) refused(ctx, args!, 'not a Python tuple of strings');
  const argv = (values ?? []).map((a) => expandUserVars(a, ctx.home)?.replaceAll('%(mailbox)', ''));
  const recipient = multidrop && argv.some((a) => a !== undefined && /%\((recipient|local|domain)\)/.test(a));
  const problem = argv.some((a) => a === undefined)
    ? 'getmail expands an argument from its environment (a variable other than $HOME, or ~user): write what it stands for'
    : argv.some((a) => a!.includes('%(sender)')) || recipient
      ? `pinchmail puts no envelope address into a command line; a command can read the sender from the Return-Path header${recipient ? ', the recipient from the header envelope_recipient names' : ''}`
      : null;
  if (problem) note(ctx, args!, problem);
  const group = take(ctx, section, 'group');
  if (group) note(ctx, group, 'pinchmail runs the command in its own group');
  // Flags noted when set: unset, they ask for what pinchmail does.
  const flags: Record<string, string> = {
    unixfrom: 'pinchmail gives the command the message without a From_ line',
    allow_root_commands: 'pinchmail has no such check: it runs the command as the user it runs as',
    pipe_stdout: 'pinchmail discards what the command prints on stdout',
    // pinchmail, like getmail with ignore_stderr, goes by the exit status alone.
    ignore_stderr: '',
  };
  for (const [key, why] of Object.entries(flags)) {
    const entry = take(ctx, section, key);
    if (boolParameter(ctx, entry) && why) note(ctx, entry!, why);
  }
  if (!program || values === null || problem) return null;
  return { targets: [{ command: [program, ...(argv as string[])] }], addsHeaders: true };
}

/** MDA_lmtp: host (a socket when it starts with /) and port (default 2003), to `override`, else each message's envelope recipient. */
function lmtpServer(ctx: Context, section: IniSection, type: IniEntry, multidrop: boolean): Delivery | null {
  const host = take(ctx, section, 'host');
  const port = intParameter(ctx, take(ctx, section, 'port'), 1, 65_535) ?? 2003;
  const to = take(ctx, section, 'override');
  const fallback = take(ctx, section, 'fallback');
  if (fallback) note(ctx, fallback, 'pinchmail delivers to one recipient; a refused message stays on the server and is tried again');
  if (!host) return (refused(ctx, type, 'MDA_lmtp needs "host"'), null);
  if (!to) {
    note(ctx, type, `pinchmail's LMTP target delivers to one recipient ("to"); getmail gave ${multidrop ? "each message's envelope recipient" : 'the To, Cc and Bcc of each message'}`);
    return null;
  }
  const server = host.value.startsWith('/') ? `unix:${host.value}` : `${host.value.includes(':') ? `[${host.value}]` : host.value}:${port}`;
  // getmail hands LMTP the message as retrieved, without the headers its other destinations add.
  return { targets: [{ lmtp: server, to: to.value }], addsHeaders: false };
}

/** MultiDestination: each of `destinations` in turn, "[section]", a Maildir (ending in /) or an mbox. */
function everyDestination(ctx: Context, section: IniSection, type: IniEntry, multidrop: boolean, depth: number): Delivery | null {
  const list = take(ctx, section, 'destinations');
  const items = list ? pythonTuple(list.value) : null;
  if (!list || !items?.length) return (refused(ctx, list ?? type, 'MultiDestination needs "destinations", a tuple of strings'), null);
  const parts = items.map((item): Delivery | null => {
    const named = /^\[(.*)\]$/.exec(item);
    if (named) {
      const other = ctx.ini.sections.get(named[1]!);
      return other ? destinationOf(ctx, other, multidrop, depth + 1) : (refused(ctx, list, `no section [${named[1]}]`), null);
    }
    const where = pathValue(ctx, list, item);
    if (where === null) return null;
    return { targets: [where.endsWith('/') ? { maildir: where } : { mbox: where }], addsHeaders: true };
  });
  if (parts.some((p) => p === null)) return null;
  const count = parts.reduce((n, p) => n + p!.targets.length, 0);
  if (count > MAX_TARGETS) {
    note(ctx, list, `this comes to ${count} deliveries of each message, counting those of the sections it names; pinchmail takes at most ${MAX_TARGETS} in one account`);
    block(ctx, `its MultiDestination comes to more than ${MAX_TARGETS} deliveries`);
    return null;
  }
  return { targets: parts.flatMap((p) => p!.targets.map((t) => ({ ...t }))), addsHeaders: parts.some((p) => p!.addsHeaders) };
}

/**
 * The targets as `deliver`, or as a route: max_message_size leaves a larger message on the
 * server unread (getmail: size > N), and a MultiDestination delivers to each in turn.
 */
export function placeDelivery(account: Record<string, unknown>, targets: Record<string, unknown>[], maxSize: number): void {
  const rules: Record<string, unknown>[] = maxSize > 0 ? [{ match: { sizeOver: String(maxSize) }, skip: true }] : [];
  targets.slice(0, -1).forEach((deliver) => rules.push({ match: 'all', deliver, continue: true }));
  if (rules.length === 0) account.deliver = targets[0];
  else account.route = [...rules, { match: 'all', deliver: targets.at(-1) }];
}
