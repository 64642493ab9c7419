import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultConfigPath } from '../config/paths.js';
import { defaultStateKey, loadConfig, parseConfig } from '../config/load.js';
import { PinchmailError, fileProblem } from '../errors.js';
import { untranslatedLine, type ImportedAccount, type Untranslated } from '../import/model.js';
import { parseMpoprc, parseMpopUidls } from '../import/mpop.js';
import { planImport, type PasswordPlace } from '../import/plan-import.js';
import { MailboxLock } from '../state/lock.js';
import { StateStore } from '../state/store.js';
import { readClock } from './clock.js';
import { EXIT } from './exit-codes.js';
import type { Io } from './options.js';
import { Exists, exists, writePrivateFile } from './private-file.js';
import { terminalText } from './terminal-text.js';

export interface ImportOptions {
  config: string;
  tool: 'mpop';
  /** The other fetcher's config file; default: where that fetcher looks. */
  from?: string;
  passwords: PasswordPlace;
  force: boolean;
}

/** The UIDLs another fetcher recorded for one imported account, and where they came from. */
interface SeenState {
  file: string;
  uidls: { uidl: string; firstSeen: number | null }[];
}

/** What a tool's files say: the accounts, their seen UIDLs, and what does not translate. */
interface Source {
  file: string;
  accounts: ImportedAccount[];
  seen: Map<ImportedAccount, SeenState | null>;
  untranslated: Untranslated[];
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new PinchmailError('CONFIG', `${file}: cannot read ${what}: ${fileProblem(err)}`, { cause: err });
  }
}

function readMpop(from: string | undefined, home: string): Source {
  const file = from ?? path.join(home, '.mpoprc');
  const { accounts, untranslated } = parseMpoprc(readText(file, "mpop's configuration"), file, home);
  const seen = new Map<ImportedAccount, SeenState | null>();
  for (const account of accounts) {
    const uidlsFile = account.seenFile!;
    if (!existsSync(uidlsFile)) {
      seen.set(account, null);
      continue;
    }
    const { mailboxes, problems } = parseMpopUidls(readText(uidlsFile, "mpop's UIDLs file"), uidlsFile);
    untranslated.push(...problems);
    // One file may hold several mailboxes (a uidls_file shared by accounts): this account's is its host and user.
    const box = mailboxes.find((m) => m.host === account.account.host && m.user === account.account.user);
    seen.set(account, { file: uidlsFile, uidls: box?.uidls ?? [] });
  }
  return { file, accounts, seen, untranslated };
}

/**
 * `pinchmail import mpop`: another fetcher's accounts become a pinchmail config (0600),
 * and the UIDLs it recorded count as delivered in the state database, with its first-seen
 * times, so the switch delivers nothing twice and retention goes on from where it was.
 * Everything is checked before anything is written; the state first (importing it twice
 * changes nothing), the config last, so a failure leaves no config naming a half import.
 */
export async function importCommand(options: ImportOptions, io: Io): Promise<number> {
  try {
    return importFrom(options, io);
  } catch (err) {
    if (!(err instanceof Exists)) throw err;
    io.stderr.write(`pinchmail: ${terminalText(err.message)}\n`);
    return EXIT.CANTCREAT;
  }
}

function importFrom(options: ImportOptions, io: Io): number {
  const file = path.resolve(options.config);
  if (!options.force && existsSync(file)) throw exists(file);
  const source = readMpop(options.from, os.homedir());
  const plan = planImport(source.accounts, options.passwords, path.dirname(file));
  if (plan.config.accounts.length === 0) throw new PinchmailError('CONFIG', `${source.file}: no account pinchmail can import${source.accounts.length ? ` (${source.accounts.map((a) => `${a.name}: ${a.incomplete}`).join('; ')})` : ''}`);
  const text = `${JSON.stringify(plan.config, null, 2)}\n`;
  // What a run would make of it, before anything is written: a key the translation got wrong is named here.
  const config = parseConfig(text, file);

  const out: string[] = [];
  const now = readClock();
  const store = StateStore.open(config.database);
  try {
    for (const { imported, name, written } of plan.accounts) {
      if (!written) out.push(`account ${name}: left out of the config, as ${imported.incomplete}; add it by hand (its UIDLs are imported all the same)`);
      const seen = source.seen.get(imported);
      if (!seen) {
        out.push(`account ${name}: no UIDLs file at ${imported.seenFile}: every message on the server is new to pinchmail`);
        continue;
      }
      const stateKey = config.accounts.find((a) => a.name === name)?.stateKey ?? defaultStateKey(String(imported.account.host ?? ''), String(imported.account.user ?? ''));
      // A run or the daemon polling the account now would have planned without these: wait for it to end.
      const lock = MailboxLock.tryAcquire(config.database, stateKey);
      if (!lock) throw new PinchmailError('LOCKED', `account ${name}: a pinchmail run is working on it; stop the daemon or the cron job, then import again (what was imported before stays)`);
      let result: { added: number; nowDelivered: number };
      try {
        result = store.importDelivered(stateKey, seen.uidls, now);
      } finally {
        lock.release();
      }
      const { added, nowDelivered } = result;
      const known = seen.uidls.length - added - nowDelivered;
      const timed = seen.uidls.filter((u) => u.firstSeen !== null).length;
      out.push(
        `account ${name}: ${seen.uidls.length} UIDL${seen.uidls.length === 1 ? '' : 's'} from ${seen.file} count as delivered` +
          `${known ? ` (${known} already delivered by pinchmail)` : ''}${nowDelivered ? ` (${nowDelivered} pinchmail had not delivered yet, now not to be)` : ''}` +
          `${timed < seen.uidls.length ? `; ${seen.uidls.length - timed} without a first-seen time count from now` : ''}`,
      );
    }
  } finally {
    store.close();
  }
  for (const secret of plan.secretFiles) writePrivateFile(secret.path, secret.text, options.force, 'a password file');
  writePrivateFile(file, text, options.force, 'the config');
  loadConfig(file);

  const c = file === defaultConfigPath() ? '' : ` -c ${JSON.stringify(file)}`;
  const lines = [
    `wrote ${file} (mode 0600): ${config.accounts.length} account${config.accounts.length === 1 ? '' : 's'} from ${source.file} (${config.accounts.map((a) => a.name).join(', ')}); state in ${config.database}`,
    ...out,
    ...plan.passwordNotes,
    ...(source.untranslated.length ? [`not translated (${source.untranslated.length}):`, ...source.untranslated.map((u) => `  ${untranslatedLine(u)}`)] : ['every setting was translated']),
    'next: see what the first run would fetch and delete:',
    `  pinchmail --dry-run${c}`,
  ];
  io.stdout.write(`${terminalText(lines.join('\n'))}\n`);
  return EXIT.OK;
}
