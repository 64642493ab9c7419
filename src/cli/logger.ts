import { createRequire } from 'node:module';
import type pinoModule from 'pino';
import type { Log } from '../log.js';
import { terminalText } from './terminal-text.js';

type Pino = typeof pinoModule;
type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';
const LEVEL_VALUE: Record<Level, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50 };

export interface LogOptions {
  quiet: boolean;
  verbose: number;
  /** Where logs go; a terminal gets readable lines, anything else one JSON object per event. */
  stream?: NodeJS.WriteStream;
  /** $PINCHMAIL_LOG: "text" or "json" instead of deciding by the terminal. */
  format?: string | undefined;
}

/**
 * Warnings and errors always show: a run with nothing wrong logs neither, so -q (which
 * only drops the summary of successful accounts) stays silent on success.
 */
export function levelFor({ quiet, verbose }: Pick<LogOptions, 'quiet' | 'verbose'>): Level {
  if (quiet || verbose <= 0) return 'warn';
  return verbose === 1 ? 'info' : 'trace';
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'account']);

/**
 * Turns pino's JSON lines into "12:00:01 WARN  jobs: text key=value" for a person at a
 * terminal. Messages and values carry what servers and delivery commands said, so the
 * whole line is made terminal text: the JSON form escaped their controls, this one
 * must too.
 */
export function prettyLine(json: string): string {
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return terminalText(json);
  }
  const time = new Date(Number(event.time ?? Date.now())).toTimeString().slice(0, 8);
  const level = (LEVEL_NAMES[Number(event.level)] ?? 'LOG').padEnd(5);
  const who = event.account ? `${String(event.account)}: ` : '';
  const extra = Object.entries(event)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const line = `${time} ${level} ${who}${String(event.msg ?? '')}${extra ? ` ${extra}` : ''}`;
  return `${terminalText(line)}\n`;
}

/**
 * A logger that loads pino only when an event is at or above the level: a quiet run
 * that goes well (the usual cron run) never pays for loading it.
 */
export function createLogger(options: LogOptions): Log {
  const level = levelFor(options);
  let real: pinoModule.Logger | null = null;
  const root = (): pinoModule.Logger => (real ??= makePino(options, level));
  return new LazyLog(LEVEL_VALUE[level], root, {});
}

class LazyLog implements Log {
  private real: pinoModule.Logger | null = null;

  constructor(
    private readonly threshold: number,
    private readonly root: () => pinoModule.Logger,
    private readonly bindings: Record<string, unknown>,
  ) {}

  private emit(level: Level, args: [string] | [Record<string, unknown>, string]): void {
    if (LEVEL_VALUE[level] < this.threshold) return;
    this.real ??= Object.keys(this.bindings).length ? this.root().child(this.bindings) : this.root();
    (this.real[level] as (...a: unknown[]) => void)(...args);
  }

  trace = (...args: [string] | [Record<string, unknown>, string]): void => this.emit('trace', args);
  debug = (...args: [string] | [Record<string, unknown>, string]): void => this.emit('debug', args);
  info = (...args: [string] | [Record<string, unknown>, string]): void => this.emit('info', args);
  warn = (...args: [string] | [Record<string, unknown>, string]): void => this.emit('warn', args);
  error = (...args: [string] | [Record<string, unknown>, string]): void => this.emit('error', args);

  child(bindings: Record<string, unknown>): Log {
    return new LazyLog(this.threshold, this.root, { ...this.bindings, ...bindings });
  }
}

function makePino(options: LogOptions, level: Level): pinoModule.Logger {
  const pino = createRequire(import.meta.url)('pino') as Pino;
  const stream = options.stream ?? process.stderr;
  const redact = { paths: ['password', 'secret', 'token', '*.password', '*.secret'], censor: '****' };
  const text = options.format === 'text' || (options.format !== 'json' && stream.isTTY === true);
  if (text) {
    return pino({ level, redact, base: undefined }, { write: (line: string) => void stream.write(prettyLine(line)) });
  }
  return pino({ level, redact, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: (stream as { fd?: number }).fd ?? 2, sync: true }));
}
