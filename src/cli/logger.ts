import { fstatSync } from 'node:fs';
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
  /** Where logs go; see logFormat for what each kind of stream gets. */
  stream?: NodeJS.WriteStream;
  /** $PINCHMAIL_LOG: "text", "plain", "journal" or "json" instead of deciding by the stream. */
  format?: string | undefined;
}

/**
 * How log events are written:
 * - text: "12:00:01 WARN  jobs: ..." for a person at a terminal;
 * - plain: "pinchmail: jobs: warning: ..." for cron mail and anything else that is read
 *   by a person later (the default off a terminal);
 * - journal: "<4>jobs: ..." for systemd's journal, which reads the sd-daemon(3) priority
 *   prefix and adds the time and the program's name itself;
 * - json: one pino JSON object per line, for log collectors ($PINCHMAIL_LOG=json).
 */
export type LogFormat = 'text' | 'plain' | 'journal' | 'json';
const FORMATS: readonly string[] = ['text', 'plain', 'journal', 'json'];

/**
 * The format asked for, else by the stream: a terminal gets text; the stream systemd names
 * in $JOURNAL_STREAM ("device:inode", as systemd.exec(5) says to check, since a child may
 * inherit the variable with another stderr) gets journal lines; anything else plain lines.
 */
export function logFormat(format: string | undefined, stream: NodeJS.WriteStream = process.stderr, env: NodeJS.ProcessEnv = process.env): LogFormat {
  if (format !== undefined && FORMATS.includes(format)) return format as LogFormat;
  if (stream.isTTY === true) return 'text';
  return isJournal(stream, env.JOURNAL_STREAM) ? 'journal' : 'plain';
}

function isJournal(stream: NodeJS.WriteStream, journal: string | undefined): boolean {
  if (!journal) return false;
  try {
    const st = fstatSync((stream as { fd?: number }).fd ?? 2, { bigint: true });
    return `${st.dev}:${st.ino}` === journal.trim();
  } catch {
    return false;
  }
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
// exitCode: the message of a failed account's line already ends in "(exit N)".
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'account', 'exitCode']);
/** sd-daemon(3): SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG. */
const PRIORITY: Record<number, number> = { 10: 7, 20: 7, 30: 6, 40: 4, 50: 3, 60: 2 };

function parsed(json: string): Record<string, unknown> | null {
  try {
    return JSON.parse(json) as Record<string, unknown>;
  } catch {
    return null;
  }
}

function body(event: Record<string, unknown>, word = ''): string {
  const who = event.account ? `${String(event.account)}: ` : '';
  const extra = Object.entries(event)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${who}${word}${String(event.msg ?? '')}${extra ? ` ${extra}` : ''}`;
}

/**
 * "pinchmail: jobs: warning: text key=value": what cron mails. Errors carry no level
 * word (the line says what failed), warnings say so. Terminal text, as prettyLine.
 */
export function plainLine(json: string): string {
  const event = parsed(json);
  if (!event) return terminalText(json);
  const level = Number(event.level);
  const word = level === 40 ? 'warning: ' : '';
  return `${terminalText(`pinchmail: ${body(event, word)}`)}\n`;
}

/**
 * "<3>jobs: text key=value": journald takes the priority from the prefix (and shows it as
 * the entry's level) and stamps time and identifier itself. Each line of a message that
 * has several gets the prefix, since journald makes each line an entry.
 */
export function journalLine(json: string): string {
  const event = parsed(json);
  if (!event) return terminalText(json);
  const prefix = `<${PRIORITY[Number(event.level)] ?? 6}>`;
  return `${terminalText(body(event))
    .split('\n')
    .map((l) => `${prefix}${l}`)
    .join('\n')}\n`;
}

/**
 * Turns pino's JSON lines into "12:00:01 WARN  jobs: text key=value" for a person at a
 * terminal. Messages and values carry what servers and delivery commands said, so the
 * whole line is made terminal text: the JSON form escaped their controls, this one
 * must too.
 */
export function prettyLine(json: string): string {
  const event = parsed(json);
  if (!event) return terminalText(json);
  const time = new Date(Number(event.time ?? Date.now())).toTimeString().slice(0, 8);
  const level = (LEVEL_NAMES[Number(event.level)] ?? 'LOG').padEnd(5);
  return `${terminalText(`${time} ${level} ${body(event)}`)}\n`;
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
  const format = logFormat(options.format, stream);
  if (format !== 'json') {
    const line = format === 'text' ? prettyLine : format === 'plain' ? plainLine : journalLine;
    return pino({ level, redact, base: undefined }, { write: (json: string) => void stream.write(line(json)) });
  }
  return pino({ level, redact, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: (stream as { fd?: number }).fd ?? 2, sync: true }));
}
