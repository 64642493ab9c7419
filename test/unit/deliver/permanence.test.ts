import { chmodSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkCommand, checkMaildirPath, checkMboxPath } from '../../../src/deliver/check-target.js';
import { commandFailure, type CommandResult } from '../../../src/deliver/command.js';
import { classify } from '../../../src/errors.js';
import { exitCodeFor } from '../../../src/cli/exit-codes.js';

const base: CommandResult = { exitCode: 0, signal: null, timedOut: false, spawnError: null, stderr: '', stderrBytes: 0 };
const fail = (r: Partial<CommandResult>, shell = false) => commandFailure({ ...base, ...r }, 'command "x"', 60_000, shell);

describe('commandFailure', () => {
  it('is null for a delivery', () => expect(fail({})).toBeNull());

  it.each([64, 65, 66, 67, 68, 77, 78])('status %i is refused for good: exit 73, still one message', (status) => {
    const err = fail({ exitCode: status })!;
    expect(err.permanence).toBe('refused');
    expect(exitCodeFor(err)).toBe(73);
    expect(classify(err)).toBe('message');
  });

  it.each([1, 69, 70, 71, 73, 74, 75, 76])('status %i is temporary: exit 75', (status) => {
    const err = fail({ exitCode: status })!;
    expect(err.permanence).toBe('temporary');
    expect(exitCodeFor(err)).toBe(75);
  });

  it('a signal or a timeout is temporary', () => {
    expect(fail({ exitCode: null, signal: 'SIGKILL' })!.permanence).toBe('temporary');
    expect(fail({ exitCode: null, timedOut: true })!.permanence).toBe('temporary');
  });

  it('not found or not executable is unusable: exit 78', () => {
    const err = fail({ exitCode: null, spawnError: 'not found', spawnCode: 'ENOENT' })!;
    expect(err.permanence).toBe('unusable');
    expect(exitCodeFor(err)).toBe(78);
    expect(classify(err)).toBe('message');
    expect(fail({ exitCode: null, spawnError: 'out of memory', spawnCode: 'ENOMEM' })!.permanence).toBe('temporary');
  });

  it('127 and 126 from /bin/sh -c are unusable; from a program of its own, just a status', () => {
    expect(fail({ exitCode: 127 }, true)!.permanence).toBe('unusable');
    expect(fail({ exitCode: 126 }, true)!.permanence).toBe('unusable');
    expect(fail({ exitCode: 127 }, false)!.permanence).toBe('temporary');
  });

  it('folds the last lines of stderr into its message', () => {
    const err = fail({ exitCode: 75, stderr: 'one\ntwo\n\nthree\nfour\n', stderrBytes: 20 })!;
    expect(err.message).toBe('command "x" exited with status 75 (stderr: two | three | four)');
  });
});

describe('check-target', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'pinchmail-check-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a Maildir under a missing parent is a problem; one under an existing parent a note', () => {
    expect(checkMaildirPath(path.join(dir, 'nope', 'Maildir')).problem).toContain(`${path.join(dir, 'nope')} does not exist`);
    const fresh = checkMaildirPath(path.join(dir, 'Maildir'));
    expect(fresh.problem).toBeNull();
    expect(fresh.note).toContain('does not exist yet');
    mkdirSync(path.join(dir, 'Maildir', 'new'), { recursive: true });
    expect(checkMaildirPath(path.join(dir, 'Maildir'))).toEqual({ problem: null, note: null });
    writeFileSync(path.join(dir, 'file'), '');
    expect(checkMaildirPath(path.join(dir, 'file')).problem).toContain('is not a directory');
  });

  it('an mbox: one a run can create is a note, one in a missing directory or not a regular file a problem', () => {
    expect(checkMboxPath(path.join(dir, 'nope', 'mbox')).problem).toBe(`its directory ${path.join(dir, 'nope')} does not exist`);
    expect(checkMboxPath(path.join(dir, 'mbox'))).toEqual({ problem: null, note: `${path.join(dir, 'mbox')} does not exist yet: the first delivery creates it (0600)` });
    writeFileSync(path.join(dir, 'mbox'), '');
    expect(checkMboxPath(path.join(dir, 'mbox'))).toEqual({ problem: null, note: null });
    mkdirSync(path.join(dir, 'adir'));
    expect(checkMboxPath(path.join(dir, 'adir')).problem).toBe(`${path.join(dir, 'adir')} is not a regular file`);
  });

  it('finds a command on PATH, refuses one that is missing or not executable', () => {
    const env = { PATH: `${dir}:/usr/bin:/bin` };
    expect(checkCommand(['cat'], env).problem).toBeNull();
    expect(checkCommand(['no-such-mda-here'], env).problem).toContain('not found on PATH');
    writeFileSync(path.join(dir, 'mda'), '#!/bin/sh\n');
    chmodSync(path.join(dir, 'mda'), 0o644);
    expect(checkCommand([path.join(dir, 'mda')], env).problem).toContain('is not executable');
    expect(checkCommand(['mda'], env).problem).toContain('is not executable');
    chmodSync(path.join(dir, 'mda'), 0o755);
    expect(checkCommand(['mda'], env)).toMatchObject({ problem: null, note: expect.stringContaining(`found at ${path.join(dir, 'mda')}`) });
  });

  it('checks the first word of a shell command when it can, and says so when it cannot', () => {
    const env = { PATH: '/usr/bin:/bin' };
    expect(checkCommand(['/bin/sh', '-c', '/usr/bin/procmal -d jobs'], env).problem).toContain('/usr/bin/procmal not found');
    expect(checkCommand(['/bin/sh', '-c', 'cat > /dev/null'], env).problem).toBeNull();
    for (const text of ['FOO=1 cat', 'if true; then cat; fi', '"$HOME/bin/mda"', 'exec procmail']) {
      expect(checkCommand(['/bin/sh', '-c', text], env), text).toMatchObject({ problem: null, note: expect.stringContaining('cannot be checked') });
    }
  });
});
