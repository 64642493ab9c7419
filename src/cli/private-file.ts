import { closeSync, constants, fchmodSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { PinchmailError } from '../errors.js';

/**
 * Creates `file` 0600 (in a directory created 0700), O_EXCL unless `force`, never through
 * a symlink: a config or a password file nobody else may read. `what` names it in errors.
 */
export function writePrivateFile(file: string, text: string, force: boolean, what: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | (force ? constants.O_TRUNC : constants.O_EXCL);
  let fd: number;
  try {
    fd = openSync(file, flags, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw exists(file);
    throw new PinchmailError('CONFIG', `${file}: cannot write ${what}: ${(err as Error).message}`, { cause: err });
  }
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** The file is there already and --force was not given: exit 73 (sysexits' EX_CANTCREAT), nothing changed. */
export class Exists extends Error {}
export const exists = (file: string): Exists => new Exists(`${file} exists; pass --force to overwrite it`);
