import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The package as a user gets it: packed from what a fresh clone holds (tracked files and new
 * ones not ignored: no dist/, no man/), so `prepack` must build; installed from the tarball
 * into an empty prefix, native dependencies built as npm builds them; run from a directory
 * outside the source tree. Slow (better-sqlite3 and re2 compile): a few minutes.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MINUTES = 60_000;

let tmp: string;
let bin: string;
let prefix: string;
const env: NodeJS.ProcessEnv = { ...process.env };
// As .ci/run: node-gyp uses the headers Debian's Node ships rather than downloading them.
if (!env.npm_config_nodedir && existsSync('/usr/include/node/node.h')) env.npm_config_nodedir = '/usr';
delete env.PINCHMAIL_CONFIG;
delete env.npm_config_prefix;

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'pinchmail-package-'));
  // A clone of the working tree: what git would hand a new user, plus files not yet committed.
  const clone = path.join(tmp, 'clone');
  const files = run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], ROOT).split('\0').filter(Boolean);
  for (const file of files) {
    if (!existsSync(path.join(ROOT, file))) continue; // deleted in the working tree
    mkdirSync(path.dirname(path.join(clone, file)), { recursive: true });
    copyFileSync(path.join(ROOT, file), path.join(clone, file));
  }
  expect(existsSync(path.join(clone, 'dist'))).toBe(false);
  // `npm ci` would fill node_modules from the lock file; the checkout's is the same.
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(clone, 'node_modules'));

  const packs = path.join(tmp, 'packs');
  mkdirSync(packs);
  run('npm', ['pack', '--pack-destination', packs], clone);
  const [tarball] = readdirSync(packs).filter((f) => f.endsWith('.tgz'));
  expect(tarball).toBeDefined();

  prefix = path.join(tmp, 'prefix');
  run(
    'npm',
    ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--allow-scripts=better-sqlite3,re2', path.join(packs, tarball!)],
    tmp,
  );
  bin = path.join(prefix, 'bin', 'pinchmail');
  // The source tree is out of reach from here on.
  rmSync(clone, { recursive: true, force: true });
}, 15 * MINUTES);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function pinchmail(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const home = path.join(tmp, 'home');
  mkdirSync(home, { recursive: true });
  const r = spawnSync(bin, args, {
    cwd: home,
    env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, HOME: home, LANG: 'C.UTF-8' },
    encoding: 'utf8',
    timeout: 2 * MINUTES,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the packed package, installed into an empty prefix', () => {
  it('holds what it needs and nothing of the test tree', () => {
    const pkg = path.join(prefix, 'lib', 'node_modules', 'pinchmail');
    for (const f of ['dist/app/main.js', 'bin/pinchmail', 'man/pinchmail.1', 'man/pinchmail.json.5', 'completion/pinchmail.bash', 'completion/_pinchmail', 'schema/pinchmail.schema.json', 'pinchmail.example.json']) {
      expect(existsSync(path.join(pkg, f)), f).toBe(true);
    }
    expect(existsSync(path.join(pkg, 'test'))).toBe(false);
    expect(existsSync(path.join(pkg, 'src'))).toBe(false);
    // npm links the "man" pages into the prefix.
    expect(existsSync(path.join(prefix, 'share', 'man', 'man1', 'pinchmail.1'))).toBe(true);
    expect(existsSync(path.join(prefix, 'share', 'man', 'man5', 'pinchmail.json.5'))).toBe(true);
  });

  it('pinchmail --version', () => {
    const r = pinchmail(['--version']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(r.code).toBe(0);
  });

  it('pinchmail check -c CONFIG', () => {
    const dir = path.join(tmp, 'home');
    mkdirSync(path.join(dir, 'Mail', 'inbox'), { recursive: true });
    const config = path.join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        database: path.join(dir, 'state.sqlite'),
        accounts: [{ name: 'jobs', host: 'pop.example.com', user: 'jobs@example.com', password: 'not-a-real-password', deliver: { maildir: path.join(dir, 'Mail', 'inbox') } }],
      }),
      { mode: 0o600 },
    );
    const r = pinchmail(['check', '-c', config]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('jobs');
    expect(r.code).toBe(0);
  });

  it('pinchmail demo', () => {
    const r = pinchmail(['demo']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(0);
  });

  it('pinchmail completion bash', () => {
    const r = pinchmail(['completion', 'bash']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('complete -F _pinchmail pinchmail');
  });
});
