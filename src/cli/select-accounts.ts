import type { AccountConfig, Config } from '../config/types.js';
import { PinchmailError } from '../errors.js';

/** The accounts named with -a (in config order), or else every account not "enabled": false. */
export function selectAccounts(config: Config, names: readonly string[]): AccountConfig[] {
  if (names.length === 0) return config.accounts.filter((a) => a.enabled);
  for (const name of names) {
    if (!config.accounts.some((a) => a.name === name)) {
      const known = config.accounts.map((a) => a.name).join(', ');
      throw new PinchmailError('USAGE', `no account named "${name}" in ${config.file} (accounts: ${known})`);
    }
  }
  return config.accounts.filter((a) => names.includes(a.name));
}

/**
 * The environment delivery commands inherit: pinchmail's own, less every variable a
 * `password` in the config names (any account's, and "defaults"'s, used or not). Secrets
 * from anywhere else (inline, a file, a command, an OAuth token) are never put in the
 * environment, so they have nothing to remove here.
 */
export function childEnvironment(config: Pick<Config, 'secretEnv'>, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const name of config.secretEnv) delete out[name];
  return out;
}
