/**
 * A test-only switch for the crash tests (docs/reliability.md): with
 * PINCHMAIL_TEST_CRASH=<point>[:<n>] in the environment, the process kills itself with
 * SIGKILL the n-th time (default the first) it reaches that point, as a power cut or
 * the OOM killer would stop it. Without the variable every call is one comparison.
 */
export const CRASH_POINTS = [
  /** First-seen times are recorded; nothing fetched yet. */
  'listed',
  /** Part of a message body has been written to its spool or tmp file. */
  'mid-retr',
  /** Maildir: the files of a batch are synced in tmp/ and their final names noted; none renamed into new/ yet. */
  'maildir-noted',
  /** Maildir: the files of a batch are renamed into new/; new/ not yet fsynced. */
  'maildir-renamed',
  /** mbox: its dotlock is in place under its own name; nothing noted or written yet. */
  'mbox-dotlocked',
  /** mbox: locked, and where the message will go is noted; nothing written yet. */
  'mbox-noted',
  /** mbox: part of the message is appended; not all of it, not fsynced. */
  'mbox-mid-write',
  /** The target has the message (command exited 0, Maildir file renamed); not yet marked delivered. */
  'delivered-unrecorded',
  /** Marked delivered. */
  'recorded',
  /** The state database was forced to disk; no DELE sent yet. */
  'durable',
  /** The server acknowledged the DELEs; QUIT not sent. */
  'dele-sent',
  /** QUIT succeeded; the deletions are not recorded yet. */
  'quit-done',
] as const;

export type CrashPoint = (typeof CRASH_POINTS)[number];

const spec = process.env.PINCHMAIL_TEST_CRASH;
const [target, nth] = spec ? spec.split(':') : [];
let reached = 0;

export function crashPoint(point: CrashPoint): void {
  if (point !== target) return;
  if (++reached < Number(nth ?? 1)) return;
  process.kill(process.pid, 'SIGKILL');
}

/** True when a crash switch is set, so the hot path can skip wrapping sinks. */
export const crashSwitchSet = spec !== undefined;
