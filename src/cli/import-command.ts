import { accessSync, constants, lstatSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultConfigPath, defaultDatabasePath } from '../config/paths.js';
import { loadConfig, parseConfig } from '../config/load.js';
import { configDirectoryProblem } from '../config/secrets.js';
import { ConfigError, PinchmailError, fileProblem } from '../errors.js';
import { untranslatedLine } from '../import/model.js';
import { planImport, type ImportPlan, type PasswordPlace, type PlannedMailbox } from '../import/plan-import.js';
import { openStore, shownDatabase, type DatabaseConfig } from '../state/open-store.js';
import { readClock } from './clock.js';
import { EXIT } from './exit-codes.js';
import { readFetchmail, readGetmail, readMpop, type Source, type SourceContext } from './import-sources.js';
import type { Io } from './options.js';
import { Exists, exists, writePrivateFile } from './private-file.js';
import { terminalText } from './terminal-text.js';

export type ImportTool = 'mpop' | 'fetchmail' | 'getmail';

export interface ImportOptions {
  config: string;
  tool: ImportTool;
  /** The other fetcher's config file; default: where that fetcher looks. */
  from?: string;
  passwords: PasswordPlace;
  /** Take an account that keeps mail but has no seen-state file as having delivered nothing. */
  allNew: boolean;
  force: boolean;
}

const READERS: Record<ImportTool, (from: string | undefined, ctx: SourceContext) => Source> = { mpop: readMpop, fetchmail: readFetchmail, getmail: readGetmail };

/**
 * `pinchmail import TOOL`: another fetcher's accounts become a pinchmail config (0600),
 * and the UIDLs it recorded count as delivered in the state database, with its first-seen
 * times, so the switch delivers nothing twice and retention goes on from where it was.
 * Every file it writes is checked before it writes any; then the state (importing it
 * twice changes nothing), the config last, so a failure leaves no config naming a half import.
 */
export async function importCommand(options: ImportOptions, io: Io): Promise<number> {
  try {
    return await importFrom(options, io);
  } catch (err) {
    if (!(err instanceof Exists)) throw err;
    io.stderr.write(`pinchmail: ${terminalText(err.message)}\n`);
    return EXIT.CANTCREAT;
  }
}

async function importFrom(options: ImportOptions, io: Io): Promise<number> {
  const file = path.resolve(options.config);
  const source = READERS[options.tool](options.from, { home: os.homedir(), cwd: process.cwd(), env: process.env });
  const plan = planImport({
    accounts: source.accounts,
    place: options.passwords,
    configDir: path.dirname(file),
    allNew: options.allNew,
    refusal: (account) => refusal(account, file),
    database: defaultDatabasePath(),
  });
  if (plan.config.accounts.length === 0) {
    const why = plan.accounts.map((a) => `${a.name}: ${a.leftOut}`).join('; ');
    throw new PinchmailError('CONFIG', `${source.file}: no account pinchmail can import${why ? ` (${why})` : ''}`);
  }
  const text = `${JSON.stringify(plan.config, null, 2)}\n`;
  // What a run would make of it, before anything is written: a key the translation got wrong is named here.
  const config = parseConfig(text, file);
  checkWritable([...plan.secretFiles.map((s) => s.path), file], file, options.force);

  const imported = await importSeen(plan.mailboxes, config);
  for (const secret of plan.secretFiles) writePrivateFile(secret.path, secret.text, options.force, 'a password file');
  writePrivateFile(file, text, options.force, 'the config');
  loadConfig(file);

  const c = file === defaultConfigPath() ? '' : ` -c ${JSON.stringify(file)}`;
  const lines = [
    `wrote ${file} (mode 0600): ${config.accounts.length} account${config.accounts.length === 1 ? '' : 's'} from ${source.file} (${config.accounts.map((a) => a.name).join(', ')}); state in ${shownDatabase(config.database)}`,
    ...imported,
    ...noSeenState(plan),
    ...plan.notes,
    ...(source.untranslated.length ? [`not translated (${source.untranslated.length}):`, ...source.untranslated.map((u) => `  ${untranslatedLine(u)}`)] : ['every setting was translated']),
    'next: see what the first run would fetch and delete:',
    `  pinchmail --dry-run${c}`,
  ];
  io.stdout.write(`${terminalText(lines.join('\n'))}\n`);
  return EXIT.OK;
}

