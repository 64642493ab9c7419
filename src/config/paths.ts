import os from 'node:os';
import path from 'node:path';

/** "~" and "~/x" become the home directory; other paths are taken relative to `base`. */
export function resolvePath(p: string, base: string): string {
  if (p === '~') return os.homedir();
  if (p.startsWith('~/')) return path.join(os.homedir(), p.slice(2));
  return path.resolve(base, p);
}

/** $PINCHMAIL_CONFIG, else $XDG_CONFIG_HOME/pinchmail/config.json, else ~/.config/pinchmail/config.json. */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PINCHMAIL_CONFIG) return resolvePath(env.PINCHMAIL_CONFIG, process.cwd());
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'pinchmail', 'config.json');
}

/** $XDG_STATE_HOME/pinchmail/state.sqlite, else ~/.local/state/pinchmail/state.sqlite. */
export function defaultDatabasePath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'pinchmail', 'state.sqlite');
}
