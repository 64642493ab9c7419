import { chmodSync, existsSync, mkdirSync, readdirSync, realpathSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkMaildir } from '../../../src/deliver/maildir-dirs.js';
import { DeliveryError } from '../../../src/deliver/errors.js';
import { Maildir } from '../../../src/deliver/maildir.js';
import { Spool } from '../../../src/deliver/spool.js';
import { PinchmailError } from '../../../src/errors.js';
import { fileKey } from '../../../src/state/file-key.js';
import { MailboxLockFile } from '../../../src/state/lock.js';
import { spoolDirOf, stateFileProblems } from '../../../src/state/state-files.js';
import { SqliteStore } from '../../../src/state/sqlite-store.js';
import { privateDirs } from '../../support/private-dirs.js';

const { fresh, mode } = privateDirs('pm-state-files-');
const KEY = 'pop.example.org/alice';

/** What a refusal says: a STATE_ACCESS error (exit 78) with its one line. */
function refusedWith(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(PinchmailError);
    expect((err as PinchmailError).code).toBe('STATE_ACCESS');
    return (err as Error).message;
  }
  throw new Error('not refused');
}

/** A directory of files no run may touch. */
function precious(): string {
  const dir = fresh();
  writeFileSync(path.join(dir, 'thesis.tex'), 'years of work');
  return dir;
}

describe('StateStore', () => {
  it('creates the database 0600 in a 0700 directory, and makes one of yours that others can read private again', async () => {
    const file = path.join(fresh(), 'deep', 'state', 'state.sqlite');
    SqliteStore.open(file).close();
    expect(mode(path.dirname(file))).toBe(0o700);
    expect(mode(file)).toBe(0o600);
    chmodSync(file, 0o644);
    SqliteStore.open(file).close();
    expect(mode(file)).toBe(0o600);
  });

  it('refuses a database, or its write-ahead log, that others can write, naming it and why', async () => {
    const file = path.join(fresh(), 'state.sqlite');
    SqliteStore.open(file).close();
    chmodSync(file, 0o666);
    expect(refusedWith(() => SqliteStore.open(file))).toBe(
      `state database ${file}: writable by its group and others (mode 0666); refusing it, since whoever can write it decides what is deleted from the server`,
    );
    expect(mode(file)).toBe(0o666);
    chmodSync(file, 0o600);
    writeFileSync(`${file}-wal`, '');
    chmodSync(`${file}-wal`, 0o662);
    expect(refusedWith(() => SqliteStore.open(file))).toMatch(new RegExp(`^state database ${file}-wal: writable by its group and others \\(mode 0662\\)`));
  });

  it('refuses a database that is a symlink, and a directory others can write', async () => {
    const dir = fresh();
    const real = path.join(fresh(), 'real.sqlite');
    SqliteStore.open(real).close();
    symlinkSync(real, path.join(dir, 'state.sqlite'));
    expect(refusedWith(() => SqliteStore.open(path.join(dir, 'state.sqlite')))).toMatch(/state\.sqlite: is a symbolic link; refusing it/);
    const shared = fresh();
    chmodSync(shared, 0o1777);
    expect(refusedWith(() => SqliteStore.open(path.join(shared, 'state.sqlite')))).toBe(
      `state database directory ${shared}: writable by its group and others (mode 1777); refusing it, since whoever can write in it can replace the state database, which decides what is deleted from the server`,
    );
    expect(readdirSync(shared)).toEqual([]);
  });

  it('openReadOnly refuses the same, changes no mode, and creates nothing when there is no database', async () => {
    const dir = fresh();
    const file = path.join(dir, 'state.sqlite');
    expect(SqliteStore.openReadOnly(file)).toBeNull();
    expect(SqliteStore.openReadOnly(path.join(dir, 'missing', 'state.sqlite'))).toBeNull();
    expect(readdirSync(dir)).toEqual([]);
    SqliteStore.open(file).close();
    chmodSync(file, 0o644);
    SqliteStore.openReadOnly(file)!.close();
    expect(mode(file)).toBe(0o644);
    chmodSync(file, 0o646);
    expect(refusedWith(() => SqliteStore.openReadOnly(file))).toMatch(/writable by others \(mode 0646\)/);
  });
});

