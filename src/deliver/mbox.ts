import { createHash } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, ftruncateSync, readSync, writevSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { read as readCb } from 'node:fs';
import { crashPoint } from '../util/crash-points.js';
import { DeliveryError, UnsyncedError, fileError } from './errors.js';
import { DOTLOCK_TOUCH_MS, MboxLockTimeout, lockMbox, type HeldMboxLock } from './mbox-lock.js';
import { MboxrdQuoter, envelopeSender, fromLine } from './mboxrd.js';
import { Headers } from './route/headers.js';
import { MAX_HEADER_BYTES } from './route/header-limit.js';
import type { SpoolFile } from './spool.js';
import type { DeliveryJournal } from './target.js';

const read = promisify(readCb);
const CHUNK = 256 * 1024;
const LF = 0x0a;
/** How another message would begin after ours: the quoted body never holds it. */
const FROM_ = Buffer.from('From ', 'latin1');
/** The message as written is noted as at most this many blocks' hashes, each of at least MIN_BLOCK bytes. */
const MAX_BLOCKS = 32;
const MIN_BLOCK = 64 * 1024;

/**
 * What a delivery notes before it writes (the journal's intent, as JSON): where in the
 * file it starts, what it writes first to separate it from the message before, and the
 * length and SHA-256 of the message as written ("From " line, quoted body, empty line),
 * with the hashes of its blocks. After a crash, recover() tells from these whether the
 * message is there whole, or only its start at the end of the file (then it is cut off),
 * without having the message.
 */
