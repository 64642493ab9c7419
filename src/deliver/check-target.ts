import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import type { TargetConfig } from '../config/types.js';
import { UnsafePathError } from '../util/private-path.js';
import { DeliveryError } from './errors.js';
import { WHY_UNSAFE } from './maildir.js';
import { checkMaildir } from './maildir-dirs.js';
import { labelOf } from './target.js';

/** What `check` found about one target, without writing anything or running the command. */
export interface TargetCheck {
  /** How logs call it: `command "procmail -d jobs"`, `Maildir ~/Mail`. */
  label: string;
  ok: boolean;
  /** Why a run would fail every message to it (a permanent delivery failure), or null. */
  problem: DeliveryError | null;
  /** What is worth knowing though not a problem: where a command was found, a Maildir a run will create, what cannot be checked. */
  note: string | null;
}

/** Shell words that are not programs on PATH: a string command starting with one cannot be checked by its first word. */
const SHELL_WORDS = new Set([
  'if', 'then', 'else', 'elif', 'fi', 'case', 'esac', 'for', 'while', 'until', 'do', 'done', 'in', 'function', 'time', '!', '{', '}',
  'exec', 'eval', 'command', 'builtin', 'set', 'export', 'cd', 'test', '[', 'true', 'false', 'echo', 'printf', 'read', 'exit', 'return',
  'trap', 'umask', 'ulimit', 'wait', 'source', '.', ':', 'env', 'nice', 'nohup', 'timeout', 'sudo',
]);

/** Checks a target as a run would use it: a Maildir that can be written or created, a command that exists and is executable. */
export function checkTarget(target: TargetConfig, env: NodeJS.ProcessEnv = process.env): TargetCheck {
  const label = labelOf(target);
  const result =
    target.kind === 'maildir'
      ? checkMaildirPath(target.dir)
      : target.kind === 'mbox'
        ? checkMboxPath(target.file)
        : target.kind === 'lmtp' || target.kind === 'smtp'
          ? { problem: null, note: 'check does not connect to it; a run does, once per message' }
          : checkCommand(target.argv, env);
  return { label, ok: result.problem === null, problem: result.problem ? new DeliveryError(`${label}: ${result.problem}`, { permanence: 'unusable' }) : null, note: result.note };
}

interface Found {
  problem: string | null;
  note: string | null;
}

function kindOf(p: string): 'dir' | 'file' | 'other' | null {
  try {
    const st = statSync(p);
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw err;
  }
}

