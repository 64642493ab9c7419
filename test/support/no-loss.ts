import { expect } from 'vitest';

/**
 * The one property everything in docs/reliability.md checks: given the messages sent,
 * what was delivered (each copy's bytes) and what is left on the server,
 * - every delivered copy is a whole message, byte for byte (never truncated or mixed);
 * - every message the server no longer holds was delivered at least once;
 * - when `complete`, every message was delivered at least once;
 * - duplicates are at most `crashes` (one per crash, the message in flight).
 */
export function expectNoLoss(options: {
  sent: ReadonlyMap<string, Buffer>;
  delivered: readonly Buffer[];
  onServer: readonly string[];
  crashes: number;
  complete?: boolean;
}): { duplicates: number } {
  const byContent = new Map<string, string>();
  for (const [id, body] of options.sent) byContent.set(body.toString('latin1'), id);
  const counts = new Map<string, number>();
  for (const copy of options.delivered) {
    const id = byContent.get(copy.toString('latin1'));
    expect(id, `a delivered copy matches no message sent (truncated or changed): ${JSON.stringify(copy.toString('latin1').slice(0, 120))}`).toBeDefined();
    counts.set(id!, (counts.get(id!) ?? 0) + 1);
  }
  const left = new Set(options.onServer);
  for (const id of options.sent.keys()) {
    if (!left.has(id) || options.complete) expect(counts.get(id) ?? 0, `message ${id} was lost`).toBeGreaterThanOrEqual(1);
  }
  const duplicates = options.delivered.length - counts.size;
  expect(duplicates, 'more duplicates than crashes').toBeLessThanOrEqual(options.crashes);
  return { duplicates };
}
