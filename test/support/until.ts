/**
 * Waits until `condition` holds, checking every few milliseconds, and fails after
 * `timeoutMs`: the way tests wait for something to happen, instead of sleeping a fixed
 * time and hoping.
 */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what = 'the condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
