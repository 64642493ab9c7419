import { spawn } from 'node:child_process';
import { PERMANENT_SYSEXITS, SYSEXIT_NAMES } from '../util/sysexits.js';
import { DeliveryError, type Permanence } from './errors.js';

export interface CommandResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Why it could not even start (not found, not executable). */
  spawnError: string | null;
  /** The errno code behind spawnError (ENOENT, EACCES...). */
  spawnCode?: string;
  /** The end of what it wrote to stderr, at most STDERR_KEEP bytes. */
  stderr: string;
  stderrBytes: number;
}

export interface CommandOptions {
  stdinFd: number;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Aborting kills the command's process group at once (a second SIGINT). */
  signal?: AbortSignal;
}

const STDERR_KEEP = 4096;
/** After SIGTERM, how long a command gets to clean up before SIGKILL. */
const KILL_GRACE_MS = 5_000;
/** After the command exits, how long its stdio may stay open (held by a child it left running). */
const DRAIN_MS = 250;

/**
 * Runs one delivery command: its stdin is the spooled message, its stderr is kept
 * (the tail only, however much it writes), and it runs in a process group of its own
 * so that a timeout kills everything it started, not just the first process.
 */
export function runCommand(argv: readonly string[], options: CommandOptions): Promise<CommandResult> {
  return new Promise((resolve) => {
    let stderrTail = Buffer.alloc(0);
    let stderrBytes = 0;
    let timedOut = false;
    let settled = false;
    let killTimer: NodeJS.Timeout | null = null;

    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: [options.stdinFd, 'ignore', 'pipe'],
      env: options.env,
      detached: true,
    });

    const killGroup = (sig: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // The group is already gone.
      }
    };
    const stop = (): void => {
      killGroup('SIGTERM');
      killTimer ??= setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, options.timeoutMs);
    const onAbort = (): void => {
      killGroup('SIGKILL');
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    child.stderr!.on('data', (chunk: Buffer) => {
      stderrBytes += chunk.length;
      stderrTail = Buffer.concat([stderrTail, chunk]);
      if (stderrTail.length > STDERR_KEEP) stderrTail = stderrTail.subarray(stderrTail.length - STDERR_KEEP);
    });

    const finish = (result: Omit<CommandResult, 'stderr' | 'stderrBytes' | 'timedOut'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      // A timed-out command's whole group goes, stragglers included.
      if (timedOut) killGroup('SIGKILL');
      const done = (): void => {
        child.stderr!.destroy();
        resolve({ ...result, timedOut, stderr: stderrTail.toString('utf8'), stderrBytes });
      };
      if (child.stderr!.readableEnded || child.stderr!.destroyed) done();
      else {
        const drain = setTimeout(done, DRAIN_MS);
        child.stderr!.once('close', () => {
          clearTimeout(drain);
          done();
        });
      }
    };

    child.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ENOENT' ? 'not found' : err.code === 'EACCES' ? 'not executable (permission denied)' : err.message;
      finish({ exitCode: null, signal: null, spawnError: why, spawnCode: err.code });
    });
    child.once('exit', (exitCode, signal) => finish({ exitCode, signal, spawnError: null }));
  });
}

/**
 * The end of what a failed command wrote to stderr, for its one failure line: the last
 * three lines that say something, joined, at most 400 characters.
 */
function lastLines(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-3)
    .join(' | ');
  return lines.length > 400 ? `...${lines.slice(-397)}` : lines;
}

/**
 * What a command's failure to deliver was, in words, and whether it lasts, or null when
 * it delivered (started, exited 0 in time). `shell` says the command ran under
 * `/bin/sh -c`, whose 127 and 126 mean the command in it was not found or not
 * executable. What it wrote to stderr is folded into the same message (its last lines).
 */
/**
 * Why a command's run is not a delivery (null when it is one): a failure that may pass
 * (tried again next run), or one that will not, when its status is one `permanent`
 * lists (the sysexits.h statuses MDAs use for that, unless the config says otherwise).
 * A status the target lists as "drop" is not a failure: see commandVerdict.
 */
export function commandFailure(result: CommandResult, label: string, timeoutMs: number, shell: boolean, permanent: readonly number[] = PERMANENT_SYSEXITS): DeliveryError | null {
  if (result.spawnError === null && !result.timedOut && result.exitCode === 0) return null;
  let why: string;
  let permanence: Permanence = 'temporary';
  const said = result.stderrBytes > 0 ? lastLines(result.stderr) : '';
  if (result.spawnError) {
    why = `cannot run it: ${result.spawnError}`;
    if (result.spawnCode === 'ENOENT' || result.spawnCode === 'EACCES' || result.spawnCode === 'ENOTDIR') permanence = 'unusable';
  } else if (result.timedOut) why = `killed after its timeout of ${Math.round(timeoutMs / 1000)}s`;
  else if (result.signal) why = `killed by ${result.signal}`;
  else if (shell && (result.exitCode === 127 || result.exitCode === 126)) {
    why = `cannot run it: the shell says ${result.exitCode === 127 ? 'not found' : 'not executable'} (status ${result.exitCode})`;
    permanence = 'unusable';
  } else {
    const status = result.exitCode!;
    const name = SYSEXIT_NAMES[status];
    const lasting = permanent.includes(status);
    why = `exited with status ${status}${lasting ? ` (${name ? `${name}, ` : ''}a permanent failure)` : ''}`;
    if (lasting) permanence = 'refused';
  }
  return new DeliveryError(`${label} ${why}${said ? ` (stderr: ${said})` : ''}`, { permanence });
}
