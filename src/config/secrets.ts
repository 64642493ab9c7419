import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { ConfigError, errorMessage } from '../errors.js';
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
    let text: string;
    try {
      text = await readFile(source.file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ConfigError(childPath(at, 'file'), `cannot read ${source.file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : errorMessage(err)}`);
    }
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
