import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReplySource } from '../../src/devserver/pop3-server.js';
import { BIN, type CliResult } from './cli.js';

/**
 * What hostile servers send, made as it is sent: replies far larger than a test may
 * hold, and replies trickled so slowly that no inactivity timeout fires.
 */

/** `bytes`, one byte every `everyMs`, then (unless `then` says otherwise) nothing more, ever. */
export function trickle(bytes: string | Buffer, everyMs: number): ReplySource {
  const data = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'latin1');
  return async function* () {
    for (let i = 0; ; i = (i + 1) % data.length) {
      yield data.subarray(i, i + 1);
      await sleep(everyMs);
    }
  };
}

/** Nothing at all: a server that accepts the connection and never speaks. */
export function silence(): ReplySource {
  return async function* () {
    await new Promise(() => {});
  };
}

/** `head`, then `count` lines made by `line(i)`, then `tail`, in chunks of about 64 KiB. */
export function manyLines(head: string, count: number, line: (i: number) => string, tail = '.\r\n'): ReplySource {
  return async function* () {
    yield Buffer.from(head, 'latin1');
    let chunk: string[] = [];
    let size = 0;
    for (let i = 1; i <= count; i++) {
      const l = `${line(i)}\r\n`;
      chunk.push(l);
      size += l.length;
      if (size >= 64 * 1024) {
        yield Buffer.from(chunk.join(''), 'latin1');
        chunk = [];
        size = 0;
      }
    }
    yield Buffer.from(chunk.join('') + tail, 'latin1');
  };
}

export interface MeasuredRun extends CliResult {
  /** Peak resident memory of the pinchmail process, from its resource usage as the kernel kept it. */
  peakMiB: number;
  elapsedMs: number;
}

/**
 * Python's os.wait4 gives the resource usage of exactly the child it waited for (Node
 * has no way to get a child's): pinchmail runs under this shim, which passes its stdio
 * through, writes the peak RSS to a file, and exits as pinchmail did.
 */
const SHIM = `
import os, sys, json
out = sys.argv[1]
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(out, 'w') as f:
    json.dump({"maxrssKiB": usage.ru_maxrss}, f)
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
`;

/** Runs bin/pinchmail as startCli does, and measures its peak memory and elapsed time. */
export async function measuredRun(args: string[], env: NodeJS.ProcessEnv = {}, nodeOptions: string[] = []): Promise<MeasuredRun> {
  const usageFile = path.join(os.tmpdir(), `pinchmail-usage-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  const started = Date.now();
  const child = spawn('python3', ['-c', SHIM, usageFile, process.execPath, ...nodeOptions, BIN, ...args], {
    // JSON log lines, as startCli gives them: what failureLine() reads.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', PINCHMAIL_LOG: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  // Decoded across chunks: a character whose bytes arrive in two chunks stays one character.
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d: string) => (stdout += d));
  child.stderr.on('data', (d: string) => (stderr += d));
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (c, s) => resolve({ code: c, signal: s })),
  );
  const elapsedMs = Date.now() - started;
  const usage = JSON.parse(readFileSync(usageFile, 'utf8')) as { maxrssKiB: number };
  rmSync(usageFile, { force: true });
  return { code, signal, stdout, stderr, peakMiB: Math.round(usage.maxrssKiB / 1024), elapsedMs };
}
