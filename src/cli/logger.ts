import pino, { type Logger } from 'pino';

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
export function levelFor({ quiet, verbose }: Pick<LogOptions, 'quiet' | 'verbose'>): pino.Level {
  if (quiet || verbose <= 0) return 'warn';
  return verbose === 1 ? 'info' : 'trace';
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'account']);

/** Turns pino's JSON lines into "12:00:01 WARN  jobs: text key=value" for a person at a terminal. */
export function prettyLine(json: string): string {
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = new Date(Number(event.time ?? Date.now())).toTimeString().slice(0, 8);
  const level = (LEVEL_NAMES[Number(event.level)] ?? 'LOG').padEnd(5);
  const who = event.account ? `${String(event.account)}: ` : '';
  const extra = Object.entries(event)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${time} ${level} ${who}${String(event.msg ?? '')}${extra ? ` ${extra}` : ''}\n`;
}

export function createLogger(options: LogOptions): Logger {
  const stream = options.stream ?? process.stderr;
  const level = levelFor(options);
  const redact = { paths: ['password', 'secret', 'token', '*.password', '*.secret'], censor: '****' };
  const text = options.format === 'text' || (options.format !== 'json' && stream.isTTY === true);
  if (text) {
    return pino({ level, redact, base: undefined }, { write: (line: string) => void stream.write(prettyLine(line)) });
  }
  return pino({ level, redact, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: (stream as { fd?: number }).fd ?? 2, sync: true }));
}