describe('the directories above the database', () => {
  const WHY_ABOVE = 'whoever can rename or replace what is in it can swap the state database’s directory for one of their own, and so decide what is deleted from the server';

  it('refuses a database below a directory others can write (no sticky bit), before creating anything in it', async () => {
    const open = fresh();
    chmodSync(open, 0o777);
    const file = path.join(open, 'alice', 'state.sqlite');
    const line = `directory above the state database ${realpathSync(open)}: writable by its group and others (mode 0777); refusing it, since ${WHY_ABOVE}`;
    expect(refusedWith(() => SqliteStore.open(file))).toBe(line);
    expect(readdirSync(open)).toEqual([]);
    expect(stateFileProblems(file, [KEY]).map((p) => p.message)).toEqual([line]);
    // Its own directory there already, 0700 and yours (as mkdir -p leaves it): refused all the same.
    mkdirSync(path.join(open, 'alice'), { mode: 0o700 });
    expect(refusedWith(() => SqliteStore.open(file))).toBe(line);
    expect(refusedWith(() => SqliteStore.openReadOnly(file))).toBe(line);
    expect(refusedWith(() => MailboxLockFile.tryAcquire(file, KEY))).toBe(line);
    expect(refusedWith(() => Spool.prepare(spoolDirOf(file, KEY)))).toBe(line);
    expect(stateFileProblems(file, [KEY]).map((p) => p.message)).toEqual([line]);
    expect(readdirSync(path.join(open, 'alice'))).toEqual([]);
    chmodSync(open, 0o770);
    expect(refusedWith(() => SqliteStore.open(file))).toMatch(/writable by its group \(mode 0770\); refusing it/);
  });

  it('takes a sticky directory above (as /tmp is), and builds the spool and lock paths from the real directory', async () => {
    const sticky = fresh();
    chmodSync(sticky, 0o1777);
    const file = path.join(sticky, 'mine', 'state.sqlite');
    SqliteStore.open(file).close();
    MailboxLockFile.tryAcquire(file, KEY)!.release();
    expect(mode(path.join(sticky, 'mine'))).toBe(0o700);

    const real = realpathSync(fresh());
    const link = path.join(fresh(), 'link');
    symlinkSync(real, link);
    const viaLink = path.join(link, 'state.sqlite');
    SqliteStore.open(viaLink).close();
    const spool = Spool.prepare(spoolDirOf(viaLink, KEY));
    expect(spool.dir).toBe(spoolDirOf(path.join(real, 'state.sqlite'), KEY));
    const copy = spool.create();
    expect(copy.file.startsWith(`${real}/`)).toBe(true);
    copy.discard();
    MailboxLockFile.tryAcquire(viaLink, KEY)!.release();
    expect(readdirSync(real).sort()).toEqual(['state.sqlite', 'state.sqlite-locks', 'state.sqlite-spool']);
  });
});

describe('openReadOnly (status, --dry-run)', () => {
  it('leaves the database’s directory as it found it: no write-ahead log or index created', async () => {
    const dir = fresh();
    const file = path.join(dir, 'state.sqlite');
    const store = SqliteStore.open(file);
    await store.recordRun(KEY, 1, { status: 'ok', error: null });
    await store.close();
    const before = readdirSync(dir).sort();
    expect(before).toEqual(['state.sqlite']);
    const ro = SqliteStore.openReadOnly(file)!;
    expect((await ro.summary(KEY)).lastRun).toMatchObject({ status: 'ok' });
    expect(readdirSync(dir).sort()).toEqual(before);
    await ro.close();
    expect(readdirSync(dir).sort()).toEqual(before);
    expect(mode(file)).toBe(0o600);
  });
});