/** Why pinchmail would refuse the account alone in a config, in its own words, its path made the account's own. */
function refusal(account: Record<string, unknown>, file: string): string | null {
  try {
    parseConfig(JSON.stringify({ accounts: [account] }), file);
    return null;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const key = err.path.replace(/^accounts\[0\]\.?/, '');
    return key && key !== file ? `"${key}": ${err.problem}` : err.problem;
  }
}

/**
 * Each file the import creates can be created and then used: none there already (unless
 * --force; a symlink, dangling or not, counts, and is never written through), its
 * directory writable and one pinchmail will read a config from. Checked before the state
 * is touched, so a refusal changes nothing.
 */
function checkWritable(files: string[], config: string, force: boolean): void {
  for (const file of files) {
    const there = lstatSync(file, { throwIfNoEntry: false });
    if (there?.isSymbolicLink()) throw new PinchmailError('CONFIG', `${file} is a symbolic link; pinchmail does not write through one: remove it, or import to another file with -c`);
    if (there && !force) throw exists(file);
    const dir = path.dirname(file);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      accessSync(dir, constants.W_OK);
    } catch (err) {
      throw new PinchmailError('CONFIG', `${dir}: cannot write ${path.basename(file)} there: ${fileProblem(err)}`, { cause: err });
    }
  }
  const untrusted = configDirectoryProblem(config);
  if (untrusted) throw new ConfigError(config, untrusted);
}

/** Records each mailbox's UIDLs as delivered, under its lock; one line each saying how many. */
async function importSeen(mailboxes: readonly PlannedMailbox[], database: DatabaseConfig): Promise<string[]> {
  const out: string[] = [];
  const now = readClock();
  const store = await openStore(database);
  try {
    for (const box of mailboxes) {
      const names = box.names.join(' and ');
      // A run or the daemon polling the account now would have planned without these: wait for it to end.
      const lock = await store.tryLock(box.stateKey);
      if (!lock) throw new PinchmailError('LOCKED', `account ${names}: a pinchmail run is working on it; stop the daemon or the cron job, then import again (what was imported before stays)`);
      let result: { added: number; nowDelivered: number };
      try {
        result = await store.importDelivered(box.stateKey, [...box.uidls, ...box.alternates], now);
      } finally {
        await lock.release();
      }
      out.push(importedLine(names, box, result));
    }
  } finally {
    await store.close();
  }
  return out;
}

function importedLine(names: string, box: PlannedMailbox, { added, nowDelivered }: { added: number; nowDelivered: number }): string {
  const n = box.uidls.length;
  const alternates = box.alternates.length;
  const known = n + alternates - added - nowDelivered;
  const untimed = box.uidls.filter((u) => u.firstSeen === null).length;
  return (
    `account ${names}: ${n} UIDL${n === 1 ? '' : 's'} from ${box.files.join(' and ')} count as delivered` +
    `${known ? ` (${known} recorded as delivered already)` : ''}${nowDelivered ? ` (${nowDelivered} pinchmail had not delivered yet, now not to be)` : ''}` +
    `${untimed ? `; ${untimed} without a first-seen time count from ${added === n + alternates ? 'now' : 'when pinchmail first recorded them'}` : ''}` +
    `${alternates ? `; ${alternates} with "-" also as the server may spell them, with "/" (which getmail writes as "-")` : ''}`
  );
}

/** The accounts in the config with no seen state to import: every message on their server is new. */
function noSeenState(plan: ImportPlan): string[] {
  return plan.accounts.flatMap((a) => (a.leftOut || !a.missing ? [] : [`account ${a.name}: no UIDLs recorded, as ${a.missing}: every message on the server is new to pinchmail`]));
}
