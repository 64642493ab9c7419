/** What translating one fetchmail user reads: its options merged as fetchmail merges them, and the rest (Context). */
import path from 'node:path';
import type { Untranslated } from './model.js';
import type { Opt, OptValue } from './fetchmail-grammar.js';

/** Options fetchmail keeps as lists: a later one adds to an earlier one, and defaults apply only to an entry with none. */
const LIST_KEYS = new Set(['aka', 'localdomains', 'folder', 'smtphost', 'fetchdomains', 'localnames', 'antispam']);

/**
 * One user's options as fetchmail's optmerge leaves them: the user's own, then its entry's
 * server options, then the defaults entry's, each key from the first layer that sets it.
 */
export class Settings {
  private readonly byKey = new Map<string, Opt[]>();
  constructor(layers: Opt[][]) {
    for (const layer of layers) {
      const own = new Map<string, Opt[]>();
      for (const opt of layer) own.set(opt.key, LIST_KEYS.has(opt.key) ? [...(own.get(opt.key) ?? []), opt] : [opt]);
      for (const [key, opts] of own) if (!this.byKey.has(key)) this.byKey.set(key, opts);
    }
  }

  opt(key: string): Opt | undefined {
    return this.byKey.get(key)?.at(-1);
  }

  value(key: string): OptValue | undefined {
    return this.opt(key)?.value;
  }

  list(key: string): string[] {
    return (this.byKey.get(key) ?? []).flatMap((o) => o.value as string[]);
  }

  all(): Opt[] {
    return [...this.byKey.values()].flat();
  }
}

/** What translating one user needs besides its options. */
export interface Context {
  file: string;
  /** Where relative paths in the rc file start: its directory (fetchmail's prependdir). */
  rcDir: string;
  localUser: string | undefined;
  invisible: boolean;
  untranslated: Untranslated[];
}

/** fetchmail's prependdir: a relative path is relative to the rc file's directory. */
export const prependDir = (file: string, dir: string): string => (file === '' || file.startsWith('/') || file === '-' ? file : path.join(dir, file));
