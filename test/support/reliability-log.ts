import { appendFileSync } from 'node:fs';

/**
 * Outcome rows for docs/reliability.md. Tests call this; when
 * PINCHMAIL_RELIABILITY_REPORT names a file (npm run reliability sets it), each
 * outcome is appended as a JSON line, so the table is written from real runs.
 */
export interface Outcome {
  group: string;
  fault: string;
  /** How the fault is produced. */
  how: string;
  lost: number;
  duplicates: number;
  /** Exit status of the run that met the fault ("SIGKILL" for crashes). */
  exit: string;
  /** The test file that reruns it. */
  test: string;
  note?: string;
  /** How long the run took (hostile servers: bounded time). */
  seconds?: number;
  /** Peak resident memory of the pinchmail process (hostile servers: bounded memory). */
  peakMiB?: number;
}

export function recordOutcome(outcome: Outcome): void {
  const file = process.env.PINCHMAIL_RELIABILITY_REPORT;
  if (file) appendFileSync(file, `${JSON.stringify(outcome)}\n`);
}
