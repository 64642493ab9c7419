import type { AccountConfig, Config } from '../config/load.js';
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

/** Commands must not inherit the secrets pinchmail itself reads from the environment. */
export function childEnvironment(config: Config, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const account of config.accounts) {
    if (typeof account.password === 'object' && 'env' in account.password) delete out[account.password.env];
  }
  return out;
}
