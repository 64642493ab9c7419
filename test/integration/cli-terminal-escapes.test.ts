import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DevPop3Server } from '../../src/devserver/pop3-server.js';
import { Workspace, runCli } from '../support/cli.js';
import { loopbackAccount, startServerAndWorkspace, stopServerAndWorkspace } from '../support/server-workspace.js';

/**
 * Text from a server or a message must reach a person's terminal as text: an ESC, BEL,
 * CR, C1 or bidi control in it is shown escaped, never sent raw. JSON keeps the original.
 */

/** Anything a terminal would act on instead of showing: C0 but \n and \t, DEL, C1, and the bidi controls. */
const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/u;
const TEXT_LOG = { PINCHMAIL_LOG: 'text' };

let server: DevPop3Server;
let port: number;
let ws: Workspace;

const mail = Buffer.from('Subject: hello\r\nFrom: a@example.org\r\n\r\nbody\r\n');

beforeEach(async () => void ({ server, port, ws } = await startServerAndWorkspace([mail])));
afterEach(() => stopServerAndWorkspace(server, ws));

const account = (extra: Record<string, unknown> = {}): Record<string, unknown> => loopbackAccount(port, ws, { retention: '7d', ...extra });

/** The JSON log lines on stderr (as when stderr is not a terminal), parsed. */
function jsonLog(stderr: string): { msg: string; [k: string]: unknown }[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string });
}

describe('delivery command stderr', () => {
  const noisy = `printf '\\033[2J\\033]0;pwned\\007' >&2; cat >/dev/null`;

  it('is escaped in the text log of a delivery that worked (-v)', async () => {
    const run = await runCli(['-c', ws.config({ accounts: [account({ deliver: { command: noisy } })] }), '-v'], TEXT_LOG);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('delivery command said: \\x1b[2J\\x1b]0;pwned\\x07');
    expect(run.stderr).not.toMatch(RAW_CONTROL);
    expect(run.stdout).not.toMatch(RAW_CONTROL);
  });

  it('is escaped in the error line of a delivery that failed (folded into it: no line of its own, issue 13)', async () => {
    const run = await runCli(['-c', ws.config({ accounts: [account({ deliver: { command: `${noisy}; exit 75` } })] })], TEXT_LOG);
    expect(run.code).toBe(75);
    expect(run.stderr).not.toContain('delivery command said:');
    expect(run.stderr).toContain('(stderr: \\x1b[2J\\x1b]0;pwned\\x07)');
    expect(run.stderr).not.toMatch(RAW_CONTROL);
  });

  it('keeps its original text in the JSON log', async () => {
    const run = await runCli(['-c', ws.config({ accounts: [account({ deliver: { command: `${noisy}; exit 75` } })] })]);
    expect(run.code).toBe(75);
    expect(jsonLog(run.stderr).some((e) => e.msg.includes('(stderr: \x1b[2J\x1b]0;pwned\x07)'))).toBe(true);
    // Raw, the log holds the escapes JSON itself makes.
    expect(run.stderr).not.toMatch(RAW_CONTROL);
  });
});

describe('a malformed UIDL listing', () => {
  beforeEach(() => {
    server.faults.script = ({ verb, args }) => (verb === 'UIDL' && args.length === 0 ? { reply: '+OK\r\n\x1b[31m1 evil\x07\r\n.\r\n' } : undefined);
  });

  it('is named in an error line with no raw control in it', async () => {
    const run = await runCli(['-c', ws.config({ accounts: [account()] })], TEXT_LOG);
    expect(run.code).toBe(76);
    expect(run.stderr).toContain('malformed UIDL line from server: "\\x1b[31m1 evil\\x07"');
    expect(run.stderr).not.toMatch(RAW_CONTROL);
  });

  it('--json still carries the line as the server sent it', async () => {
    const run = await runCli(['-c', ws.config({ accounts: [account()] }), '--json']);
    expect(run.code).toBe(76);
    const doc = JSON.parse(run.stdout) as { accounts: { error: string }[] };
    expect(doc.accounts[0]!.error).toContain('malformed UIDL line from server: "\x1b[31m1 evil\x07"');
  });
});

