import type { Log } from '../log.js';
import { recoverIntent, type Targets } from '../deliver/target.js';
import type { StateStore } from '../state/store.js';

/**
 * Finishes what a run that died left half done. Before a target acts it notes what it
 * is about to do (a Maildir file about to be renamed into new/, where in an mbox a message goes), and the note stays
 * until the delivery is marked. For each note left over, the target says whether it
 * was done: then it is recorded now instead of being repeated (the whole message, when
 * that target was its only one); otherwise the note is dropped and the message is
 * fetched again. Returns how many deliveries were recovered.
 */
export async function recoverIntents(store: StateStore, mailbox: string, now: number, log: Log): Promise<number> {
  let recovered = 0;
  for (const note of await store.openIntents(mailbox)) {
    if ((await recoverIntent(note.target, note.intent, (message) => log.warn({ uidl: note.uidl }, message))) === 'undone') {
      await store.dropIntent(mailbox, note.uidl, note.target);
      continue;
    }
    if (note.sole || note.target === null) await store.markDelivered(mailbox, { uidl: note.uidl, fingerprint: null }, now);
    else await store.markTargetDone(mailbox, note.uidl, note.target, now);
    recovered++;
    log.info({ uidl: note.uidl, file: note.intent }, `message ${note.uidl} was delivered by a run that stopped before recording it; recorded now, not delivered again`);
  }
  return recovered;
}

/** Removes the files killed runs of this mailbox left in its Maildirs' tmp/ (see Maildir.sweepTmp). */
export function sweepMaildirs(targets: Targets, dirs: readonly string[], now: number, log: Log): void {
  for (const dir of dirs) {
    const removed = targets.maildir(dir).sweepTmp(now);
    if (removed > 0) log.info({ maildir: dir, removed }, `removed ${removed} file${removed === 1 ? '' : 's'} a stopped run left in ${dir}/tmp`);
  }
}
