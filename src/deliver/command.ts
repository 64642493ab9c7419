import { spawn } from 'node:child_process';

export interface CommandResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Why it could not even start (not found, not executable). */
  spawnError: string | null;
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
      finish({ exitCode: null, signal: null, spawnError: why });
    });
    child.once('exit', (exitCode, signal) => finish({ exitCode, signal, spawnError: null }));
  });
}
