/** Options every command takes. */
export interface CommonOptions {
  /** Config file (already defaulted from $PINCHMAIL_CONFIG or XDG). */
  config: string;
  /** -a NAME, repeatable; empty means every enabled account. */
  account: string[];
  json: boolean;
}

export interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}
