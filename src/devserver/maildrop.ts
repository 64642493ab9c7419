import type { DevMessage } from './mailstore.js';

/** A message with its number in the session, as LIST, UIDL and STAT count them. */
export interface Numbered {
  m: DevMessage;
  n: number;
}

/**
 * The mailbox as one session sees it: the messages there at login, as Dovecot does, less
 * those DELE marked. The store changes only at QUIT, with `deleted`.
 */
export class Maildrop {
  readonly deleted = new Set<DevMessage>();
  private readonly snapshot: readonly DevMessage[];

  constructor(messages: readonly DevMessage[]) {
    this.snapshot = [...messages];
  }

  live(): Numbered[] {
    return this.snapshot.map((m, i) => ({ m, n: i + 1 })).filter(({ m }) => !this.deleted.has(m));
  }

  /** The message a command's argument numbers, or null when there is none or it is marked. */
  message(arg: string | undefined): DevMessage | null {
    const n = Number(arg);
    const m = Number.isInteger(n) && n >= 1 ? this.snapshot[n - 1] : undefined;
    return m === undefined || this.deleted.has(m) ? null : m;
  }
}