describe('check --connect', () => {
  beforeEach(() => {
    server.faults.script = ({ verb }) => (verb === 'CAPA' ? { reply: '+OK\r\nTOP\r\nUIDL\r\nUSER\r\nX-\x1b]0;pwned\x07EVIL\x1b[2J\r\n.\r\n' } : undefined);
  });

  it('shows a capability holding escape sequences escaped', async () => {
    const run = await runCli(['check', '--connect', '-c', ws.config({ accounts: [account()] })]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('X-\\x1b]0;PWNED\\x07EVIL\\x1b[2J');
    expect(run.stdout).not.toMatch(RAW_CONTROL);
  });

  it('--json lists it as the server sent it', async () => {
    const run = await runCli(['check', '--connect', '--json', '-c', ws.config({ accounts: [account()] })]);
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout) as { accounts: { connect: { capabilities: string[] } }[] };
    expect(doc.accounts[0]!.connect.capabilities).toContain('X-\x1b]0;PWNED\x07EVIL\x1b[2J');
  });
});

describe('status', () => {
  it('shows a stored server error escaped, and --json keeps it as it was', async () => {
    server.faults.script = ({ verb }) => (verb === 'PASS' || verb === 'AUTH' ? { reply: '-ERR \x1b[31mboom\x07\u009b2J\r\n' } : undefined);
    const config = ws.config({ accounts: [account()] });
    const fetch = await runCli(['-c', config], TEXT_LOG);
    expect(fetch.code).toBe(77);
    expect(fetch.stderr).toContain('\\x1b[31mboom\\x07');
    expect(fetch.stderr).not.toMatch(RAW_CONTROL);

    const status = await runCli(['status', '-c', config]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('\\x1b[31mboom\\x07');
    expect(status.stdout).not.toMatch(RAW_CONTROL);

    const json = await runCli(['status', '--json', '-c', config]);
    const doc = JSON.parse(json.stdout) as { accounts: { lastRun: { error: string } }[] };
    expect(doc.accounts[0]!.lastRun.error).toContain('\x1b[31mboom\x07');
  });

  it('shows the last error of a failing message escaped', async () => {
    const config = ws.config({ accounts: [account({ deliver: { command: `printf 'no\\033[2J\\rFAKE' >&2; exit 75` } })] });
    expect((await runCli(['-c', config])).code).toBe(75);
    const status = await runCli(['status', '-c', config]);
    expect(status.stdout).toMatch(/failing \S+: 1 attempt, last error: .*no\\x1b\[2J\\rFAKE/);
    expect(status.stdout).not.toMatch(RAW_CONTROL);
  });
});

describe('route --test and the last error line', () => {
  it('route --test shows a subject holding C1 and bidi controls escaped', async () => {
    const file = ws.path('evil.eml');
    writeFileSync(file, Buffer.from('Subject: invoice\u202efdp.exe \u009b2J\x1b[2J\r\nFrom: a@example.org\r\n\r\nbody\r\n', 'utf8'));
    const run = await runCli(['route', '--test', file, '-c', ws.config({ accounts: [account()] })]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('subject');
    expect(run.stdout).not.toMatch(RAW_CONTROL);
  });

  it('a failure that ends the program is printed escaped', async () => {
    const run = await runCli(['route', '--test', ws.path('no\x1b[2Jsuch\x07.eml'), '-c', ws.config({ accounts: [account()] })]);
    expect(run.code).toBe(64);
    expect(run.stderr).toContain('no\\x1b[2Jsuch\\x07.eml');
    expect(run.stderr).not.toMatch(RAW_CONTROL);
  });

  it('an unknown command name is printed escaped', async () => {
    const run = await runCli(['\x1b]0;pwned\x07']);
    expect(run.code).toBe(64);
    expect(run.stderr).toContain("unknown command '\\x1b]0;pwned\\x07'");
    expect(run.stderr).not.toMatch(RAW_CONTROL);
  });

  it('an unknown option named on the command line is printed escaped', async () => {
    const run = await runCli(['fetch', '--\x1b[2Jevil']);
    expect(run.code).toBe(64);
    expect(run.stderr).toContain('\\x1b[2Jevil');
    expect(run.stderr).not.toMatch(RAW_CONTROL);
  });
});
