/**
 * The logging the run needs, as an interface: the CLI provides pino behind it (loaded
 * only when something is actually logged), tests can provide anything.
 */
type LogFn = {
  (msg: string): void;
  (fields: Record<string, unknown>, msg: string): void;
};

export interface Log {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Log;
}
