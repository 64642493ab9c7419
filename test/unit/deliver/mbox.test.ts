import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, constants, existsSync, symlinkSync, writeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DeliveryError } from '../../../src/deliver/errors.js';
import { Mbox } from '../../../src/deliver/mbox.js';
import { SpoolFile } from '../../../src/deliver/spool.js';
import { readMbox } from '../../support/mbox.js';
import { until } from '../../support/until.js';
import { describeAsRoot } from '../../support/dovecot-suite.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-mbox-'));
const copies: SpoolFile[] = [];
afterAll(() => {
  for (const copy of copies) copy.discard();
  rmSync(dir, { recursive: true, force: true });
});
let seq = 0;
const NOW = Date.UTC(2026, 11, 2, 14, 6, 3);

function spooled(content: string | Buffer): SpoolFile {
  const file = path.join(dir, `spool-${++seq}.eml`);
  const copy = new SpoolFile(file, openSync(file, constants.O_CREAT | constants.O_RDWR | constants.O_EXCL, 0o600));
  copy.write(Buffer.isBuffer(content) ? content : Buffer.from(content, 'latin1'));
  copies.push(copy);
  return copy;
}

/** A journal that keeps what was noted. */
function journal(): { notes: string[]; intend(intent: string): Promise<void> } {
  const notes: string[] = [];
  return { notes, intend: async (intent) => void notes.push(intent) };
}

const mboxFile = (): string => path.join(dir, `mbox-${++seq}`);

