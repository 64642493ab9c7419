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

/**
 * Names that mean loopback for the config's check of clear-text passwords: "localhost"
 * and literal loopback addresses. Not "*.localhost": a resolver may send such a name
 * anywhere. Whatever the name, the address connected to decides in the end
 * (isLoopbackAddress).
 */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || isLoopbackAddress(h);
}

/** 127.0.0.0/8, ::1, and IPv4 loopback as an IPv6-mapped address: a connection that stays on this machine. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.toLowerCase().replace(/^::ffff:/, '');
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a) || a === '::1' || a === '0:0:0:0:0:0:0:1';
}