interface MboxNote {
  file: string;
  at: number;
  separator: number;
  length: number;
  sha256: string;
  from: string;
  /** The size of a block, and the first 32 hex digits of the SHA-256 of each whole one. */
  block: number;
  blocks: string[];
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
      const note: MboxNote = { file: this.file, at, separator: separator.length, from: from.toString('latin1'), ...measured };
      await journal.intend(JSON.stringify(note));
      crashPoint('mbox-noted');
      await this.append(lock, copy, [separator, from], at);
    } finally {
      lock.release();
    }
  }

  /**
   * After a crash, for what a delivery noted: is the message there whole (then it is
   * made durable and counts as delivered), or cut off at the end of the file (then
   * that part is removed)? A file changed since in other ways (a reader rewrote it,
   * another program appended after the part) is left as it is, `warn` says so when a
   * part of the message may still be in it, and the message is delivered again.
   */
  static async recover(intent: string, timeoutMs: number, warn: (message: string) => void = () => {}): Promise<'done' | 'undone'> {
    const note = JSON.parse(intent) as MboxNote;
    let lock: HeldMboxLock;
    try {
      // A file deleted since is not made again: there is nothing in it to settle.
      lock = await lockMbox(note.file, timeoutMs, { create: false });
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
      } else if (size > note.at) {
        warn(
          `mbox ${note.file}: a run that stopped while appending a message at byte ${note.at} may have left part of it there; ` +
            'the file has changed since (another program wrote to it), so it is left as it is, and the message is delivered again',
        );
      }
      return 'undone';
    } finally {
      lock.release();
    }
  }

  private async lock(): Promise<HeldMboxLock> {
    try {
      return await lockMbox(this.file, this.timeoutMs, { create: true, signal: this.kill });
    } catch (err) {
      throw lockFailure(err, this.file, 'the message stays on the server for the next run');
    }
  }

  private async append(lock: HeldMboxLock, copy: SpoolFile, head: Buffer[], at: number): Promise<void> {
    try {
      writeAll(lock.fd, head);
      let first = true;
      let touched = Date.now();
      for await (const pieces of quoted(copy)) {
        writeAll(lock.fd, pieces);
        if (first) crashPoint('mbox-mid-write');
        first = false;
        if (Date.now() - touched > DOTLOCK_TOUCH_MS) {
          lock.touch();
          touched = Date.now();
        }
      }
      writeAll(lock.fd, [Buffer.of(LF)]);
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

/**
 * The message as it will be written: the quoted copy, then the empty line that ends it,
 * as the pieces of each chunk of the spooled copy (mostly one per line).
 */
async function* quoted(copy: SpoolFile): AsyncGenerator<Buffer[]> {
  const quoter = new MboxrdQuoter();
  const fd = copy.openForReading();
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await read(fd, buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      // Copied: the pieces are slices of it, and the buffer is reused by the next read.
      yield quoter.push(Buffer.from(buffer.subarray(0, bytesRead)));
    }
    yield quoter.end();
  } finally {
    closeSync(fd);
  }
}

/**
 * Length and SHA-256 of what will be written for the message (its "From " line, the
 * quoted copy, the empty line), and the hashes of its blocks: the block size is chosen
 * from the spooled size, which the quoting can only make larger, so there are at most
 * MAX_BLOCKS of them or a few more.
 */
async function measure(copy: SpoolFile, from: Buffer): Promise<{ length: number; sha256: string; block: number; blocks: string[] }> {
  const block = Math.max(MIN_BLOCK, Math.ceil((copy.size + from.length + 1) / MAX_BLOCKS));
  const whole = createHash('sha256');
  const blocks = new BlockHashes(block);
  let length = 0;
  const add = (piece: Buffer): void => {
    whole.update(piece);
    blocks.update(piece);
    length += piece.length;
  };
  add(from);
  for await (const pieces of quoted(copy)) for (const piece of pieces) add(piece);
  add(Buffer.of(LF));
  return { length, sha256: whole.digest('hex'), block, blocks: blocks.done };
}

/** The hashes of each whole `size`-byte block of what it is fed (a last, partial block has none). */
class BlockHashes {
  readonly done: string[] = [];
  private hash = createHash('sha256');
  private filled = 0;

  constructor(private readonly size: number) {}

  update(piece: Buffer): void {
    for (let at = 0; at < piece.length; ) {
      const take = Math.min(this.size - this.filled, piece.length - at);
      this.hash.update(piece.subarray(at, at + take));
      this.filled += take;
      at += take;
      if (this.filled === this.size) {
        this.done.push(shortHash(this.hash));
        this.hash = createHash('sha256');
        this.filled = 0;
      }
    }
  }
}

const shortHash = (hash: ReturnType<typeof createHash>): string => hash.digest('hex').slice(0, 32);

/** What must come first so the "From " line starts a line after an empty one: nothing at the start of a file or after "\n\n". */
function separatorAfter(fd: number, size: number): Buffer {
  if (size === 0) return Buffer.alloc(0);
  const tail = Buffer.alloc(Math.min(2, size));
  readSync(fd, tail, 0, tail.length, size - tail.length);
  if (tail.length === 2 && tail[0] === LF && tail[1] === LF) return Buffer.alloc(0);
  return tail[tail.length - 1] === LF ? Buffer.of(LF) : Buffer.of(LF, LF);
}

/** Linux's IOV_MAX: the most pieces one writev takes. */
const IOV_MAX = 1024;

/**
 * Writes the pieces in order, as few calls as the kernel allows, at once: the pieces of
 * a chunk are its lines, and a write for each, through the thread pool, made an append of
 * 10 KB cost a hundred calls and as many wake-ups (issue 21: 6.7 s for 1,000 messages).
 */
function writeAll(fd: number, pieces: readonly Buffer[]): void {
  let i = 0;
  let offset = 0;
  while (i < pieces.length) {
    const batch = pieces.slice(i, i + IOV_MAX);
    if (offset > 0) batch[0] = batch[0]!.subarray(offset);
    const written = writevSync(fd, batch);
    if (written === 0 && batch.some((b) => b.length > 0)) throw new Error('the file took no more bytes');
    // A short write ends inside a piece: go on from there.
    offset += written;
    while (i < pieces.length && offset >= pieces[i]!.length) {
      offset -= pieces[i]!.length;
      i++;
    }
  }
}

function sha256Of(fd: number, start: number, length: number): string {
  const hash = createHash('sha256');
  hashRange(fd, start, length, hash);
  return hash.digest('hex');
}

/** Feeds `length` bytes of the file from `start` to `hash`, a chunk at a time. */
function hashRange(fd: number, start: number, length: number, hash: ReturnType<typeof createHash>): void {
  const buffer = Buffer.allocUnsafe(CHUNK);
  for (let done = 0; done < length; ) {
    const n = readSync(fd, buffer, 0, Math.min(CHUNK, length - done), start + done);
    if (n === 0) break;
    hash.update(buffer.subarray(0, n));
    done += n;
  }
}

/**
 * Is everything from `note.at` to the end of the file the start of the noted message,
 * and nothing else? Each whole block there must have its noted hash; what is left (less
 * than a block) must begin as the noted separator and "From " line do, where it holds
 * them, and must hold no other "From " anywhere, at a line's start or not (a program
 * that appends without a newline first puts its "From " line right after the part).
 * When unsure it says no: then the part is left in the file rather than cutting into
 * another program's message.
 */
function isOurTail(fd: number, note: MboxNote, size: number): boolean {
  const expected = Buffer.concat([Buffer.alloc(note.separator, LF), Buffer.from(note.from, 'latin1')]);
  const head = Buffer.alloc(Math.min(expected.length, size - note.at));
  if (readSync(fd, head, 0, head.length, note.at) !== head.length || !head.equals(expected.subarray(0, head.length))) return false;
  const start = note.at + note.separator;
  const whole = Math.floor((size - start) / note.block);
  for (let k = 0; k < whole; k++) {
    if (k >= note.blocks.length) return false;
    const hash = createHash('sha256');
    hashRange(fd, start + k * note.block, note.block, hash);
    if (shortHash(hash) !== note.blocks[k]) return false;
  }
  // The rest, after our own "From " line when that is in it, must hold no "From " at all.
  const restFrom = Math.max(start + whole * note.block, note.at + expected.length);
  if (restFrom >= size) return true;
  const rest = Buffer.alloc(size - restFrom);
  readSync(fd, rest, 0, rest.length, restFrom);
  return !rest.includes(FROM_);
}