describe('MailboxLock', () => {
  it('makes its directory 0700 and its file 0600', async () => {
    const database = path.join(fresh(), 'state.sqlite');
    MailboxLockFile.tryAcquire(database, KEY)!.release();
    expect(mode(`${database}-locks`)).toBe(0o700);
    expect(mode(path.join(`${database}-locks`, `${fileKey(KEY)}.lock`))).toBe(0o600);
  });

  it('refuses a lock directory or lock file that is a symlink, creating nothing where it points', async () => {
    const database = path.join(fresh(), 'state.sqlite');
    const theirs = precious();
    symlinkSync(theirs, `${database}-locks`);
    expect(refusedWith(() => MailboxLockFile.tryAcquire(database, KEY))).toMatch(new RegExp(`^lock directory ${database}-locks: is a symbolic link; refusing it`));
    expect(readdirSync(theirs)).toEqual(['thesis.tex']);

    const other = path.join(fresh(), 'state.sqlite');
    mkdirSync(`${other}-locks`, { mode: 0o700 });
    symlinkSync(path.join(theirs, 'thesis.tex'), path.join(`${other}-locks`, `${fileKey(KEY)}.lock`));
    expect(refusedWith(() => MailboxLockFile.tryAcquire(other, KEY))).toMatch(/^lock file .*\.lock: is a symbolic link; refusing it/);
  });
});

describe('Spool.prepare', () => {
  it('clears what a killed run left, unlinking a symlink in it without touching what it points at', async () => {
    const database = path.join(fresh(), 'state.sqlite');
    const dir = spoolDirOf(database, KEY);
    Spool.prepare(dir);
    expect(mode(`${database}-spool`)).toBe(0o700);
    expect(mode(dir)).toBe(0o700);
    const theirs = precious();
    writeFileSync(path.join(dir, '1-1.eml'), 'leftover');
    symlinkSync(theirs, path.join(dir, 'planted'));
    const spool = Spool.prepare(dir);
    expect(readdirSync(dir)).toEqual([]);
    expect(readdirSync(theirs)).toEqual(['thesis.tex']);
    const copy = spool.create();
    copy.write(Buffer.from('mail'));
    expect(mode(copy.file)).toBe(0o600);
    copy.discard();
  });

  it('refuses a spool directory that is a symlink, or one others can write, before removing anything', async () => {
    const database = path.join(fresh(), 'state.sqlite');
    const dir = spoolDirOf(database, KEY);
    const theirs = precious();
    mkdirSync(`${database}-spool`, { mode: 0o700 });
    symlinkSync(theirs, dir);
    expect(refusedWith(() => Spool.prepare(dir))).toBe(
      `spool directory ${dir}: is a symbolic link; refusing it, since whoever can change it chooses which files a run removes and where it writes your mail`,
    );
    expect(readdirSync(theirs)).toEqual(['thesis.tex']);
    rmSync(dir);
    chmodSync(`${database}-spool`, 0o733);
    expect(refusedWith(() => Spool.prepare(dir))).toMatch(/-spool: writable by its group and others \(mode 0733\)/);
  });
});

