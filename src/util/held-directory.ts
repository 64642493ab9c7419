import { closeSync, constants, existsSync, fstatSync, fsync, fsyncSync, openSync, type Stats } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const fsyncAsync = promisify(fsync);

/**
 * Linux names every open descriptor /proc/self/fd/N, and a path through it reaches the
 * directory that was opened, wherever its name now leads: Node's stand-in for openat()
 * and renameat(). Without /proc (a bare chroot) entries are reached by name, as before.
 */
let procFd: boolean | undefined;
function viaProc(): boolean {
  procFd ??= existsSync('/proc/self/fd');
  return procFd;
}

const OPEN_DIRECTORY = constants.O_RDONLY | constants.O_DIRECTORY;

/** The directories held now, by descriptor: to name them in error messages as the operator knows them. */
const heldNames = new Map<number, string>();

/** `text` (an error message) with /proc/self/fd/N/ paths of held directories said by their names. */
export function withHeldNames(text: string): string {
  return text.replace(/\/proc\/self\/fd\/(\d+)(?=\/|'|$)/g, (whole, fd: string) => heldNames.get(Number(fd)) ?? whole);
}

/**
 * A directory opened once, checked as it was opened (its fstat, not a second look by
 * name), and used through its descriptor from then on: whoever swaps its name for a
 * symlink afterwards changes nothing pinchmail writes, renames or removes.
 */
export class HeldDirectory {
  private closed = false;

  private constructor(
    /** The name it was opened by: what messages and journals call it. */
    readonly path: string,
    private readonly fd: number,
    /** What it was when opened: the owner and mode the caller checks. */
    readonly stat: Stats,
  ) {
    heldNames.set(fd, path);
  }

  /** Are entries reached through the descriptor (true), or by name (no /proc)? */
  static byDescriptor(): boolean {
    return viaProc();
  }

  /**
   * Opens `dir`. With `follow: false` a symlink in its last component is refused (ENOTDIR
   * or ELOOP, as the kernel reports it): the subdirectories of a Maildir must be real.
   * `within` opens the entry through a directory already held, so no level is looked up by name twice.
   */
  static open(dir: string, options: { follow: boolean; within?: HeldDirectory }): HeldDirectory {
    const name = options.within ? options.within.entry(path.basename(dir)) : dir;
    const fd = openSync(name, OPEN_DIRECTORY | (options.follow ? 0 : constants.O_NOFOLLOW));
    try {
      return new HeldDirectory(dir, fd, fstatSync(fd));
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** A path to `name` in this very directory (the one opened), for open, rename, unlink and readdir. */
  entry(name: string): string {
    this.refuseClosed();
    return viaProc() ? `/proc/self/fd/${this.fd}/${name}` : path.join(this.path, name);
  }

  /** The directory itself, for readdir. */
  get self(): string {
    this.refuseClosed();
    return viaProc() ? `/proc/self/fd/${this.fd}` : this.path;
  }

  /** Makes what was created, renamed or removed in it durable. */
  async sync(): Promise<void> {
    this.refuseClosed();
    await fsyncAsync(this.fd);
  }

  syncNow(): void {
    this.refuseClosed();
    fsyncSync(this.fd);
  }

  /** A closed descriptor's number may already name another file: never use it. */
  private refuseClosed(): void {
    if (this.closed) throw new Error(`${this.path} is no longer held: the run that opened it is over`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    heldNames.delete(this.fd);
    closeSync(this.fd);
  }
}
