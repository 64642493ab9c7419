import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UnsyncedError } from '../../../src/deliver/errors.js';
import { Maildir, placeDurably } from '../../../src/deliver/maildir.js';
import { describeIf } from '../../support/dovecot-suite.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-maildir-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('placeDurably', () => {
  it('notes every file before any rename, and each lands in new/', async () => {
    const maildir = new Maildir(path.join(dir, 'a'), 'aaaaaaaa');
    const messages = [maildir.begin(), maildir.begin()];
    for (const [i, m] of messages.entries()) await m.write(Buffer.from(`Subject: ${i}\n\nbody\n`));
    let seenInNew = -1;
    const outcomes = await placeDurably(messages, async (placements) => {
      seenInNew = readdirSync(path.join(maildir.dir, 'new')).length;
      expect(placements.map((p) => p.file)).toEqual(messages.map((m) => m.target));
    });
    expect(seenInNew).toBe(0);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(readdirSync(path.join(maildir.dir, 'new'))).toHaveLength(2);
  });

  it('a rename whose fsync of new/ fails is not delivered, but its note must stay: the file is there, and recover() finds it', async () => {
    const maildir = new Maildir(path.join(dir, 'b'), 'bbbbbbbb');
    maildir.syncNew = async () => {
      throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    };
    const message = maildir.begin();
    await message.write(Buffer.from('Subject: x\n\nbody\n'));
    const [outcome] = await placeDurably([message], async () => {});
    expect(outcome!.status).toBe('rejected');
    expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(UnsyncedError);
    expect(existsSync(message.target)).toBe(true);
    expect(Maildir.recover(message.target)).toBe('done');
  });
});

describe('sweepTmp', () => {
  it("removes this mailbox's leftovers at once, pinchmail's others after 36 hours, and never another program's files", () => {
    const maildir = new Maildir(path.join(dir, 'c'), 'cccccccc');
    const other = new Maildir(maildir.dir, 'dddddddd');
    const mine = maildir.begin();
    const theirs = other.begin();
    const oldTheirs = other.begin();
    const tmp = path.join(maildir.dir, 'tmp');
    writeFileSync(path.join(tmp, '1700000000.M1P1Q1.otherhost'), 'procmail');
    return Promise.all([mine.write(Buffer.from('a')), theirs.write(Buffer.from('b')), oldTheirs.write(Buffer.from('c'))]).then(() => {
      const now = Date.now();
      const old = (now - 37 * 3_600_000) / 1000;
      utimesSync(path.join(tmp, oldTheirs.name), old, old);
      expect(maildir.sweepTmp(now)).toBe(2);
      expect(readdirSync(tmp).sort()).toEqual(['1700000000.M1P1Q1.otherhost', theirs.name].sort());
      // Their files are closed too, not left for the garbage collector.
      return Promise.all([mine, theirs, oldTheirs].map((m) => m.abort()));
    });
  });
});

const noProc = existsSync('/proc/self/fd') ? null : 'there is no /proc/self/fd here, so directories cannot be held open (a Maildir others can write is refused instead)';

describeIf('a Maildir whose tmp/ and new/ are swapped for symlinks after it was checked', 'tests', noProc, () => {
  it('writes and renames into the directories it checked, never through the symlinks put in their place', async () => {
    const maildir = new Maildir(path.join(dir, 'e'), 'eeeeeeee');
    const first = maildir.begin();
    await first.write(Buffer.from('Subject: first\n\nbody\n'));
    // Whoever can write the Maildir itself (a group that shares it) swaps both, mid-run.
    const elsewhere = mkdtempSync(path.join(dir, 'elsewhere-'));
    for (const sub of ['tmp', 'new']) {
      renameSync(path.join(maildir.dir, sub), path.join(maildir.dir, `${sub}.checked`));
      symlinkSync(elsewhere, path.join(maildir.dir, sub));
    }
    const second = maildir.begin();
    await second.write(Buffer.from('Subject: second\n\nbody\n'));

    const outcomes = await placeDurably([first, second], async () => {});
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(readdirSync(path.join(maildir.dir, 'new.checked')).sort()).toEqual([first.name, second.name].sort());
    expect(readdirSync(path.join(maildir.dir, 'tmp.checked'))).toEqual([]);
    maildir.close();
  });
});

describe('recover() after a crash', () => {
  it('finds a file that landed in new/ also when tmp/ or cur/ is gone (a reader may remove them)', async () => {
    for (const gone of ['tmp', 'cur']) {
      const maildir = new Maildir(path.join(dir, `r-${gone}`), 'ffffffff');
      const message = maildir.begin();
      await message.write(Buffer.from('Subject: x\n\nbody\n'));
      await placeDurably([message], async () => {});
      maildir.close();
      rmSync(path.join(maildir.dir, gone), { recursive: true });
      expect(Maildir.recover(message.target), gone).toBe('done');
    }
  });
});

describe('errors', () => {
  it('name the Maildir’s directories as the operator knows them, never by descriptor', async () => {
    const maildir = new Maildir(path.join(dir, 'errs'), 'abababab');
    const message = maildir.begin();
    await message.write(Buffer.from('Subject: x\n\nbody\n'));
    // A directory where the file is to land: the rename fails (EISDIR), with a code the error table does not word.
    mkdirSync(path.join(maildir.dir, 'new', message.name));
    const [outcome] = await placeDurably([message], async () => {});
    const reason = String((outcome as PromiseRejectedResult).reason.message);
    expect(reason).toContain(path.join(maildir.dir, 'tmp', message.name));
    expect(reason).not.toContain('/proc/');
    maildir.close();
  });
});