function writable(p: string): boolean {
  try {
    accessSync(p, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * A Maildir, as Maildir.ensure() will treat it: created when its parent is there, never
 * with its parents; one that is there refused as a delivery refuses it (checkMaildir:
 * who can write it, whether tmp/, new/ or cur/ is a symlink), nothing created.
 */
export function checkMaildirPath(dir: string): Found {
  try {
    const kind = kindOf(dir);
    if (kind === null) {
      const parent = path.dirname(dir);
      const parentKind = kindOf(parent);
      if (parentKind === null) {
        return { problem: `its parent directory ${parent} does not exist; pinchmail creates the Maildir itself, never its parents (a typo must not hide mail): create it, or correct the path`, note: null };
      }
      if (parentKind !== 'dir') return { problem: `${parent} is not a directory`, note: null };
      if (!writable(parent)) return { problem: `it does not exist yet, and ${parent} is not writable, so a run cannot create it`, note: null };
      return { problem: null, note: `${dir} does not exist yet: the first run creates it (with tmp/, new/ and cur/) in ${parent}` };
    }
    if (kind !== 'dir') return { problem: `${dir} is not a directory`, note: null };
    try {
      checkMaildir(dir);
    } catch (err) {
      if (!(err instanceof UnsafePathError)) throw err;
      return { problem: `${err.path === dir ? '' : `${err.path}: `}${err.problem}; refusing it, since ${WHY_UNSAFE}`, note: null };
    }
    for (const sub of ['tmp', 'new', 'cur']) {
      const p = path.join(dir, sub);
      const subKind = kindOf(p);
      if (subKind === null) {
        if (!writable(dir)) return { problem: `${dir} is not writable, so a run cannot create ${sub}/ in it`, note: null };
        continue;
      }
      if (subKind !== 'dir') return { problem: `${p} is not a directory`, note: null };
      if (sub !== 'cur' && !writable(p)) return { problem: `${p} is not writable`, note: null };
    }
    return { problem: null, note: null };
  } catch (err) {
    return { problem: `cannot look at it: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, note: null };
  }
}

/**
 * An mbox, as a delivery will treat it: a regular file that can be read and written, or
 * one a run can create (its directory exists and can be written). Whether a dotlock can
 * be made beside it is a note, not a problem: without, the fcntl lock is taken alone.
 */
export function checkMboxPath(file: string): Found {
  try {
    const kind = kindOf(file);
    const dir = path.dirname(file);
    const dotlock = writable(dir) ? null : `${dir} is not writable, so no dotlock (${path.basename(file)}.lock) can be made: only the fcntl lock is taken`;
    if (kind === null) {
      const dirKind = kindOf(dir);
      if (dirKind === null) return { problem: `its directory ${dir} does not exist`, note: null };
      if (dirKind !== 'dir') return { problem: `${dir} is not a directory`, note: null };
      if (dotlock) return { problem: `it does not exist yet, and ${dir} is not writable, so a run cannot create it`, note: null };
      return { problem: null, note: `${file} does not exist yet: the first delivery creates it (0600)` };
    }
    if (kind !== 'file') return { problem: `${file} is not a regular file`, note: null };
    try {
      accessSync(file, constants.R_OK | constants.W_OK);
    } catch {
      return { problem: `${file} is not readable and writable`, note: null };
    }
    return { problem: null, note: dotlock };
  } catch (err) {
    return { problem: `cannot look at it: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, note: null };
  }
}

/**
 * A command: argv[0] (on PATH when it has no slash) must be an executable file. A string
 * command (run by /bin/sh -c) is checked by its first word when that is a plain path or
 * a program name; anything else (an assignment, a shell keyword or builtin, quoting, a
 * variable) cannot be checked without running it, and check says so.
 */
export function checkCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Found {
  let program = argv[0]!;
  if (argv[0] === '/bin/sh' && argv[1] === '-c' && argv.length >= 3) {
    const text = argv[2]!.trimStart();
    const first = /^([A-Za-z0-9_./+@%,-]+)(?=\s|$|;|\||&|<|>)/.exec(text)?.[1];
    if (!first || SHELL_WORDS.has(first) || first.includes('=')) {
      return { problem: null, note: `a shell command: its first word cannot be checked without running it` };
    }
    program = first;
  }
  const found = locate(program, env);
  if ('problem' in found) return { problem: found.problem, note: null };
  return { problem: null, note: `${program === found.at ? program : `${program} found at ${found.at}`}, executable` };
}

function locate(program: string, env: NodeJS.ProcessEnv): { at: string } | { problem: string } {
  if (program.includes('/')) {
    const kind = kindOf(program);
    if (kind === null) return { problem: `cannot run it: ${program} not found` };
    if (kind !== 'file') return { problem: `cannot run it: ${program} is not a file` };
    if (!executable(program)) return { problem: `cannot run it: ${program} is not executable` };
    return { at: program };
  }
  const dirs = (env.PATH ?? '').split(':').map((d) => d || '.');
  let notExecutable: string | null = null;
  for (const dir of dirs) {
    const candidate = path.join(dir, program);
    let kind: ReturnType<typeof kindOf>;
    try {
      kind = kindOf(candidate);
    } catch {
      continue;
    }
    if (kind !== 'file') continue;
    if (executable(candidate)) return { at: candidate };
    notExecutable ??= candidate;
  }
  if (notExecutable) return { problem: `cannot run it: ${notExecutable} is not executable` };
  return { problem: `cannot run it: ${program} not found on PATH (${env.PATH ?? 'no PATH'}); a run from cron or systemd may have a shorter PATH still` };
}

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
