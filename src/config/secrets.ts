import { execFile } from 'node:child_process';
import { closeSync, constants, fstatSync, openSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { ConfigError, fileProblem } from '../errors.js';
import { READ_BITS, STICKY_BIT, WRITE_BITS, modeText, ownedByAnother, whoCan } from '../util/access-words.js';
import { childPath } from './shape.js';
import type { SecretSource } from './schema.js';

const COMMAND_TIMEOUT_MS = 60_000;

function firstLine(text: string): string {
  return text.split(/\r?\n/, 1)[0] ?? '';
}

/**
 * What no POP3 command can carry: CR and LF end the line (and would let the rest be read
 * as another command), NUL separates the fields of AUTH PLAIN. Checked on characters, not
 * bytes: the client sends UTF-8, where no other character encodes to 0x0d, 0x0a or 0x00.
 */
export const UNSENDABLE_IN_SECRET = /[\r\n\0]/;

/** The problem, without the secret: `what` says where it came from ("the password from ..."). */
export function unsendableSecret(what: string): string {
  return `${what} contains a line break (CR or LF) or NUL, which cannot be sent in a POP3 command`;
}

function sendable(secret: string, at: string, what: string): string {
  if (UNSENDABLE_IN_SECRET.test(secret)) throw new ConfigError(at, unsendableSecret(what));
  return secret;
}

// Files another local user could change or read (README: "What pinchmail refuses on a
// shared host"). Like mpop and fetchmail, pinchmail uses a config or password file only
// when it is owned by the running user (or by root, who can change any file anyway), when
// nobody else can write it or the directory it is in, and, while it holds a secret, when
// nobody else can read it. Group counts as others, as for mpop: a group may hold other
// users, and a warning in a cron mail is read after the secret has been.

const READ = READ_BITS;
const WRITE = WRITE_BITS;
/** Windows has no such modes: nothing is checked there. */
const UNCHECKED = process.platform === 'win32';
const octal = modeText;

/** "is owned by uid N, not by you ..." for an owner who is neither the running user nor root; else null. */
function foreignOwner(uid: number): string | null {
  const me = process.geteuid?.();
  if (me === undefined || uid === me || uid === 0) return null;
  return `is ${ownedByAnother(uid, me, true)}`;
}

/**
 * Whoever may rename or remove entries in a file's directory can put another file in its
 * place: its owner, and anyone with write access unless the directory is sticky (as /tmp
 * is). Checked for the directory named and, for a symlink, the real file's; not further up.
 */
function directoryProblem(file: string): string | null {
  if (UNCHECKED) return null;
  const dirs = new Set([path.dirname(path.resolve(file))]);
  try {
    dirs.add(path.dirname(realpathSync(file)));
  } catch {
    // Gone since it was opened: the named directory is still checked.
  }
  for (const dir of dirs) {
    let stat: Stats;
    try {
      stat = statSync(dir);
    } catch {
      continue;
    }
    const owner = foreignOwner(stat.uid);
    if (owner) return `its directory ${dir} ${owner}: its owner can put another file in its place; use a directory of your own`;
    const writers = stat.mode & STICKY_BIT ? null : whoCan(stat.mode, WRITE);
    if (writers) return `its directory ${dir} is writable by ${writers} (mode ${octal(stat.mode)}): anyone who can write there can put another file in its place; chmod go-w ${dir}`;
  }
  return null;
}

/**
 * Why a config file (`stat`: of the file opened) must not be used, or null: whoever owns
 * or can write it, or its directory, chooses the commands pinchmail runs.
 */
export function configFileProblem(file: string, stat: Stats): string | null {
  if (UNCHECKED) return null;
  const owner = foreignOwner(stat.uid);
  if (owner) return `${owner}: its owner chooses the commands pinchmail runs; use a file of your own`;
  const writers = whoCan(stat.mode, WRITE);
  if (writers) return `is writable by ${writers} (mode ${octal(stat.mode)}): whoever can write it chooses the commands pinchmail runs; chmod go-w it`;
  return directoryProblem(file);
}

/** Why a config file written at `file` would be refused for its directory alone, or null (an import checks before it writes). */
export const configDirectoryProblem = (file: string): string | null => directoryProblem(file);

/** Why a config file that holds a password (`at`: the first such setting) must not be used, or null: others can read it. */
export function configSecretProblem(stat: Stats, at: string): string | null {
  const readers = UNCHECKED ? null : whoCan(stat.mode, READ);
  return readers ? `holds a password (${at}) and is readable by ${readers} (mode ${octal(stat.mode)}); chmod 600 it` : null;
}

/** Why a password file must not be used, or null: another owner, anyone else's read or write access, or its directory. */
function secretFileProblem(file: string, stat: Stats): string | null {
  if (UNCHECKED) return null;
  const owner = foreignOwner(stat.uid);
  if (owner) return `${owner}: its owner can read and change it; use a file of your own`;
  const readers = whoCan(stat.mode, READ);
  const writers = whoCan(stat.mode, WRITE);
  if (readers || writers) return `is ${readers ? `readable by ${readers}` : `writable by ${writers}`} (mode ${octal(stat.mode)}); chmod 600 it`;
  return directoryProblem(file);
}

const NOT_BLOCKING_READ = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/**
 * The text of a config or password file and the status of the very file read, so that
 * what is checked is what is read. Opened without blocking: a FIFO planted in the file's
 * place must not hold the run; it is refused, as is anything but a regular file. Throws
 * an error whose fileProblem() says why.
 */
export function readRegularFile(file: string): { text: string; stat: Stats } {
  const fd = openSync(file, NOT_BLOCKING_READ);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error('it is not a regular file');
    return { stat, text: readFileSync(fd, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

/** A password file's text, once nobody but its owner (the running user, or root) can read or change it. */
function readPasswordFile(file: string, at: string): string {
  let read: { text: string; stat: Stats };
  try {
    read = readRegularFile(file);
  } catch (err) {
    throw new ConfigError(at, `cannot read ${file}: ${fileProblem(err)}`);
  }
  const problem = secretFileProblem(file, read.stat);
  if (problem) throw new ConfigError(at, `${file}: ${problem}`);
  return read.text;
}

/**
 * The password (or token) itself. Called just before it is needed, so a
 * `{ "command": [...] }` that prints a fresh OAuth token runs once per run. The value
 * never appears in an error; the error names where the setting is. A secret with CR, LF
 * or NUL is a config error here, whatever its source, rather than a refusal at login.
 */
export async function resolveSecret(source: SecretSource, at: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (typeof source === 'string') return sendable(source, at, 'the password');
  if ('env' in source) {
    const value = env[source.env];
    if (value === undefined || value === '') {
      throw new ConfigError(childPath(at, 'env'), `environment variable ${source.env} is ${value === undefined ? 'not set' : 'empty'}`);
    }
    return sendable(value, childPath(at, 'env'), `the password from environment variable ${source.env}`);
  }
  if ('file' in source) {
    const text = readPasswordFile(source.file, childPath(at, 'file'));
    const line = firstLine(text);
    if (!line) throw new ConfigError(childPath(at, 'file'), `${source.file} is empty (the password is its first line)`);
    return sendable(line, childPath(at, 'file'), `the password on the first line of ${source.file}`);
  }
  const [program, ...args] = source.command;
  const shown = `command ${JSON.stringify(source.command.join(' '))}`;
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(program!, args, { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 1024 * 1024, encoding: 'utf8' }, (err, out, errOut) => {
      if (!err) return resolve(out);
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
      let why: string;
      if (e.code === 'ENOENT') why = 'not found';
      else if (e.code === 'EACCES') why = 'not executable';
      else if (e.killed) why = `did not finish within ${COMMAND_TIMEOUT_MS / 1000}s`;
      else why = `exited with status ${e.code}${errOut.trim() ? `: ${firstLine(errOut.trim()).slice(0, 200)}` : ''}`;
      reject(new ConfigError(childPath(at, 'command'), `${shown} ${why}`));
    });
  });
  const line = firstLine(stdout);
  if (!line) throw new ConfigError(childPath(at, 'command'), `${shown} printed nothing (the password is the first line of its output)`);
  return sendable(line, childPath(at, 'command'), `the password printed by ${shown}`);
}
