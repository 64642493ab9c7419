export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** One tool's runs in one scenario: the median and the range of wall time, never the best run alone. */
export interface Stat {
  wall: number;
  wallMin: number;
  wallMax: number;
  cpu: number;
  /** The highest peak RSS of any run, MB: memory is a limit, so the worst run is the one that counts. */
  rss: number;
  runs: number;
}

export function stat(samples: Timing[]): Stat {
  const walls = samples.map((s) => s.wallMs);
  return {
    wall: median(walls),
    wallMin: Math.min(...walls),
    wallMax: Math.max(...walls),
    cpu: median(samples.map((s) => s.cpuMs)),
    rss: Math.max(...samples.map((s) => s.maxRssKb)) / 1024,
    runs: samples.length,
  };
}

export function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

/** A plain-text table, columns padded. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)].join('\n');
}

export interface Timing {
  wallMs: number;
  /** User + system CPU of the process and every child it waited for. */
  cpuMs: number;
  maxRssKb: number;
  exitCode: number;
  stderr: string;
}

/**
 * Runs a command under GNU time (apt-get install time) and reports wall time (our own
 * clock, finer than time's), user+system CPU including waited-for children, and peak RSS.
 */
export async function timeCommand(argv: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Timing> {
  const { spawn } = await import('node:child_process');
  const started = process.hrtime.bigint();
  const child = spawn('/usr/bin/time', ['-f', '@@TIME %U %S %M', ...argv], {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exitCode: number = await new Promise((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const m = /@@TIME ([\d.]+) ([\d.]+) (\d+)/.exec(stderr);
  return {
    wallMs,
    cpuMs: m ? (Number(m[1]) + Number(m[2])) * 1000 : Number.NaN,
    maxRssKb: m ? Number(m[3]) : Number.NaN,
    exitCode,
    stderr: stderr.replace(/.*@@TIME.*\n?/, '').replace(/Command exited with non-zero status \d+\n?/, ''),
  };
}
