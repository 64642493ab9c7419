import { existsSync, readdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import type { Log } from '../log.js';
import { fsyncPath } from '../deliver/maildir.js';
import type { StateStore } from '../state/store.js';

/**
 * Finishes what a run that died left half done. A message written straight into a
 * Maildir is noted (`placed`) before its file is renamed into new/, and marked
 * delivered only after a batch of renames has been made durable. If the run died in
 * between, the note is still there: when the file is in new/ (or already moved to
 * cur/ by a reader), the delivery happened, and it is marked now instead of being
 * repeated; otherwise the note is dropped and the message is fetched again.
 * Returns how many deliveries were recovered.
 */
export function recoverPlaced(store: StateStore, mailbox: string, now: number, log: Log): number {
  const rows = store.placedUnmarked(mailbox);
  let recovered = 0;
  const curNames = new Map<string, string[]>();
  for (const { uidl, file } of rows) {
    const newDir = path.dirname(file);
    const maildir = path.dirname(newDir);
    const name = path.basename(file);
    const cur = path.join(maildir, 'cur');
    if (!curNames.has(cur)) curNames.set(cur, existsSync(cur) ? readdirSync(cur) : []);
    const inNew = existsSync(file);
    const inCur = !inNew && curNames.get(cur)!.some((n) => n === name || n.startsWith(`${name}:`));
    if (inNew || inCur) {
      // The rename may not have reached the disk yet; it must before the mark does.
      fsyncPath(inNew ? newDir : cur);
      store.markDelivered(mailbox, uidl, now);
      recovered++;
      log.info({ uidl, file }, `message ${uidl} was delivered by a run that stopped before recording it; recorded now, not delivered again`);
    } else {
      store.markPlaced(mailbox, uidl, null);
      try {
        unlinkSync(path.join(maildir, 'tmp', name));
      } catch {
        // Never written, or already gone.
      }
    }
  }
  return recovered;
}
