import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync, type Stats } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  UnsafePathError,
  checkAnchorDirectory,
  checkPrivateEntry,
  checkSharedDirectory,
  clearPrivateDirectory,
  createExclusive,
  ensurePrivateDirectory,
  ensurePrivateFile,
  untrustedBecause,
} from '../../../src/util/private-path.js';
import { describeIf } from '../../support/dovecot-suite.js';
import { privateDirs } from '../../support/private-dirs.js';

const { fresh, mode } = privateDirs('pm-private-');

function fakeStat(kind: 'directory' | 'file' | 'symlink', uid: number, bits: number): Stats {
  return { isSymbolicLink: () => kind === 'symlink', isDirectory: () => kind === 'directory', isFile: () => kind === 'file', uid, mode: bits } as Stats;
}

function problemOf(run: () => unknown): string | null {
  try {
    run();
    return null;
  } catch (err) {
    if (err instanceof UnsafePathError) return err.problem;
    throw err;
  }
}

describe('untrustedBecause', () => {
  const you = { uid: 1000 };

  it('takes what is yours and writable by you alone, whoever may read it', () => {
    expect(untrustedBecause(fakeStat('file', 1000, 0o100600), 'file', you)).toBeNull();
    expect(untrustedBecause(fakeStat('file', 1000, 0o100644), 'file', you)).toBeNull();
    expect(untrustedBecause(fakeStat('directory', 1000, 0o40755), 'directory', you)).toBeNull();
  });

  it('refuses a symlink, whatever it points at, and the wrong kind of entry', () => {
    expect(untrustedBecause(fakeStat('symlink', 1000, 0o120777), 'directory', you)).toBe('is a symbolic link');
    expect(untrustedBecause(fakeStat('file', 1000, 0o100600), 'directory', you)).toBe('is not a directory');
    expect(untrustedBecause(fakeStat('directory', 1000, 0o40700), 'file', you)).toBe('is not a regular file');
  });

  it('refuses what another user owns, root only where allowed', () => {
    expect(untrustedBecause(fakeStat('file', 1001, 0o100600), 'file', you)).toBe('owned by uid 1001, not by you (uid 1000)');
    expect(untrustedBecause(fakeStat('file', 0, 0o100600), 'file', you)).toBe('owned by uid 0, not by you (uid 1000)');
    expect(untrustedBecause(fakeStat('directory', 0, 0o40755), 'directory', { uid: 1000, alsoOwnedBy: [0] })).toBeNull();
    expect(untrustedBecause(fakeStat('directory', 7, 0o40755), 'directory', { uid: 1000, alsoOwnedBy: [0] })).toBe('owned by uid 7, not by you (uid 1000) or root');
    // Running as root, root's files are yours.
    expect(untrustedBecause(fakeStat('file', 0, 0o100600), 'file', { uid: 0 })).toBeNull();
  });

  it('refuses what group or others can write, sticky or not', () => {
    expect(untrustedBecause(fakeStat('file', 1000, 0o100660), 'file', you)).toBe('writable by its group (mode 0660)');
    expect(untrustedBecause(fakeStat('file', 1000, 0o100606), 'file', you)).toBe('writable by others (mode 0606)');
    expect(untrustedBecause(fakeStat('file', 1000, 0o100666), 'file', you)).toBe('writable by its group and others (mode 0666)');
    expect(untrustedBecause(fakeStat('directory', 1000, 0o41777), 'directory', you)).toBe('writable by its group and others (mode 1777)');
  });

  it('a shared directory (a Maildir) may be group-writable, and world-writable only with the sticky bit', () => {
    const shared = { uid: 1000, alsoOwnedBy: 'anyone' as const, shared: true };
    expect(untrustedBecause(fakeStat('directory', 1001, 0o40770), 'directory', shared)).toBeNull();
    expect(untrustedBecause(fakeStat('directory', 1001, 0o41777), 'directory', shared)).toBeNull();
    expect(untrustedBecause(fakeStat('directory', 1001, 0o40777), 'directory', shared)).toBe('writable by others (mode 0777)');
    expect(untrustedBecause(fakeStat('symlink', 1000, 0o120777), 'directory', shared)).toBe('is a symbolic link');
  });

  it('without uids (not POSIX), only what an entry is counts', () => {
    expect(untrustedBecause(fakeStat('file', 5, 0o100666), 'file', { uid: null })).toBeNull();
    expect(untrustedBecause(fakeStat('symlink', 5, 0o120777), 'file', { uid: null })).toBe('is a symbolic link');
  });
});