describe('Maildir', () => {
  const HOST = os.hostname().replace(/\//g, '\\057').replace(/:/g, '\\072');

  it('refuses a tmp/ that is a symlink: no file is written through it, and the sweep leaves what it points at alone', async () => {
    const maildir = fresh();
    mkdirSync(path.join(maildir, 'new'));
    mkdirSync(path.join(maildir, 'cur'));
    const theirs = precious();
    const bait = path.join(theirs, `1700000000.M1P1Q1Ydeadbeef.${HOST}`);
    writeFileSync(bait, 'named like a leftover');
    const old = (Date.now() - 40 * 3_600_000) / 1000;
    utimesSync(bait, old, old);
    symlinkSync(theirs, path.join(maildir, 'tmp'));
    const box = new Maildir(maildir, 'aaaaaaaa');
    expect(box.sweepTmp(Date.now())).toBe(0);
    expect(() => box.begin()).toThrow(DeliveryError);
    expect(() => box.begin()).toThrow(`Maildir ${maildir}/tmp: is a symbolic link; refusing it, since whoever can change it chooses where your mail is written and which files a run removes`);
    expect(readdirSync(theirs).sort()).toEqual([path.basename(bait), 'thesis.tex'].sort());
    expect(Maildir.recover(path.join(maildir, 'new', path.basename(bait)))).toBe('undone');
    expect(existsSync(bait)).toBe(true);
  });

  it('takes a group-writable Maildir, or a world-writable one with the sticky bit, and refuses one without', async () => {
    const group = fresh();
    chmodSync(group, 0o770);
    const m = new Maildir(group, 'aaaaaaaa').begin();
    await m.write(Buffer.from('x'));
    await m.abort();
    const sticky = fresh();
    chmodSync(sticky, 0o1777);
    expect(() => new Maildir(sticky, 'aaaaaaaa').begin().abort()).not.toThrow();
    const open = fresh();
    chmodSync(open, 0o777);
    expect(() => new Maildir(open, 'aaaaaaaa').begin()).toThrow(`Maildir ${open}: writable by others (mode 0777); refusing it`);
    expect(readdirSync(open)).toEqual([]);
  });
});

describe('checkMaildir (what `check` and a delivery both check)', () => {
  it('refuses a tmp/ or new/ that is a symlink, creating nothing, without `create`', async () => {
    for (const sub of ['tmp', 'new', 'cur']) {
      const maildir = fresh();
      for (const other of ['tmp', 'new', 'cur']) if (other !== sub) mkdirSync(path.join(maildir, other));
      symlinkSync(precious(), path.join(maildir, sub));
      expect(() => checkMaildir(maildir)).toThrow(`${maildir}/${sub}: is a symbolic link`);
    }
    const missing = path.join(fresh(), 'Maildir');
    expect(() => checkMaildir(missing)).not.toThrow();
    expect(existsSync(missing)).toBe(false);
  });
});

describe('stateFileProblems (for `pinchmail check`)', () => {
  it('finds nothing wrong where nothing exists yet, and creates nothing', async () => {
    const dir = fresh();
    expect(stateFileProblems(path.join(dir, 'state.sqlite'), [KEY])).toEqual([]);
    expect(stateFileProblems(path.join(dir, 'not', 'yet', 'state.sqlite'), [KEY])).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reports each tree at its first problem, changing nothing; a refused directory alone', async () => {
    const database = path.join(fresh(), 'state.sqlite');
    SqliteStore.open(database).close();
    chmodSync(database, 0o606);
    MailboxLockFile.tryAcquire(database, KEY)!.release();
    chmodSync(`${database}-locks`, 0o757);
    mkdirSync(`${database}-spool`, { mode: 0o700 });
    symlinkSync(precious(), spoolDirOf(database, KEY));
    expect(stateFileProblems(database, [KEY]).map((p) => p.message)).toEqual([
      expect.stringMatching(/^state database .*state\.sqlite: writable by others \(mode 0606\); refusing it/),
      expect.stringMatching(new RegExp(`^spool directory ${spoolDirOf(database, KEY)}: is a symbolic link`)),
      expect.stringMatching(/^lock directory .*-locks: writable by others \(mode 0757\)/),
    ]);
    expect(mode(database)).toBe(0o606);
    chmodSync(path.dirname(database), 0o777);
    expect(stateFileProblems(database, [KEY]).map((p) => p.message)).toEqual([expect.stringMatching(/^state database directory .*: writable by its group and others \(mode 0777\)/)]);
  });
});
