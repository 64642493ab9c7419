import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

/**
 * Directories of a test file's own for the local-trust unit tests: each call of fresh()
 * gives a new one, 0700 whatever the umask; all are removed once the file's tests end.
 */
export function privateDirs(prefix: string): { fresh: () => string; mode: (p: string) => number } {
  const base = mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => rmSync(base, { recursive: true, force: true }));
  let n = 0;
  return {
    fresh: () => {
      const dir = path.join(base, `d${++n}`);
      mkdirSync(dir, { mode: 0o700 });
      chmodSync(dir, 0o700);
      return dir;
    },
    mode: (p) => lstatSync(p).mode & 0o7777,
  };
}
