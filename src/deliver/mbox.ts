import { createHash } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, ftruncateSync, readSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { read as readCb, write as writeCb } from 'node:fs';
import { crashPoint } from '../util/crash-points.js';
import { DeliveryError, UnsyncedError, fileError } from './errors.js';
import { MboxLockTimeout, lockMbox, type HeldMboxLock } from './mbox-lock.js';
import { MboxrdQuoter, envelopeSender, fromLine } from './mboxrd.js';
import { Headers } from './route/headers.js';
import { MAX_HEADER_BYTES } from './route/header-limit.js';
import type { SpoolFile } from './spool.js';
import type { DeliveryJournal } from './target.js';

const read = promisify(readCb);
const write = promisify(writeCb);
const CHUNK = 256 * 1024;
const LF = 0x0a;
/** How another message would begin after ours: the quoted body never holds it. */
const NEXT_MESSAGE = Buffer.from('\nFrom ', 'latin1');

/**
 * What a delivery notes before it writes (the journal's intent, as JSON): where in the
 * file it starts, what it writes first to separate it from the message before, and the
 * length and SHA-256 of the message as written ("From " line, quoted body, empty line).
 * After a crash, recover() tells from these whether the message is there whole, or in
 * part at the end (then it is cut off), without having the message.
 */
interface MboxNote {
  file: string;
  at: number;
  separator: number;
  length: number;
  sha256: string;
  from: string;
}

/**
 * An mbox in the mboxrd format (mboxrd.ts), appended to under the locks other mail
 * programs honour (mbox-lock.ts). A message is durable once the file is fsynced; a
 * failure part way truncates the file back to where it was, and a crash part way is
 * cut back by the next run's recover(), so a half message is never left for good.
 */
export class Mbox {
  constructor(
    readonly file: string,
    private readonly timeoutMs: number,
    private readonly kill?: AbortSignal,
  ) {}

  /** Appends the spooled message, durably; `now` is the run's time, for the "From " line. */
  async deliver(copy: SpoolFile, now: number, journal: DeliveryJournal): Promise<void> {
    const sender = envelopeSender(Headers.parse(copy.head(MAX_HEADER_BYTES)).all('return-path')[0]);
    const from = fromLine(sender, now);
    const measured = await measure(copy, from);
    const lock = await this.lock();
    try {
      const at = fstatSync(lock.fd).size;
      const separator = separatorAfter(lock.fd, at);
      const note: MboxNote = { file: this.file, at, separator: separator.length, length: measured.length, sha256: measured.sha256, from: from.toString('latin1') };
      journal.intend(JSON.stringify(note));
      crashPoint('mbox-noted');
      await this.append(lock, copy, [separator, from], at);
    } finally {
      lock.release();
    }
  }

  /**
   * After a crash, for what a delivery noted: is the message there whole (then it is
   * made durable and counts as delivered), or cut off at the end of the file (then
   * that part is removed)? A file changed since in other ways (a reader rewrote it)
   * is left as it is, and the message is delivered again.
   */
  static async recover(intent: string, timeoutMs: number): Promise<'done' | 'undone'> {
    const note = JSON.parse(intent) as MboxNote;
    let lock: HeldMboxLock;
    try {
      lock = await lockMbox(note.file, timeoutMs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'undone';
      throw lockFailure(err, note.file, 'a note an earlier run left cannot be settled');
    }
    try {
      const size = fstatSync(lock.fd).size;
      const start = note.at + note.separator;
      if (size >= start + note.length && sha256Of(lock.fd, start, note.length) === note.sha256) {
        fsyncSync(lock.fd);
        return 'done';
      }
      if (size > note.at && size < start + note.length && isOurTail(lock.fd, note, size)) {
        ftruncateSync(lock.fd, note.at);
        fsyncSync(lock.fd);
      }
      return 'undone';
    } finally {
      lock.release();
    }
  }

  private async lock(): Promise<HeldMboxLock> {
    try {
      return await lockMbox(this.file, this.timeoutMs, this.kill);
    } catch (err) {
      throw lockFailure(err, this.file, 'the message stays on the server for the next run');
    }
  }

  private async append(lock: HeldMboxLock, copy: SpoolFile, head: Buffer[], at: number): Promise<void> {
    try {
      for (const piece of head) await writeAll(lock.fd, piece);
      let first = true;
      for await (const piece of quoted(copy)) {
        await writeAll(lock.fd, piece);
        if (first) crashPoint('mbox-mid-write');
        first = false;
      }
      await writeAll(lock.fd, Buffer.of(LF));
      fsyncSync(lock.fd);
    } catch (err) {
      const failure = fileError(err, `mbox ${this.file}`);
      try {
        ftruncateSync(lock.fd, at);
        fsyncSync(lock.fd);
      } catch {
        // The part written stays until the next run's recover() cuts it off: its note must stay.
        throw new UnsyncedError(`${failure.message}; what was written of the message could not be removed yet`, { cause: err });
      }
      throw failure;
    }
  }
}

function lockFailure(err: unknown, file: string, consequence: string): DeliveryError {
  if (err instanceof MboxLockTimeout) return new DeliveryError(`mbox ${file}: ${err.message}; ${consequence}`);
  // Never made: a typo in the path must not hide mail in a directory nobody reads.
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
    return new DeliveryError(`mbox ${file}: its directory ${path.dirname(file)} does not exist; pinchmail creates the mbox, never its directory`, { cause: err, permanence: 'unusable' });
  }
  return fileError(err, `mbox ${file}`);
}

