import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { runCli, type Workspace } from '../support/cli.js';
import { PASSWORD, USER } from '../support/fake-pop3.js';
import { startServerAndWorkspace, stopServerAndWorkspace } from '../support/server-workspace.js';

let server: DevPop3Server;
let port: number;
let ws: Workspace;
beforeEach(async () => {
  ({ server, port, ws } = await startServerAndWorkspace());
});
afterEach(() => stopServerAndWorkspace(server, ws));

const env = (): NodeJS.ProcessEnv => ({ PW: PASSWORD, XDG_STATE_HOME: ws.path('state'), XDG_CONFIG_HOME: ws.path('xdg') });
const flags = (): string[] => ['--host', '127.0.0.1', '--port', String(port), '--tls', 'none', '--user', USER, '--password-env', 'PW', '--maildir', ws.path('Maildir')];

describe('pinchmail init', () => {
  it('without a terminal, writes a 0600 config from flags that check accepts, with no secret in it', async () => {
    const file = ws.path('conf', 'config.json');
    const r = await runCli(['init', ...flags(), '-c', file], env());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(ws.path('conf')).mode & 0o777).toBe(0o700);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(PASSWORD);
    expect(JSON.parse(text)).toMatchObject({ accounts: [{ host: '127.0.0.1', port, tls: 'none', user: USER, password: { env: 'PW' } }] });
    expect(r.stdout).toContain(`wrote ${file}`);
    expect(r.stdout).toMatch(/logged in with/);
    expect(r.stdout).toContain('pinchmail check --connect');
    expect(r.stdout).toContain('pinchmail --dry-run');

    const check = await runCli(['check', '--connect', '-c', file], env());
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
  });

  it('writes to the default config path without -c', async () => {
    const r = await runCli(['init', ...flags()], env());
    expect(r.code).toBe(0);
    expect(statSync(ws.path('xdg', 'pinchmail', 'config.json')).mode & 0o777).toBe(0o600);
    const check = await runCli(['check'], env());
    expect(check.code).toBe(0);
  });

  it('without a terminal, a missing --host is a usage error of one line', async () => {
    const file = ws.path('config.json');
    const r = await runCli(['init', ...flags().slice(2), '-c', file], env());
    expect(r.code).toBe(64);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^pinchmail: .*--host/);
    expect(() => statSync(file)).toThrow();
  });

  it('refuses to overwrite an existing file without --force, and overwrites it with --force', async () => {
    const file = ws.path('config.json');
    writeFileSync(file, 'mine\n', { mode: 0o600 });
    const r = await runCli(['init', ...flags(), '-c', file], env());
    expect(r.code).toBe(73);
    expect(r.stderr).toMatch(/exists.*--force/);
    expect(readFileSync(file, 'utf8')).toBe('mine\n');

    const forced = await runCli(['init', ...flags(), '-c', file, '--force'], env());
    expect(forced.code).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ accounts: [{ user: USER }] });
  });

  it('a failed probe (wrong password) is reported with its exit status, and the config is still written', async () => {
    const file = ws.path('config.json');
    const r = await runCli(['init', ...flags(), '-c', file], { ...env(), PW: 'wrong' });
    expect(r.code).toBe(77);
    expect(r.stderr).toMatch(/authentication failed/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(r.stdout).toContain(`wrote ${file}`);
  });
});
