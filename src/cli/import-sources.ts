import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PinchmailError, fileProblem } from '../errors.js';
import type { ImportedAccount, SeenState, SourceAccount, Untranslated } from '../import/model.js';
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

export function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
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
      const parsed = existsSync(uidlsFile) ? parseMpopUidls(readText(uidlsFile, "mpop's UIDLs file"), uidlsFile) : null;
      if (parsed) untranslated.push(...parsed.problems);
      files.set(uidlsFile, parsed);
    }
    return files.get(uidlsFile)!;
  };
  const withSeen = accounts.map((imported): SourceAccount => {
    const seen = mpopSeen(imported, read(imported.seenFile!));
    return seen ? { imported, seen } : { imported, seen, missing: `${imported.seenFile} is not there` };
  });
  return { file, accounts: withSeen, untranslated };
}

function mpopSeen(account: ImportedAccount, parsed: ReturnType<typeof parseMpopUidls> | null): SeenState | null {
  if (!parsed) return null;
  const { mailboxes } = parsed;
  const file = account.seenFile!;
  // One file may hold several mailboxes (a uidls_file shared by accounts): this account's is its host and user.
  const box = mailboxes.find((m) => m.host === account.account.host && m.user === account.account.user);
  return { file, uidls: box?.uidls ?? [] };
}

/** fetchmail's rc file: $FETCHMAILHOME/fetchmailrc with FETCHMAILHOME set, else ~/.fetchmailrc (fetchmail.c). */
const fetchmailrcPath = ({ home, env }: SourceContext): string => (env.FETCHMAILHOME ? path.join(env.FETCHMAILHOME, 'fetchmailrc') : path.join(home, '.fetchmailrc'));

/** Who runs fetchmail, as it asks: the login and local recipient of a user that names none. */
const fetchmailUser = ({ env }: SourceContext): string => env.FETCHMAILUSER || env.USER || env.LOGNAME || os.userInfo().username;

export function readFetchmail(from: string | undefined, ctx: SourceContext): Source {
  const file = from ? path.resolve(ctx.cwd, from) : fetchmailrcPath(ctx);
  const { accounts, untranslated, idfile } = parseFetchmailrc(readText(file, "fetchmail's configuration"), file, ctx.home, fetchmailUser(ctx));
  const ids = idfile ?? path.join(ctx.env.FETCHMAILHOME || ctx.home, '.fetchids');
  const parsed = existsSync(ids) ? parseFetchids(readText(ids, "fetchmail's UIDL file"), ids) : null;
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
  const { uidls, problems } = parseGetmailOldmail(readText(file, "getmail's oldmail file"), file);
  untranslated.push(...problems);
  return { imported, seen: { file, uidls } };
}