describe('checkAnchorDirectory (the database’s directory)', () => {
  it('takes a directory of yours that nobody else can write, through a symlinked path; false when missing', () => {
    const dir = fresh();
    chmodSync(dir, 0o755);
    expect(checkAnchorDirectory(dir)).toBe(true);
    symlinkSync(dir, `${dir}-link`);
    expect(checkAnchorDirectory(`${dir}-link`)).toBe(true);
    expect(checkAnchorDirectory(path.join(dir, 'missing'))).toBe(false);
    // It is checked, never changed: it may be a home directory.
    expect(mode(dir)).toBe(0o755);
  });

  it('refuses one others can write, a shared sticky one (as /tmp) included', () => {
    const dir = fresh();
    chmodSync(dir, 0o1777);
    expect(problemOf(() => checkAnchorDirectory(dir))).toBe('writable by its group and others (mode 1777)');
    chmodSync(dir, 0o770);
    expect(problemOf(() => checkAnchorDirectory(dir))).toBe('writable by its group (mode 0770)');
    writeFileSync(path.join(dir, 'f'), '');
    expect(problemOf(() => checkAnchorDirectory(path.join(dir, 'f')))).toBe('is not a directory');
  });
});

describe('checkPrivateEntry and ensurePrivateDirectory (inside a verified directory)', () => {
  it('creates a missing directory 0700, and makes one of yours that others can read 0700 again', () => {
    const dir = fresh();
    ensurePrivateDirectory(path.join(dir, 'spool'));
    expect(mode(path.join(dir, 'spool'))).toBe(0o700);
    mkdirSync(path.join(dir, 'old'), { mode: 0o755 });
    chmodSync(path.join(dir, 'old'), 0o755);
    ensurePrivateDirectory(path.join(dir, 'old'));
    expect(mode(path.join(dir, 'old'))).toBe(0o700);
  });

  it('never follows a symlink, to a directory or dangling, and leaves what it points at alone', () => {
    const dir = fresh();
    const target = fresh();
    chmodSync(target, 0o755);
    writeFileSync(path.join(target, 'keep'), 'x');
    symlinkSync(target, path.join(dir, 'spool'));
    expect(problemOf(() => ensurePrivateDirectory(path.join(dir, 'spool')))).toBe('is a symbolic link');
    symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'locks'));
    expect(problemOf(() => ensurePrivateDirectory(path.join(dir, 'locks')))).toBe('is a symbolic link');
    expect(existsSync(path.join(dir, 'nowhere'))).toBe(false);
    expect(readdirSync(target)).toEqual(['keep']);
    expect(mode(target)).toBe(0o755);
  });

  it('refuses an entry others can write, tightening nothing; without tighten changes nothing at all', () => {
    const dir = fresh();
    const file = path.join(dir, 'db');
    writeFileSync(file, '');
    chmodSync(file, 0o664);
    expect(problemOf(() => checkPrivateEntry(file, 'file', { tighten: true }))).toBe('writable by its group (mode 0664)');
    expect(mode(file)).toBe(0o664);
    chmodSync(file, 0o644);
    expect(checkPrivateEntry(file, 'file', { tighten: false })).toBe(true);
    expect(mode(file)).toBe(0o644);
    expect(checkPrivateEntry(file, 'file', { tighten: true })).toBe(true);
    expect(mode(file)).toBe(0o600);
    expect(checkPrivateEntry(path.join(dir, 'missing'), 'file', { tighten: true })).toBe(false);
  });
});