/** The message as it will be written: the quoted copy, then the empty line that ends it. */
async function* quoted(copy: SpoolFile): AsyncGenerator<Buffer> {
  const quoter = new MboxrdQuoter();
  const fd = copy.openForReading();
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await read(fd, buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      // Copied: the buffer is reused for the next read while these pieces may still be written.
      yield* quoter.push(Buffer.from(buffer.subarray(0, bytesRead)));
    }
    yield* quoter.end();
  } finally {
    closeSync(fd);
  }
}

/** Length and SHA-256 of what will be written for the message: its "From " line, the quoted copy, the empty line. */
async function measure(copy: SpoolFile, from: Buffer): Promise<{ length: number; sha256: string }> {
  const hash = createHash('sha256').update(from);
  let length = from.length;
  for await (const piece of quoted(copy)) {
    hash.update(piece);
    length += piece.length;
  }
  hash.update(Buffer.of(LF));
  return { length: length + 1, sha256: hash.digest('hex') };
}

/** What must come first so the "From " line starts a line after an empty one: nothing at the start of a file or after "\n\n". */
function separatorAfter(fd: number, size: number): Buffer {
  if (size === 0) return Buffer.alloc(0);
  const tail = Buffer.alloc(Math.min(2, size));
  readSync(fd, tail, 0, tail.length, size - tail.length);
  if (tail.length === 2 && tail[0] === LF && tail[1] === LF) return Buffer.alloc(0);
  return tail[tail.length - 1] === LF ? Buffer.of(LF) : Buffer.of(LF, LF);
}

async function writeAll(fd: number, data: Buffer): Promise<void> {
  let at = 0;
  while (at < data.length) at += (await write(fd, data, at, data.length - at)).bytesWritten;
}

function sha256Of(fd: number, start: number, length: number): string {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(CHUNK);
  for (let done = 0; done < length; ) {
    const n = readSync(fd, buffer, 0, Math.min(CHUNK, length - done), start + done);
    if (n === 0) break;
    hash.update(buffer.subarray(0, n));
    done += n;
  }
  return hash.digest('hex');
}

/**
 * Is everything from `note.at` to the end of the file the start of the noted message,
 * and nothing else? It is if it begins with the noted separator and "From " line and
 * no other message starts after them: the quoted body holds no line that begins "From ".
 */
function isOurTail(fd: number, note: MboxNote, size: number): boolean {
  const expected = Buffer.concat([Buffer.alloc(note.separator, LF), Buffer.from(note.from, 'latin1')]);
  const head = Buffer.alloc(Math.min(expected.length, size - note.at));
  if (readSync(fd, head, 0, head.length, note.at) !== head.length) return false;
  // Cut off within the separator or the "From " line: what is there must be their start.
  if (!head.equals(expected.subarray(0, head.length))) return false;
  // Read in chunks, each searched with the last bytes of the one before it (at first, the
  // "From " line's LF), so a "\nFrom " across two chunks is found too.
  const buffer = Buffer.allocUnsafe(CHUNK);
  let carry = Buffer.of(LF);
  for (let at = note.at + head.length; at < size; ) {
    const n = readSync(fd, buffer, 0, Math.min(CHUNK, size - at), at);
    if (n === 0) break;
    const window = Buffer.concat([carry, buffer.subarray(0, n)]);
    if (window.includes(NEXT_MESSAGE)) return false;
    carry = Buffer.from(window.subarray(Math.max(0, window.length - (NEXT_MESSAGE.length - 1))));
    at += n;
  }
  return true;
}
