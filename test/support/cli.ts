import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/pinchmail', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Starts the built bin/pinchmail as a user would, with a clean environment of our choosing.
 * Logs are JSON lines (PINCHMAIL_LOG=json) unless `env` says otherwise, so that tests can
 * read them (logMessages); off a terminal the default is plain lines (see
 * test/integration/cli-operator-output.test.ts).
 */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess & { result: Promise<CliResult> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', PINCHMAIL_LOG: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  // Decoded across chunks: a character whose bytes arrive in two chunks stays one character.
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => (stdout += d));
  child.stderr!.on('data', (d: string) => (stderr += d));
  const result = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return Object.assign(child, { result });
}

/** The messages of the log events on stderr (JSON lines, as when stderr is not a terminal). */
export function logMessages(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => String((JSON.parse(l) as { msg?: unknown }).msg));
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return startCli(args, env).result;
}

/** A temp directory with a config file in it, and helpers to look at what was delivered. */
export class Workspace {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'pinchmail-test-'));

  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  /**
   * Writes a config; `database` defaults to one in this workspace. Returns its path. Mode
   * 0600, as a careful user keeps a config that holds a password (pinchmail refuses one
   * that others can read); also when it replaces an earlier one.
   */
  config(config: Record<string, unknown>, name = 'config.json'): string {
    const file = this.path(name);
    writeFileSync(file, JSON.stringify({ database: this.path('state.sqlite'), ...config }, null, 2), { mode: 0o600 });
    chmodSync(file, 0o600);
    return file;
  }

  /** Messages in a Maildir's new/ and cur/, sorted by content. */
  maildir(name: string): Buffer[] {
    const out: Buffer[] = [];
    for (const sub of ['new', 'cur']) {
      const dir = this.path(name, sub);
      let names: string[] = [];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const n of names) out.push(readFileSync(path.join(dir, n)));
    }
    return out.sort(Buffer.compare);
  }

  mkdir(name: string): string {
    mkdirSync(this.path(name), { recursive: true });
    return this.path(name);
  }

  /**
   * A delivery command that writes each message to `out/UIDL.eml`, then waits until the
   * test calls release(): a delivery held open for as long as a test needs, without sleeping.
   */
  slowCommand(): { deliver: Record<string, unknown>; release: () => void; out: string } {
    const out = this.mkdir('out');
    const gate = this.path('go');
    return {
      out,
      deliver: { command: `cat > "${out}/$PINCHMAIL_UIDL.eml"; while [ ! -e "${gate}" ]; do sleep 0.05; done` },
      release: () => writeFileSync(gate, ''),
    };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
