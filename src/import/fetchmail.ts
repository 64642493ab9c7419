/**
 * fetchmail's files: ~/.fetchmailrc (accounts) and ~/.fetchids (UIDLs), read as fetchmail
 * 6.4 reads them (rcfile_l.l, rcfile_y.y, fetchmail.c's load_params and optmerge, uid.c).
 * The rc file is free-form tokens, newlines meaning nothing: `set` statements, then entries
 * `poll|skip HOST server-options user-descriptions-and-options`, a first `defaults` entry
 * filling in what later entries leave unset. Each user of an entry is one pinchmail account.
 */
import path from 'node:path';
import { own, type ImportedAccount, type Untranslated } from './model.js';
import { lex } from './fetchmail-lexer.js';
import { type Entry, type Opt, parseRc } from './fetchmail-grammar.js';
import { type Context, prependDir, Settings } from './fetchmail-settings.js';
import { translate } from './fetchmail-translate.js';

export { parseFetchids } from './fetchmail-ids.js';

/**
 * Every user of every poll and skip entry of `text` (an rc file at `file`), translated;
 * what does not translate is in `untranslated`, in the file's order. `localUser` is who
 * runs fetchmail (its FETCHMAILUSER, USER, LOGNAME or login name): the login and the local
 * recipient of a user that names none. `idfile` is the UIDLs file a `set idfile` names.
 */
export function parseFetchmailrc(
  text: string,
  file: string,
  home: string,
  localUser?: string,
): { accounts: ImportedAccount[]; untranslated: Untranslated[]; syntaxErrors: Untranslated[]; idfile?: string } {
  const untranslated: Untranslated[] = [];
  const rc = parseRc(lex(text), text);
  // fetchmail refuses the whole file at the first: so does the import (an entry left out could have been the defaults that say "keep").
  const syntaxErrors = rc.errors.map(({ token, why }) => ({ file, line: token?.line ?? text.split('\n').length, text: token?.raw ?? '', why: `${why}: a syntax error, at which fetchmail refuses the whole file` }));
  const rcDir = path.dirname(expandTilde(file, home));
  const ctx: Context = { file, rcDir, localUser, invisible: rc.sets.some((s) => s.key === 'invisible' && s.value === true), untranslated };
  const idfile = globals(rc.sets, ctx);
  const entries = usableEntries(rc.entries, ctx);
  const defaults = rc.entries[0]?.verb === 'defaults' ? rc.entries[0] : undefined;
  const defaultLayers = defaults ? [defaults.users[0]?.options ?? [], defaults.server] : [];
  const accounts = entries.flatMap((entry) =>
    (entry.users.length ? entry.users : [{ line: entry.line, text: entry.text, options: [] }]).map((user) =>
      translate(entry, user, new Settings([user.options, entry.server, ...defaultLayers]), entry.users.length > 1, ctx),
    ),
  );
  return { accounts, untranslated: untranslated.sort((a, b) => a.line - b.line), syntaxErrors, ...(idfile === undefined ? {} : { idfile }) };
}

/** The poll and skip entries; a defaults entry anywhere but first is one fetchmail refuses. */
function usableEntries(entries: Entry[], ctx: Context): Entry[] {
  for (const [i, e] of entries.entries()) {
    if (e.verb === 'defaults' && i > 0) ctx.untranslated.push({ file: ctx.file, line: e.line, text: e.text, why: 'fetchmail refuses a "defaults" entry that is not the first; its options are not applied' });
  }
  return entries.filter((e) => e.verb !== 'defaults');
}

/** `set` statements: the idfile they name, and a line for each of the others. */
function globals(sets: Opt[], ctx: Context): string | undefined {
  let idfile: string | undefined;
  for (const s of sets) {
    if (s.key === 'idfile') idfile = prependDir(String(s.value), ctx.rcDir);
    const why = own(GLOBAL_WHY, s.key)?.(s);
    if (why) ctx.untranslated.push({ file: ctx.file, line: s.line, text: s.text, why });
  }
  return idfile;
}

const GLOBAL_WHY: Record<string, (s: Opt) => string | null> = {
  daemon: (s) => `pinchmail daemon polls each account every "every" (default 5m); fetchmail's interval is "every": "${s.value}s"`,
  logfile: () => 'pinchmail logs to stderr (the journal, under systemd)',
  syslog: (s) => (s.value ? 'pinchmail logs to stderr (the journal, under systemd)' : null),
  pidfile: () => 'pinchmail locks each account itself and writes no PID file',
  postmaster: () => 'pinchmail sends no mail of its own (bounces, warnings)',
  bouncemail: () => 'pinchmail sends no bounces; "onFailure" takes a message a target keeps refusing',
  spambounce: (s) => (s.value ? 'pinchmail sends no bounces; "onFailure" takes a message a target keeps refusing' : null),
  softbounce: () => '"onFailure" decides what becomes of a message a target keeps refusing',
  showdots: (s) => (s.value ? 'pinchmail shows its own progress on a terminal' : null),
  properties: () => 'fetchmail itself ignores it',
  // invisible only changes the header note (fetchmail-translate.ts's notes); idfile is returned to the caller.
  invisible: () => null,
  idfile: () => null,
};

const expandTilde = (file: string, home: string): string => (file === '~' ? home : file.startsWith('~/') ? path.join(home, file.slice(2)) : file);