describe('the mbox target', () => {
  it('appends each message with a From line, quoted, and it reads back byte for byte', async () => {
    const file = mboxFile();
    const mbox = new Mbox(file, 5_000);
    const one = 'Return-Path: <jobs@example.org>\nSubject: one\n\nFrom the start\n>From quoted\nend\n';
    const two = 'Subject: two\n\n\xff\xfe 8-bit\n';
    await mbox.deliver(spooled(one), NOW, journal());
    await mbox.deliver(spooled(two), NOW, journal());
    expect(readMbox(file)).toEqual([
      { fromLine: 'From jobs@example.org Wed Dec  2 14:06:03 2026', message: Buffer.from(one, 'latin1') },
      { fromLine: 'From MAILER-DAEMON Wed Dec  2 14:06:03 2026', message: Buffer.from(two, 'latin1') },
    ]);
    expect(readFileSync(file, 'latin1')).toContain('\n>From the start\n>>From quoted\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(() => statSync(`${file}.lock`)).toThrow();
  });

  it('a message of more lines than one writev takes (and a quoted From line in every chunk) reads back byte for byte', async () => {
    // Each chunk of the copy is written as its lines, a thousand and more at a time: past
    // Linux's IOV_MAX (1024) the kernel takes only part, and the rest must follow in order.
    const file = mboxFile();
    const lines = Array.from({ length: 60_000 }, (_, i) => (i % 997 === 0 ? `From line ${i}\n` : i % 3 ? `${i}\n` : '\n'));
    const message = Buffer.from(`Subject: many lines\n\n${lines.join('')}`, 'latin1');
    await new Mbox(file, 5_000).deliver(spooled(message), NOW, journal());
    expect(readMbox(file)).toEqual([{ fromLine: 'From MAILER-DAEMON Wed Dec  2 14:06:03 2026', message }]);
  });

  it('starts a message after an empty line, whatever the file ended with', async () => {
    const file = mboxFile();
    writeFileSync(file, 'From x Thu Jan  1 00:00:00 1970\nSubject: old\n\nno final newline');
    await new Mbox(file, 5_000).deliver(spooled('Subject: new\n\nbody\n'), NOW, journal());
    expect(readMbox(file).map((m) => m.message.toString())).toEqual(['Subject: old\n\nno final newline\n', 'Subject: new\n\nbody\n']);
  });

  it('notes where the message goes before it writes anything', async () => {
    const file = mboxFile();
    writeFileSync(file, '');
    const noted = journal();
    let sizeWhenNoted = -1;
    await new Mbox(file, 5_000).deliver(spooled('Subject: a\n\nb\n'), NOW, {
      intend: async (intent) => {
        sizeWhenNoted = statSync(file).size;
        await noted.intend(intent);
      },
    });
    expect(sizeWhenNoted).toBe(0);
    expect(JSON.parse(noted.notes[0]!)).toMatchObject({ file, at: 0, separator: 0, length: statSync(file).size });
  });

  it('waits for a dotlock another program holds, and gives up after its timeout with a temporary failure', async () => {
    const file = mboxFile();
    writeFileSync(`${file}.lock`, '1234\n');
    const failure = await new Mbox(file, 300).deliver(spooled('Subject: a\n\nb\n'), NOW, journal()).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(DeliveryError);
    expect((failure as DeliveryError).permanence).toBe('temporary');
    expect((failure as Error).message).toBe(`mbox ${file}: ${file}.lock is held by another program; the message stays on the server for the next run`);
    expect(readFileSync(`${file}.lock`, 'utf8')).toBe('1234\n');
  });

  it('removes a dotlock left unchanged for 5 minutes, as stale', async () => {
    const file = mboxFile();
    writeFileSync(`${file}.lock`, '');
    const old = (Date.now() - 6 * 60_000) / 1000;
    utimesSync(`${file}.lock`, old, old);
    await new Mbox(file, 5_000).deliver(spooled('Subject: a\n\nb\n'), NOW, journal());
    expect(readMbox(file)).toHaveLength(1);
  });

  it('waits while another process holds an fcntl lock on the mbox, and appends once it lets go', async () => {
    const file = mboxFile();
    writeFileSync(file, '');
    const release = path.join(dir, `release-${seq}`);
    // Python's fcntl.lockf takes the same POSIX lock Dovecot and mutt take.
    const holder = spawn('python3', ['-c', `import fcntl,os,sys,time
f=open(sys.argv[1],'a'); fcntl.lockf(f, fcntl.LOCK_EX); print('locked', flush=True)
while not os.path.exists(sys.argv[2]): time.sleep(0.02)`, file, release]);
    await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
    let done = false;
    const delivery = new Mbox(file, 10_000).deliver(spooled('Subject: a\n\nb\n'), NOW, journal()).then(() => (done = true));
    // It has its dotlock and waits for the fcntl lock, writing nothing meanwhile.
    await until(() => existsSync(`${file}.lock`), 5_000, 'the dotlock');
    expect(done).toBe(false);
    expect(statSync(file).size).toBe(0);
    writeFileSync(release, '');
    await delivery;
    expect(readMbox(file)).toHaveLength(1);
  });
});

describe('Mbox.recover', () => {
  async function deliveredWithNote(content: string): Promise<{ file: string; note: string }> {
    const file = mboxFile();
    writeFileSync(file, 'From x Thu Jan  1 00:00:00 1970\nSubject: before\n\nkept\n\n');
    const noted = journal();
    await new Mbox(file, 5_000).deliver(spooled(content), NOW, noted);
    return { file, note: noted.notes[0]! };
  }

  it('finds a message written whole: done, nothing changed', async () => {
    const { file, note } = await deliveredWithNote('Subject: whole\n\nbody\n');
    const before = readFileSync(file);
    expect(await Mbox.recover(note, 1_000)).toBe('done');
    expect(readFileSync(file)).toEqual(before);
  });

  it('cuts off a message a crash left half written at the end: undone, the file as it was before', async () => {
    const { file, note } = await deliveredWithNote(`Subject: half\n\n${'a line\n'.repeat(100)}`);
    const start = JSON.parse(note).at as number;
    truncateSync(file, statSync(file).size - 300);
    expect(await Mbox.recover(note, 1_000)).toBe('undone');
    expect(statSync(file).size).toBe(start);
    expect(readMbox(file).map((m) => m.message.toString())).toEqual(['Subject: before\n\nkept\n']);
  });

  it('leaves a half message alone when another program appended its "From " line straight after it, with no newline first', async () => {
    const { file, note } = await deliveredWithNote(`Subject: half\n\n${'a line\n'.repeat(100)}`);
    truncateSync(file, statSync(file).size - 301);
    appendFileSync(file, 'From other Thu Jan  1 00:00:00 1970\nSubject: theirs\n\nbody\n\n');
    const before = readFileSync(file);
    const warnings: string[] = [];
    expect(await Mbox.recover(note, 1_000, (w) => warnings.push(w))).toBe('undone');
    expect(readFileSync(file)).toEqual(before);
    expect(warnings).toEqual([expect.stringMatching(/may have left part of it there; the file has changed since/)]);
  });

  it('checks a long cut-off message block by block: a change inside it means it is not ours to cut', async () => {
    const { file, note } = await deliveredWithNote(`Subject: long\n\n${'a line of a long message\n'.repeat(20_000)}`);
    const at = (JSON.parse(note) as { at: number }).at;
    truncateSync(file, statSync(file).size - 1000);
    const fd = openSync(file, 'r+');
    writeSync(fd, 'X', at + 100_000);
    closeSync(fd);
    const before = readFileSync(file);
    expect(await Mbox.recover(note, 1_000)).toBe('undone');
    expect(readFileSync(file)).toEqual(before);
    // The same cut without the change is ours, and goes.
    const again = await deliveredWithNote(`Subject: long\n\n${'a line of a long message\n'.repeat(20_000)}`);
    truncateSync(again.file, statSync(again.file).size - 1000);
    expect(await Mbox.recover(again.note, 1_000)).toBe('undone');
    expect(readMbox(again.file).map((m) => m.message.toString())).toEqual(['Subject: before\n\nkept\n']);
  });

  it('does not make again an mbox deleted since the note', async () => {
    const { file, note } = await deliveredWithNote('Subject: x\n\ny\n');
    rmSync(file);
    expect(await Mbox.recover(note, 1_000)).toBe('undone');
    expect(existsSync(file)).toBe(false);
  });

  it('leaves a half message alone when another message was appended after it, rather than cut into that one', async () => {
    const { file, note } = await deliveredWithNote(`Subject: half\n\n${'a line\n'.repeat(100)}`);
    truncateSync(file, statSync(file).size - 300);
    appendFileSync(file, '\n\nFrom other Thu Jan  1 00:00:00 1970\nSubject: theirs\n\nbody\n\n');
    const before = readFileSync(file);
    expect(await Mbox.recover(note, 1_000)).toBe('undone');
    expect(readFileSync(file)).toEqual(before);
  });

  it('says undone for a note whose mbox is gone', async () => {
    const { file, note } = await deliveredWithNote('Subject: x\n\ny\n');
    rmSync(file);
    expect(await Mbox.recover(note, 1_000)).toBe('undone');
  });
});

describe('Mbox, more', () => {
  it('an mbox whose directory does not exist fails every message as unusable (exit 78), naming the directory', async () => {
    const file = path.join(dir, 'no-such-dir', 'mbox');
    const failure = await new Mbox(file, 1_000).deliver(spooled('Subject: a\n\nb\n'), NOW, journal()).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(DeliveryError);
    expect((failure as DeliveryError).permanence).toBe('unusable');
    expect((failure as Error).message).toBe(`mbox ${file}: its directory ${path.dirname(file)} does not exist; pinchmail creates the mbox, never its directory`);
  });

  it('recover cuts off a message killed within its From line', async () => {
    const file = mboxFile();
    writeFileSync(file, 'From x Thu Jan  1 00:00:00 1970\nSubject: before\n\nkept\n');
    const noted = journal();
    await new Mbox(file, 5_000).deliver(spooled('Subject: b\n\nc\n'), NOW, noted);
    const { at } = JSON.parse(noted.notes[0]!) as { at: number };
    truncateSync(file, at + 8);
    expect(await Mbox.recover(noted.notes[0]!, 1_000)).toBe('undone');
    expect(statSync(file).size).toBe(at);
  });
});

describeAsRoot('Mbox where no dotlock can be made', () => {
  const mounts: string[] = [];
  afterEach(() => {
    for (const m of mounts.splice(0)) execFileSync('umount', ['-l', m]);
  });
  const big = (tag: string): string => `Subject: ${tag}\n\n${`${tag} `.repeat(400_000)}\n`;

  /** An mbox, and a symlink to it in a read-only directory: no FILE.lock can be made beside the link. */
  function linkFromReadOnlyDir(): { real: string; link: string } {
    const ro = mkdtempSync(path.join(os.tmpdir(), 'pm-mbox-ro-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', ro]);
    mounts.push(ro);
    const real = mboxFile();
    writeFileSync(real, '');
    symlinkSync(real, path.join(ro, 'mbox'));
    execFileSync('mount', ['-o', 'remount,ro', ro]);
    return { real, link: path.join(ro, 'mbox') };
  }

  it('two deliveries of this process to one mbox at once take turns: fcntl locks alone would let both in', async () => {
    const { real, link } = linkFromReadOnlyDir();
    const mbox = new Mbox(link, 10_000);
    await Promise.all([mbox.deliver(spooled(big('one')), NOW, journal()), mbox.deliver(spooled(big('two')), NOW, journal())]);
    // Whole, one after the other; which goes first is the lock's to decide.
    expect(readMbox(real).map((m) => m.message.toString()).sort()).toEqual([big('one'), big('two')]);
  });

  it('two accounts naming one mbox two ways (a symlink and the file) still take turns', async () => {
    const { real, link } = linkFromReadOnlyDir();
    // Only the second can make a dotlock (its directory is writable): the two dotlocks would differ.
    const viaLink = new Mbox(link, 10_000);
    const direct = new Mbox(real, 10_000);
    await Promise.all([viaLink.deliver(spooled(big('one')), NOW, journal()), direct.deliver(spooled(big('two')), NOW, journal())]);
    expect(readMbox(real).map((m) => m.message.toString()).sort()).toEqual([big('one'), big('two')]);
  });
});
