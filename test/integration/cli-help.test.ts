import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Workspace, runCli } from '../support/cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXIT_CODES = ['0', '64', '69', '70', '75', '76', '77', '78'];

let ws: Workspace;
beforeEach(() => {
  ws = new Workspace();
});
afterEach(() => ws.remove());

describe('help text', () => {
  it('pinchmail --help lists the flags the cron line uses, the environment and the exit codes', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const flag of ['-q, --quiet', '-n, --dry-run', '-v, --verbose', '-c, --config', '-a, --account', '--json']) expect(r.stdout).toContain(flag);
    expect(r.stdout).toContain('PINCHMAIL_CONFIG');
    expect(r.stdout).toContain('PINCHMAIL_LOG');
    for (const code of EXIT_CODES) expect(r.stdout).toMatch(new RegExp(`^\\s+${code}\\s`, 'm'));
    for (const command of ['fetch', 'status', 'check', 'route', 'init', 'demo', 'completion']) expect(r.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    expect(r.stderr).toBe('');
  });

  for (const command of ['fetch', 'status', 'check', 'route', 'init', 'demo', 'completion']) {
    it(`pinchmail ${command} --help lists its flags, the environment and the exit codes`, async () => {
      const r = await runCli([command, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: pinchmail ${command}`);
      expect(r.stdout).toContain('-c, --config');
      expect(r.stdout).toContain('PINCHMAIL_CONFIG');
      expect(r.stdout).toContain('PINCHMAIL_LOG');
      expect(r.stdout).toMatch(/Exit status/i);
      for (const code of ['0', '64', '78']) expect(r.stdout).toMatch(new RegExp(`^\\s+${code}\\s`, 'm'));
    });
  }

  it('fetch --help lists -q, -n and -v', async () => {
    const r = await runCli(['fetch', '--help']);
    for (const flag of ['-q, --quiet', '-n, --dry-run', '-v, --verbose']) expect(r.stdout).toContain(flag);
  });
});

describe('global flags', () => {
  const config = (): string =>
    ws.config({ accounts: [{ name: 'jobs', host: '127.0.0.1', port: 1, tls: 'none', user: 'u', password: 'p', deliver: { maildir: ws.path('inbox') } }] });

  for (const args of [['-q', 'fetch'], ['-q', '-n', 'fetch'], ['-v', '-v', 'fetch'], ['fetch', '-q'], ['-q']]) {
    it(`pinchmail ${args.join(' ')} is accepted (not a usage error)`, async () => {
      const r = await runCli([...args, '-c', config()]);
      // Port 1 refuses: the server is unavailable, which is not a usage error.
      expect(r.stderr).not.toMatch(/unknown option|too many arguments/);
      expect(r.code).not.toBe(64);
    });
  }

  it('-n on a command other than fetch is a usage error', async () => {
    const r = await runCli(['status', '-n', '-c', config()]);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/^pinchmail: /);
  });
});

describe('usage errors', () => {
  const cases: [string, string[]][] = [
    ['an unknown option', ['--bogus']],
    ['an unknown option after a command', ['status', '--bogus']],
    ['an unknown command', ['fecth']],
    ['a missing required option', ['route']],
    ['a missing option argument', ['-c']],
    ['an unknown shell for completion', ['completion', 'fish']],
  ];
  for (const [what, args] of cases) {
    it(`${what} gives one "pinchmail: " line and exit 64`, async () => {
      const r = await runCli(args);
      expect(r.code).toBe(64);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^pinchmail: /);
      expect(r.stderr).not.toMatch(/^error:/m);
      expect(r.stdout).toBe('');
    });
  }
});

describe('--json on a failure before any account ran', () => {
  it('a config error prints a JSON document on stdout and one line on stderr', async () => {
    for (const command of [[], ['check'], ['status'], ['fetch']]) {
      const r = await runCli([...command, '--json', '-c', ws.path('missing.json')]);
      expect(r.code).toBe(78);
      const doc = JSON.parse(r.stdout) as { error: string; exitCode: number };
      expect(doc.exitCode).toBe(78);
      expect(doc.error).toMatch(/configuration error: .*missing\.json/);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^pinchmail: configuration error/);
    }
  });

  it('a usage error with --json prints a JSON document too', async () => {
    const r = await runCli(['--json', '--bogus']);
    expect(r.code).toBe(64);
    expect(JSON.parse(r.stdout)).toMatchObject({ exitCode: 64 });
    expect(r.stderr).toMatch(/^pinchmail: unknown option '--bogus'/);
  });

  it('without --json, stdout stays empty', async () => {
    const r = await runCli(['check', '-c', ws.path('missing.json')]);
    expect(r.code).toBe(78);
    expect(r.stdout).toBe('');
  });
});

describe('completion', () => {
  for (const shell of ['bash', 'zsh']) {
    it(`pinchmail completion ${shell} prints the script shipped in completion/`, async () => {
      const r = await runCli(['completion', shell]);
      expect(r.code).toBe(0);
      const file = shell === 'bash' ? 'completion/pinchmail.bash' : 'completion/_pinchmail';
      expect(r.stdout).toBe(readFileSync(ROOT + file, 'utf8'));
      for (const word of ['fetch', 'status', 'check', 'route', 'init', 'demo', '--dry-run', '--quiet', '--config', '--account', 'completion-accounts']) expect(r.stdout).toContain(word);
    });
  }

  it('the hidden completion-accounts command prints the account names, one a line', async () => {
    const file = ws.config({
      accounts: [
        { name: 'jobs', host: 'h', user: 'u', password: 'p', deliver: { maildir: ws.path('a') } },
        { name: 'home', host: 'h', user: 'v', password: 'p', enabled: false, deliver: { maildir: ws.path('b') } },
      ],
    });
    const r = await runCli(['completion-accounts', '-c', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('jobs\nhome\n');
    const help = await runCli(['--help']);
    expect(help.stdout).not.toContain('completion-accounts');
  });

  it('completion-accounts is silent on a config that does not load', async () => {
    const r = await runCli(['completion-accounts', '-c', ws.path('missing.json')]);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('');
  });

  it('bash completes commands and account names', () => {
    if (!existsSync('/bin/bash')) return;
    const file = ws.config({ accounts: [{ name: 'jobs', host: 'h', user: 'u', password: 'p', deliver: { maildir: ws.path('a') } }] });
    const script = `
      source ${ROOT}completion/pinchmail.bash
      pinchmail() { node ${ROOT}bin/pinchmail "$@"; }
      COMP_WORDS=(pinchmail st); COMP_CWORD=1; _pinchmail; echo "1:\${COMPREPLY[*]}"
      COMP_WORDS=(pinchmail -c ${file} -a ''); COMP_CWORD=4; _pinchmail; echo "2:\${COMPREPLY[*]}"
      COMP_WORDS=(pinchmail fetch --dry); COMP_CWORD=2; _pinchmail; echo "3:\${COMPREPLY[*]}"
    `;
    const out = execFileSync('/bin/bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, PINCHMAIL_CONFIG: '' } });
    expect(out).toContain('1:status');
    expect(out).toContain('2:jobs');
    expect(out).toContain('3:--dry-run');
  });
});

describe('manual pages', () => {
  for (const [file, header] of [
    ['man/pinchmail.1', '.TH "PINCHMAIL" "1"'],
    ['man/pinchmail.json.5', '.TH "PINCHMAIL\\.JSON" "5"'],
  ] as const) {
    it(`${file} is generated by the build and renders`, () => {
      const roff = readFileSync(ROOT + file, 'utf8');
      expect(roff).toContain(header);
      let text = roff;
      if (existsSync('/usr/bin/man')) {
        text = execFileSync('man', ['-l', ROOT + file], { encoding: 'utf8', env: { ...process.env, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '100' } });
      }
      if (file.endsWith('.1')) {
        for (const word of ['fetch', 'status', 'check', 'route', 'demo', 'PINCHMAIL_CONFIG', 'PINCHMAIL_LOG', '78', '--dry-run', 'FILES']) expect(text).toContain(word);
      } else {
        for (const word of ['accounts', 'retention', 'deliver', 'route', 'database']) expect(text).toContain(word);
      }
    });
  }

  it('package.json installs both pages and ships the completion scripts', () => {
    const pkg = JSON.parse(readFileSync(ROOT + 'package.json', 'utf8')) as { man: string[]; files: string[]; scripts: Record<string, string> };
    expect(pkg.man).toEqual(expect.arrayContaining(['./man/pinchmail.1', './man/pinchmail.json.5']));
    expect(pkg.files).toEqual(expect.arrayContaining(['man', 'completion']));
    expect(pkg.scripts.prepack).toBeDefined();
  });
});