describe('files', () => {
  it('createExclusive makes a new file 0600, and never opens over a name there, a dangling symlink included', () => {
    const dir = fresh();
    const fd = createExclusive(path.join(dir, 'a'));
    expect(fd).toBeGreaterThan(0);
    expect(mode(path.join(dir, 'a'))).toBe(0o600);
    symlinkSync(path.join(dir, 'planted-target'), path.join(dir, 'b'));
    expect(() => createExclusive(path.join(dir, 'b'))).toThrow(/EEXIST/);
    expect(existsSync(path.join(dir, 'planted-target'))).toBe(false);
  });

  it('ensurePrivateFile creates 0600, tightens one of yours, refuses a symlink', () => {
    const dir = fresh();
    ensurePrivateFile(path.join(dir, 'lock'));
    expect(mode(path.join(dir, 'lock'))).toBe(0o600);
    writeFileSync(path.join(dir, 'old'), '');
    chmodSync(path.join(dir, 'old'), 0o644);
    ensurePrivateFile(path.join(dir, 'old'));
    expect(mode(path.join(dir, 'old'))).toBe(0o600);
    const victim = path.join(fresh(), 'precious');
    writeFileSync(victim, 'x');
    symlinkSync(victim, path.join(dir, 'link'));
    expect(problemOf(() => ensurePrivateFile(path.join(dir, 'link')))).toBe('is a symbolic link');
    expect(mode(victim)).not.toBe(0o600);
  });

  it('clearPrivateDirectory unlinks files and symlinks, never what a symlink points at, and leaves directories', () => {
    const dir = fresh();
    const outside = fresh();
    writeFileSync(path.join(outside, 'thesis'), 'years of work');
    writeFileSync(path.join(dir, '1-1.eml'), 'leftover');
    symlinkSync(outside, path.join(dir, 'to-dir'));
    symlinkSync(path.join(outside, 'thesis'), path.join(dir, 'to-file'));
    mkdirSync(path.join(dir, 'sub'));
    writeFileSync(path.join(dir, 'sub', 'inside'), '');
    expect(clearPrivateDirectory(dir)).toBe(3);
    expect(readdirSync(dir)).toEqual(['sub']);
    expect(readdirSync(path.join(dir, 'sub'))).toEqual(['inside']);
    expect(readdirSync(outside)).toEqual(['thesis']);
  });
});

describe('checkSharedDirectory (a Maildir)', () => {
  it('follows the path the operator gave, not a subdirectory’s symlink', () => {
    const dir = fresh();
    const maildir = fresh();
    symlinkSync(maildir, path.join(dir, 'Maildir'));
    expect(checkSharedDirectory(path.join(dir, 'Maildir'), { follow: true, alsoOwnedBy: 'anyone' })).toBe(statSync(maildir).uid);
    symlinkSync(fresh(), path.join(maildir, 'tmp'));
    expect(problemOf(() => checkSharedDirectory(path.join(maildir, 'tmp'), { follow: false, alsoOwnedBy: [] }))).toBe('is a symbolic link');
    expect(checkSharedDirectory(path.join(maildir, 'new'), { follow: false, alsoOwnedBy: [] })).toBeNull();
  });
});

describeIf('owners, with real files', 'tests', process.getuid?.() === 0 ? null : 'giving a file to another uid needs root', () => {
  const OTHER = 61002;

  it('refuses a directory or file of another uid’s, and takes root’s when root runs', () => {
    const dir = fresh();
    chownSync(dir, OTHER, OTHER);
    expect(problemOf(() => checkAnchorDirectory(dir))).toBe(`owned by uid ${OTHER}, not by you (uid 0)`);
    const mine = fresh();
    writeFileSync(path.join(mine, 'db'), '');
    chownSync(path.join(mine, 'db'), OTHER, OTHER);
    chmodSync(path.join(mine, 'db'), 0o600);
    expect(problemOf(() => checkPrivateEntry(path.join(mine, 'db'), 'file', { tighten: true }))).toBe(`owned by uid ${OTHER}, not by you (uid 0)`);
    expect(checkAnchorDirectory(mine)).toBe(true);
  });

  it('a Maildir’s tmp/ may belong to you, root or the Maildir’s owner, nobody else', () => {
    const maildir = fresh();
    chownSync(maildir, OTHER, OTHER);
    mkdirSync(path.join(maildir, 'tmp'));
    chownSync(path.join(maildir, 'tmp'), OTHER, OTHER);
    mkdirSync(path.join(maildir, 'new'));
    chownSync(path.join(maildir, 'new'), OTHER + 1, OTHER + 1);
    expect(checkSharedDirectory(maildir, { follow: true, alsoOwnedBy: 'anyone' })).toBe(OTHER);
    expect(checkSharedDirectory(path.join(maildir, 'tmp'), { follow: false, alsoOwnedBy: [OTHER, 0] })).toBe(OTHER);
    expect(problemOf(() => checkSharedDirectory(path.join(maildir, 'new'), { follow: false, alsoOwnedBy: [OTHER, 0] }))).toBe(
      `owned by uid ${OTHER + 1}, not by you (uid 0)`,
    );
  });
});
