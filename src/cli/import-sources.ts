import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PinchmailError, fileProblem } from '../errors.js';
import type { ImportedAccount, SeenState, SourceAccount, Untranslated } from '../import/model.js';
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
  const withSeen = accounts.map((imported) => ({ imported, seen: mpopSeen(imported, read(imported.seenFile!)) }));
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
