import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { BIN } from './cli.js';

/** Whether `uid` (switched to by setpriv, no account needed) can run `bin`. */
export function runsAs(uid: number, bin: string): ReturnType<typeof spawnSync> {
  return spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, bin, '--version']);
}

/**
 * The built CLI where another uid can run it: the checkout itself, or, when one of its
 * parents is private (a clone in a 0700 temp directory, as `mktemp -d` makes), a copy of
 * what it runs from (hard links where the file system allows) in a directory others can
 * enter, removed once the test file ends. Only as root; else BIN.
 */
export function binRunnableAs(uid: number): string {
  if (process.getuid?.() !== 0 || runsAs(uid, BIN).status === 0) return BIN;
  const repo = path.resolve(path.dirname(BIN), '..');
  const copy = mkdtempSync(path.join(os.tmpdir(), 'pm-run-as-'));
  chmodSync(copy, 0o755);
  for (const part of ['bin', 'dist', 'node_modules', 'package.json']) {
    const linked = spawnSync('cp', ['-al', path.join(repo, part), copy]);
    if (linked.status !== 0) spawnSync('cp', ['-a', path.join(repo, part), copy]);
  }
  afterAll(() => rmSync(copy, { recursive: true, force: true }));
  return path.join(copy, 'bin', 'pinchmail');
}
