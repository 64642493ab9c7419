import { existsSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PinchmailError, fileProblem } from '../errors.js';
import { untranslatedLine, type ImportedAccount, type SourceAccount, type Untranslated } from '../import/model.js';
import { parseFetchids, parseFetchmailrc } from '../import/fetchmail.js';
import { getmailRcFiles, parseGetmailOldmail, parseGetmailrc } from '../import/getmail.js';
import { parseMpoprc, parseMpopUidls } from '../import/mpop.js';

/** What a tool's files say: the accounts with what each had seen, and what does not translate. */
export interface Source {
  file: string;
  accounts: SourceAccount[];
  untranslated: Untranslated[];
}

/** Where the reading happens: the operator's home, working directory and environment. */
export interface SourceContext {
  home: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** Larger than any configuration file a person writes, or any tool's record of 200,000 UIDLs: refused unread. */
const MAX_CONFIG_BYTES = 1024 * 1024;
const MAX_SEEN_BYTES = 64 * 1024 * 1024;

/**
 * A file of the other fetcher's, whole: a configuration as UTF-8, a seen-state file as
 * latin1, byte for byte as pinchmail's POP3 client reads UIDLs off the wire.
 */
export function readText(file: string, what: string, kind: 'config' | 'seen' = 'config'): string {
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new PinchmailError('CONFIG', `${file}: cannot read ${what}: not a regular file`);
    const limit = kind === 'config' ? MAX_CONFIG_BYTES : MAX_SEEN_BYTES;
    if (stat.size > limit) throw new PinchmailError('CONFIG', `${file}: cannot read ${what}: ${stat.size} bytes is more than any such file holds (at most ${limit})`);
    return readFileSync(file, kind === 'config' ? 'utf8' : 'latin1');
  } catch (err) {
    if (err instanceof PinchmailError) throw err;
    throw new PinchmailError('CONFIG', `${file}: cannot read ${what}: ${fileProblem(err)}`, { cause: err });
  }
}

/** mpop's configuration: ~/.mpoprc, or when there is none $XDG_CONFIG_HOME/mpop/config (as mpop 1.4 looks). */
function mpoprcPath({ home, env }: SourceContext): string {
  const classic = path.join(home, '.mpoprc');
  if (existsSync(classic)) return classic;
  const xdg = path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'mpop', 'config');
  return existsSync(xdg) ? xdg : classic;
}

export function readMpop(from: string | undefined, ctx: SourceContext): Source {
  const file = from ? path.resolve(ctx.cwd, from) : mpoprcPath(ctx);
  const { accounts, untranslated } = parseMpoprc(readText(file, "mpop's configuration"), file, ctx.home, ctx.cwd);
  // Accounts on one mailbox share its file (mpop's default name is USER_at_HOST): read each once.
  const files = new Map<string, ReturnType<typeof parseMpopUidls> | null>();
  const read = (uidlsFile: string): ReturnType<typeof parseMpopUidls> | null => {
    if (!files.has(uidlsFile)) {
      const parsed = existsSync(uidlsFile) ? parseMpopUidls(readText(uidlsFile, "mpop's UIDLs file", 'seen'), uidlsFile) : null;
      if (parsed) untranslated.push(...parsed.problems);
      files.set(uidlsFile, parsed);
    }
    return files.get(uidlsFile)!;
  };
  const withSeen = accounts.map((imported) => mpopSeen(imported, read(imported.seenFile!)));
  return { file, accounts: withSeen, untranslated };
}

function mpopSeen(imported: ImportedAccount, parsed: ReturnType<typeof parseMpopUidls> | null): SourceAccount {
  const file = imported.seenFile!;
  if (!parsed) return { imported, seen: null, missing: `${file} is not there` };
  // One file may hold several mailboxes (a uidls_file shared by accounts): this account's is its host and user.
  const box = parsed.mailboxes.find((m) => m.host === imported.account.host && m.user === imported.account.user);
  if (box) return { imported, seen: { file, uidls: box.uidls } };
  // A file mpop would refuse may hold this mailbox's UIDLs where the import could not read them.
  if (parsed.problems.length) return { imported, seen: null, missing: `${file} is not as mpop writes it (its lines are listed below), so what mpop delivered is not known` };
  // mpop lists no mailbox it holds no UIDL of.
  return { imported, seen: { file, uidls: [] } };
}

