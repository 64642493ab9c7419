/**
 * The run's one clock reading. PINCHMAIL_TEST_NOW (an ISO time or ms since the epoch)
 * replaces it, so that tests can run hosts at chosen times instead of sleeping; it is
 * inert unless set.
 */
export function readClock(): number {
  const fixed = process.env.PINCHMAIL_TEST_NOW;
  if (fixed === undefined || fixed === '') return Date.now();
  const ms = /^\d+$/.test(fixed) ? Number(fixed) : Date.parse(fixed);
  if (!Number.isFinite(ms)) throw new Error(`PINCHMAIL_TEST_NOW is not a time: ${fixed}`);
  return ms;
}
