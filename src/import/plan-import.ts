import path from 'node:path';
import type { ImportedAccount } from './model.js';

/** Where an inline password of the other fetcher's config goes: a 0600 file of its own, an environment variable, or the 0600 config. */
export type PasswordPlace = 'file' | 'env' | 'inline';

export interface ImportPlan {
  /** The pinchmail config to write (0600): every account but the incomplete ones. */
  config: { accounts: Record<string, unknown>[] };
  /** Each imported account with its name in pinchmail; `written` false for one left out (ImportedAccount.incomplete). */
  accounts: { imported: ImportedAccount; name: string; written: boolean }[];
  /** Password files to create 0600 before the config that names them. */
  secretFiles: { path: string; text: string }[];
  /** One line per inline password: where it went, or what to set. Never the password. */
  passwordNotes: string[];
}

/** PINCHMAIL_PASSWORD_WORK for account "work". */
export const passwordVariable = (name: string): string => `PINCHMAIL_PASSWORD_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;

/**
 * The config and files an import writes, decided before anything is: account names made
 * unique, each inline password put where `place` says (`configDir` holds password files).
 */
export function planImport(accounts: readonly ImportedAccount[], place: PasswordPlace, configDir: string): ImportPlan {
  const taken = new Set<string>();
  const secretFiles: ImportPlan['secretFiles'] = [];
  const passwordNotes: string[] = [];
  const out: Record<string, unknown>[] = [];
  const named: ImportPlan['accounts'] = [];
  for (const imported of accounts) {
    let name = imported.name;
    for (let n = 2; taken.has(name); n++) name = `${imported.name}-${n}`;
    taken.add(name);
    named.push({ imported, name, written: !imported.incomplete });
    if (imported.incomplete) continue;
    const account: Record<string, unknown> = { ...imported.account, name };
    if (imported.inlinePassword !== undefined) {
      if (place === 'file') {
        const file = path.join(configDir, `${name}.password`);
        secretFiles.push({ path: file, text: `${imported.inlinePassword}\n` });
        account.password = { file };
        passwordNotes.push(`account ${name}: its password is now in ${file} (mode 0600)`);
      } else if (place === 'env') {
        account.password = { env: passwordVariable(name) };
        passwordNotes.push(`account ${name}: its password is not copied; set ${passwordVariable(name)} to it where pinchmail runs`);
      } else {
        account.password = imported.inlinePassword;
        passwordNotes.push(`account ${name}: its password is inline in the config (mode 0600)`);
      }
    }
    out.push(orderKeys(account));
  }
  return { config: { accounts: out }, accounts: named, secretFiles, passwordNotes };
}

/** The keys in the order the example config has them, so the file reads like one written by hand. */
const ORDER = ['name', 'host', 'port', 'tls', 'tlsOptions', 'user', 'password', 'auth', 'timeout', 'retention', 'deliver', 'route'];
function orderKeys(account: Record<string, unknown>): Record<string, unknown> {
  const rank = (k: string): number => (ORDER.includes(k) ? ORDER.indexOf(k) : ORDER.length);
  return Object.fromEntries(Object.entries(account).sort(([a], [b]) => rank(a) - rank(b)));
}