/** fetchmail's rc file: $FETCHMAILHOME/fetchmailrc with FETCHMAILHOME set, else ~/.fetchmailrc (fetchmail.c). */
const fetchmailrcPath = ({ home, env }: SourceContext): string => (env.FETCHMAILHOME ? path.join(env.FETCHMAILHOME, 'fetchmailrc') : path.join(home, '.fetchmailrc'));

/** Who runs fetchmail, as it asks: the login and local recipient of a user that names none. */
const fetchmailUser = ({ env }: SourceContext): string => env.FETCHMAILUSER || env.USER || env.LOGNAME || os.userInfo().username;

export function readFetchmail(from: string | undefined, ctx: SourceContext): Source {
  const file = from ? path.resolve(ctx.cwd, from) : fetchmailrcPath(ctx);
  const { accounts, untranslated, syntaxErrors, idfile } = parseFetchmailrc(readText(file, "fetchmail's configuration"), file, ctx.home, fetchmailUser(ctx));
  if (syntaxErrors.length) {
    const [first] = syntaxErrors;
    const more = syntaxErrors.length > 1 ? ` (and ${syntaxErrors.length - 1} more)` : '';
    throw new PinchmailError('CONFIG', `fetchmail refuses this file, and so does the import: ${untranslatedLine(first!)}${more}; fix it (fetchmail --configdump reads it as fetchmail does), then import again`);
  }
  const ids = idfile ?? path.join(ctx.env.FETCHMAILHOME || ctx.home, '.fetchids');
  const parsed = existsSync(ids) ? parseFetchids(readText(ids, "fetchmail's UIDL file", 'seen'), ids) : null;
  if (parsed) untranslated.push(...parsed.problems);
  const withSeen = accounts.map((imported): SourceAccount => {
    if (!parsed) return { imported, seen: null, missing: `${ids} is not there` };
    // fetchmail matches its lines to a user case-blind, on the login and the host it polls (the via, else the poll name).
    const { user, host } = imported.account as { user?: string; host?: string };
    const box = parsed.entries.find((e) => e.user.toLowerCase() === user?.toLowerCase() && e.host.toLowerCase() === host?.toLowerCase());
    return box ? { imported, seen: { file: ids, uidls: box.uidls } } : { imported, seen: null, missing: `${ids} has no line for ${user}@${host}` };
  });
  return { file, accounts: withSeen, untranslated };
}

/** getmail6's rc files (one account each) in its getmaildir, or the one --from names, and their oldmail files. */
export function readGetmail(from: string | undefined, ctx: SourceContext): Source {
  const { getmaildir, files: found } = getmailRcFiles(ctx.home, ctx.env);
  const files = from ? [path.resolve(ctx.cwd, from)] : found;
  if (files.length === 0) throw new PinchmailError('CONFIG', `${getmaildir}: no getmailrc file there (getmail's own directory); name one with --from`);
  const untranslated: Untranslated[] = [];
  const accounts = files.flatMap((file) => {
    const parsed = parseGetmailrc(readText(file, "getmail's configuration"), file, ctx.home, getmaildir);
    untranslated.push(...parsed.untranslated);
    return parsed.accounts.map((imported): SourceAccount => getmailSeen(imported, untranslated));
  });
  return { file: files.length === 1 ? files[0]! : `${files.length} getmailrc files in ${getmaildir}`, accounts, untranslated };
}

function getmailSeen(imported: ImportedAccount, untranslated: Untranslated[]): SourceAccount {
  const file = imported.seenFile;
  if (!file) return { imported, seen: null, missing: 'getmail keeps no oldmail file for it' };
  if (!existsSync(file)) return { imported, seen: null, missing: `${file} is not there` };
  const { uidls, problems } = parseGetmailOldmail(readText(file, "getmail's oldmail file", 'seen'), file);
  untranslated.push(...problems);
  // getmail writes a UIDL's "/" as "-": "a-b" may be the server's "a/b" (base64 UIDLs have "/", rarely "-"). Both
  // count as delivered; a spelling the server does not list is forgotten after the grace period, as any UIDL gone.
  const alternates = uidls.filter((u) => u.uidl.includes('-')).map((u) => ({ uidl: u.uidl.replaceAll('-', '/'), firstSeen: u.firstSeen }));
  return { imported, seen: { file, uidls, ...(alternates.length ? { alternates } : {}) } };
}
