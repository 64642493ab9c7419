import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../../src/config/load.js';
import { resolveSecret } from '../../../src/config/secrets.js';
import { ConfigError } from '../../../src/errors.js';
import { SCHEMA_FILE, schemaText } from '../../../scripts/write-schema.js';

const root = path.resolve(__dirname, '../../..');
const account = { name: 'jobs', host: 'pop.example.com', user: 'jobs', password: 'pw', deliver: { maildir: '/tmp/m' } };
const text = (config: unknown): string => JSON.stringify(config, null, 2);
const load = (config: unknown): ReturnType<typeof parseConfig> => parseConfig(text(config), '/etc/pinchmail/config.json');

function problem(config: unknown): string {
  try {
    typeof config === 'string' ? parseConfig(config, '/etc/pinchmail/config.json') : load(config);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error('the config loaded');
}

describe('loading a valid config', () => {
  it('fills in defaults', () => {
    const config = load({ accounts: [account] });
    const a = config.accounts[0]!;
    expect(a).toMatchObject({ port: 995, tls: 'implicit', auth: 'auto', retentionMs: 7 * 86_400_000, timeoutMs: 60_000, enabled: true });
    expect(a).toMatchObject({ keepaliveMs: 60_000, deadlineMs: 3_600_000, maxMessages: 200_000 });
    expect(a.stateKey).toBe('pop.example.com/jobs');
    expect(a.deliver).toMatchObject({ kind: 'maildir', dir: '/tmp/m', timeoutMs: 600_000 });
    expect(config.database).toMatch(/pinchmail\/state\.sqlite$/);
  });

  it('takes any account key from defaults, the account winning', () => {
    const config = load({
      defaults: { host: 'Pop.Example.COM', tls: 'starttls', retention: '1d12h', deliver: { command: 'procmail' } },
      accounts: [
        { name: 'a', user: 'u1', password: 'p' },
        { name: 'b', user: 'u2', password: 'p', tls: 'implicit', retention: 'never' },
      ],
    });
    expect(config.accounts.map((a) => [a.host, a.port, a.tls, a.retentionMs])).toEqual([
      ['Pop.Example.COM', 110, 'starttls', 129_600_000],
      ['Pop.Example.COM', 995, 'implicit', Number.POSITIVE_INFINITY],
    ]);
    expect(config.accounts[0]!.stateKey).toBe('pop.example.com/u1');
    expect(config.accounts[0]!.deliver).toMatchObject({ kind: 'command', argv: ['/bin/sh', '-c', 'procmail'] });
  });

  it('deadline and maxMessages come from the account, or else from defaults', () => {
    const config = load({
      defaults: { deadline: '2h30m', maxMessages: 5000 },
      accounts: [account, { ...account, name: 'b', user: 'b', deadline: '24d', maxMessages: 1 }],
    });
    expect(config.accounts.map((a) => [a.deadlineMs, a.maxMessages])).toEqual([
      [9_000_000, 5000],
      [24 * 86_400_000, 1],
    ]);
  });

  it('timers may be as long as 24d; retention may be far longer', () => {
    const a = load({
      accounts: [{ ...account, timeout: '24d', keepalive: '24d', deadline: '3w3d', retention: '10000w', deliver: { maildir: '/m', timeout: '24d' } }],
    }).accounts[0]!;
    expect([a.timeoutMs, a.keepaliveMs, a.deadlineMs, a.deliver!.timeoutMs]).toEqual([24 * 86_400_000, 24 * 86_400_000, 24 * 86_400_000, 24 * 86_400_000]);
    expect(a.retentionMs).toBe(10_000 * 604_800_000);
  });

  it('a password may hold any character that is not CR, LF or NUL, such as U+010D and U+010A', async () => {
    const password = 'a\u010d\u010ab';
    const config = load({ accounts: [{ ...account, password }] });
    expect(config.accounts[0]!.password).toBe(password);
    expect(await resolveSecret(config.accounts[0]!.password, 'accounts[0].password')).toBe(password);
    expect(await resolveSecret({ env: 'PM_PW' }, 'accounts[0].password', { PM_PW: password })).toBe(password);
    // In UTF-8 they are two bytes each, neither of them CR (0x0d) or LF (0x0a).
    expect([...Buffer.from(password, 'utf8')]).not.toContain(0x0d);
    expect([...Buffer.from(password, 'utf8')]).not.toContain(0x0a);
  });

  it('expands ~ and resolves relative paths against the config file', () => {
    const config = load({
      database: 'state/db.sqlite',
      accounts: [{ ...account, password: { file: '~/secret' }, deliver: { maildir: '~/Mail' }, tlsOptions: { ca: 'ca.pem' } }],
    });
    expect(config.database).toBe('/etc/pinchmail/state/db.sqlite');
    expect(config.accounts[0]!.password).toEqual({ file: path.join(os.homedir(), 'secret') });
    expect(config.accounts[0]!.deliver).toMatchObject({ dir: path.join(os.homedir(), 'Mail') });
    expect(config.accounts[0]!.tlsOptions.caFile).toBe('/etc/pinchmail/ca.pem');
  });

  it('ignores comment keys', () => {
    expect(load({ '//': 'hello', accounts: [{ ...account, '//host': 'the server' }] }).accounts).toHaveLength(1);
  });

  it('the shipped example loads, and validates against the shipped schema', () => {
    const example = readFileSync(path.join(root, 'pinchmail.example.json'), 'utf8');
    const config = parseConfig(example, path.join(root, 'pinchmail.example.json'));
    expect(config.accounts.map((a) => a.name)).toEqual(['jobs', 'archive', 'pipeline']);
    const ajv = new Ajv2020({ allErrors: true });
    const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')));
    expect(validate(JSON.parse(example)), JSON.stringify(validate.errors)).toBe(true);
  });

  it('the shipped schema is the one the loader describes (run npm run schema after a change)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(schemaText());
  });
});

describe('every config error names the JSON path and what was expected', () => {
  it.each([
    ['bad retention', { accounts: [account, { ...account, name: 'b', retention: 'seven' }] }, 'accounts[1].retention: expected a duration like "7d", got "seven"'],
    ['unknown account key', { accounts: [{ ...account, prot: 995 }] }, 'accounts[0].prot: unknown key (did you mean "port"?)'],
    ['unknown top-level key', { acounts: [account] }, 'acounts: unknown key (did you mean "accounts"?)'],
    ['wrong type', { accounts: [{ ...account, port: '995' }] }, 'accounts[0].port: expected an integer from 1 to 65535, got "995"'],
    ['port out of range', { accounts: [{ ...account, port: 70000 }] }, 'accounts[0].port: expected an integer from 1 to 65535, got 70000'],
    ['bad tls', { accounts: [{ ...account, tls: 'ssl' }] }, 'accounts[0].tls: expected one of "implicit", "starttls", "none", got "ssl"'],
    ['duplicate names', { accounts: [account, { ...account, user: 'other' }] }, 'accounts[1].name: duplicate name "jobs" (also accounts[0])'],
    ['same mailbox twice', { accounts: [account, { ...account, name: 'b' }] }, 'accounts[1]: same mailbox as accounts[0]'],
    ['bad name', { accounts: [{ ...account, name: 'my jobs' }] }, 'accounts[0].name: expected a name of letters, digits, ".", "_" and "-", got "my jobs"'],
    ['missing host', { accounts: [{ ...account, host: undefined }] }, 'accounts[0]: missing "host" (the POP3 server); set it in the account or in "defaults"'],
    ['missing deliver', { accounts: [{ ...account, deliver: undefined }] }, 'accounts[0]: missing "deliver" (where messages go)'],
    ['no accounts', { accounts: [] }, 'accounts: expected a non-empty array of an object, got an array'],
    ['not an object', [], '(top level): expected an object, got an array'],
    ['no accounts key', {}, '(top level): missing required key "accounts"'],
    ['password with two sources', { accounts: [{ ...account, password: { env: 'A', file: 'b' } }] }, 'accounts[0].password: expected exactly one of "env", "file" or "command", got "env", "file"'],
    ['password command not argv', { accounts: [{ ...account, password: { command: 'pass show x' } }] }, 'accounts[0].password.command: expected a non-empty array of a non-empty string, got "pass show x"'],
    ['deliver both', { accounts: [{ ...account, deliver: { command: ['x'], maildir: '/m' } }] }, 'accounts[0].deliver: give one of "command", "maildir", "mbox", "lmtp" or "smtp", not "command" and "maildir"'],
    ['mbox with parallel', { accounts: [{ ...account, deliver: { mbox: '/m', parallel: 2 } }] }, 'accounts[0].deliver.parallel: "parallel" is for commands; an mbox takes one message at a time'],
    ['lmtp without to', { accounts: [{ ...account, deliver: { lmtp: 'unix:/run/dovecot/lmtp' } }] }, 'accounts[0].deliver: an "lmtp" target needs "to": the recipient'],
    ['smtp bad address', { accounts: [{ ...account, deliver: { smtp: 'localhost', to: 'a@b' } }] }, 'accounts[0].deliver.smtp: expected "unix:/path/to/socket" or "host:port", got "localhost"'],
    ['smtp port too big', { accounts: [{ ...account, deliver: { smtp: 'localhost:99999', to: 'a@b' } }] }, 'accounts[0].deliver.smtp: expected "unix:/path/to/socket" or "host:port", got "localhost:99999"'],
    ['lmtp tls on a socket', { accounts: [{ ...account, deliver: { lmtp: 'unix:/run/lmtp', to: 'a', tls: 'starttls' } }] }, 'accounts[0].deliver.tls: a unix socket stays on this machine: there is no TLS on it'],
    ['smtp to with a space', { accounts: [{ ...account, deliver: { smtp: 'localhost:25', to: 'a b@c' } }] }, 'accounts[0].deliver.to: expected one address, without spaces or angle brackets'],
    [
      'smtp auth in the clear across the network',
      { accounts: [{ ...account, deliver: { smtp: 'relay.example.com:25', to: 'a@b', tls: 'none', auth: { user: 'u', password: 'p' } } }] },
      'accounts[0].deliver.auth: with "tls": "none", the password would cross the network in the clear to relay.example.com:25; use "starttls" or "implicit"',
    ],
    [
      'auth on lmtp',
      { accounts: [{ ...account, deliver: { lmtp: 'unix:/run/lmtp', to: 'a', auth: { user: 'u', password: 'p' } } }] },
      'accounts[0].deliver.auth: "auth" is for smtp targets: an LMTP server takes local deliveries without a login',
    ],
    ['smtp auth without a user', { accounts: [{ ...account, deliver: { smtp: 'localhost:25', to: 'a@b', auth: { password: 'p' } } }] }, 'accounts[0].deliver.auth: missing required key "user" (expected a user name (no CR, LF or NUL))'],
    ['to on a maildir', { accounts: [{ ...account, deliver: { maildir: '/m', to: 'a@b' } }] }, 'accounts[0].deliver.to: "to" is for lmtp and smtp targets'],
    ['mbox empty', { accounts: [{ ...account, deliver: { mbox: '' } }] }, 'accounts[0].deliver.mbox: expected a non-empty string, got ""'],
    ['deliver unknown key', { accounts: [{ ...account, deliver: { maildir: '/m', mode: 1 } }] }, 'accounts[0].deliver.mode: unknown key'],
    ['deliver empty argv', { accounts: [{ ...account, deliver: { command: [] } }] }, 'accounts[0].deliver.command: expected a non-empty array'],
    ['bad timeout', { accounts: [{ ...account, timeout: 'never' }] }, 'accounts[0].timeout: expected a duration like "7d"; "never" is not allowed here'],
    ['bad pin', { accounts: [{ ...account, tlsOptions: { fingerprint: 'AB:CD' } }] }, 'accounts[0].tlsOptions.fingerprint: expected a certificate pin like "sha256:AB:CD:..." (64 hex digits), got "AB:CD"'],
    ['bad default', { defaults: { retention: 'soon' }, accounts: [account] }, 'defaults.retention: expected a duration like "7d", got "soon"'],
    ['name in defaults', { defaults: { name: 'x' }, accounts: [account] }, 'defaults.name: unknown key'],
    ['clear text to a remote host', { accounts: [{ ...account, tls: 'none', auth: 'plain' }] }, 'accounts[0].auth: "auth": "plain" would send the secret in clear text to pop.example.com'],
    ['user name with a line break', { accounts: [{ ...account, user: 'a\r\nDELE 1' }] }, 'accounts[0].user: expected a non-empty user name'],
    ['user name with a NUL', { accounts: [{ ...account, user: 'a\u0000b' }] }, 'accounts[0].user: expected a non-empty user name'],
  ])('%s', (_what, config, message) => {
    expect(problem(config)).toContain(message);
  });

  it('invalid JSON says line and column', () => {
    expect(problem('{\n  "accounts": [\n    { "name": "x", }\n  ]\n}')).toBe(
      '/etc/pinchmail/config.json: invalid JSON at line 3, column 20: trailing comma before "}"',
    );
  });

  it('clear text is allowed to loopback, or when the account says so', () => {
    expect(load({ accounts: [{ ...account, host: '127.0.0.1', tls: 'none', auth: 'plain' }] }).accounts).toHaveLength(1);
    expect(load({ accounts: [{ ...account, tls: 'none', auth: 'plain', allowPlaintext: true }] }).accounts).toHaveLength(1);
  });

  it('a missing or unreadable file', () => {
    expect(() => loadConfig('/nonexistent/pinchmail.json')).toThrow('/nonexistent/pinchmail.json: cannot read the config file: no such file');
    if (process.getuid?.() !== 0) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-'));
      writeFileSync(path.join(dir, 'c.json'), '{}');
      chmodSync(path.join(dir, 'c.json'), 0);
      expect(() => loadConfig(path.join(dir, 'c.json'))).toThrow('permission denied');
    }
  });
});

describe('the JSON Schema and the loader agree', () => {
  const ajv = new Ajv2020({ allErrors: true });
  const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')));
  it.each([
    { accounts: [{ ...account, retention: 'seven' }] },
    { accounts: [{ ...account, prot: 1 }] },
    { accounts: [{ ...account, port: 0 }] },
    { accounts: [{ ...account, tls: 'ssl' }] },
    { accounts: [{ ...account, auth: 'ntlm' }] },
    { accounts: [{ ...account, password: { env: 'A', file: 'b' } }] },
    { accounts: [{ ...account, deliver: { command: ['x'], maildir: '/m' } }] },
    { accounts: [{ ...account, deliver: { pipe: 'x' } }] },
    { accounts: [{ ...account, tlsOptions: { fingerprint: 'x' } }] },
    { accounts: [{ ...account, name: 'a b' }] },
    { accounts: [] },
    { defaults: { name: 'x' }, accounts: [account] },
    { accounts: [{ ...account, retention: '' }] },
    { accounts: [{ ...account, timeout: '' }] },
    { accounts: [{ ...account, keepalive: '' }] },
    { accounts: [{ ...account, deliver: { maildir: '/m', timeout: '' } }] },
    { defaults: { retention: '' }, accounts: [account] },
    { accounts: [{ ...account, timeout: 'never' }] },
    { accounts: [{ ...account, deadline: '' }] },
    { accounts: [{ ...account, deadline: 'never' }] },
    { accounts: [{ ...account, deadline: '0' }] },
    { accounts: [{ ...account, deadline: 'soon' }] },
    { accounts: [{ ...account, maxMessages: 0 }] },
    { accounts: [{ ...account, maxMessages: 1.5 }] },
    { accounts: [{ ...account, password: 'a\nb' }] },
    { accounts: [{ ...account, password: 'a\rb' }] },
    { accounts: [{ ...account, password: 'a\u0000b' }] },
    { accounts: [{ ...account, user: 'a\u0000b' }] },
  ])('both reject %j', (config) => {
    expect(validate(config)).toBe(false);
    expect(() => load(config)).toThrow(ConfigError);
  });

  it.each([
    { accounts: [{ ...account, deadline: '2h', maxMessages: 1000, keepalive: '0', retention: 'never' }] },
    { defaults: { deadline: '24d', maxMessages: 200_000 }, accounts: [{ ...account, password: 'a\u010d\u010ab' }] },
  ])('both accept %j', (config) => {
    expect(validate(config), JSON.stringify(validate.errors)).toBe(true);
    expect(load(config).accounts).toHaveLength(1);
  });
});

describe('secrets', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-secret-'));

  it('inline, environment, file (first line) and command (first line of output)', async () => {
    writeFileSync(path.join(dir, 'pw'), 'from-file\nsecond line\n', { mode: 0o600 });
    expect(await resolveSecret('inline', 'a')).toBe('inline');
    expect(await resolveSecret({ env: 'PM_TEST_PW' }, 'a', { PM_TEST_PW: 'from-env' })).toBe('from-env');
    expect(await resolveSecret({ file: path.join(dir, 'pw') }, 'a')).toBe('from-file');
    expect(await resolveSecret({ command: ['/bin/sh', '-c', 'echo token-123; echo more'] }, 'a')).toBe('token-123');
  });

  it.each([
    [{ env: 'PM_UNSET_VAR' }, 'accounts[0].password.env: environment variable PM_UNSET_VAR is not set'],
    [{ file: '/nonexistent/pw' }, 'accounts[0].password.file: cannot read /nonexistent/pw: no such file'],
    [{ command: ['/bin/sh', '-c', 'echo nope >&2; exit 3'] }, 'accounts[0].password.command: command "/bin/sh -c echo nope >&2; exit 3" exited with status 3: nope'],
    [{ command: ['/nonexistent/helper'] }, 'accounts[0].password.command: command "/nonexistent/helper" not found'],
    [{ command: ['/bin/true'] }, 'printed nothing'],
  ])('%j fails clearly', async (source, message) => {
    await expect(resolveSecret(source, 'accounts[0].password', {})).rejects.toThrow(message);
  });
});

describe('routes', () => {
  const routed = (route: unknown, extra: Record<string, unknown> = {}) => ({ accounts: [{ ...account, deliver: undefined, route, ...extra }] });

  it('loads the SPEC example pipeline', () => {
    const config = load(
      routed(
        [
          { match: { relayLimit: 30 }, drop: true },
          { match: { header: 'X-Spam-Flag', regex: '^YES' }, deliver: { maildir: '~/Mail/spam' } },
          { match: { to: '^hogehoge@' }, deliver: { command: ['/opt/jobs/hogehoge'] }, continue: true },
          { match: { sizeOver: '20M' }, deliver: { maildir: '~/Mail/big' } },
          { match: 'all', deliver: { command: ['/usr/bin/procmail'] } },
        ],
        { onFailure: { after: 5, deliver: { maildir: '~/Mail/quarantine' } } },
      ),
    );
    const a = config.accounts[0]!;
    expect(a.deliver).toBeNull();
    const route = a.processors!.get('root')!.rules;
    expect(route.map((r) => [r.target?.kind ?? 'drop', r.continue])).toEqual([
      ['drop', false],
      ['maildir', false],
      ['command', true],
      ['maildir', false],
      ['command', false],
    ]);
    expect(route[3]!.match).toEqual({ sizeOver: 20 * 1024 * 1024 });
    expect(a.onFailure).toMatchObject({ after: 5, target: { kind: 'maildir', dir: path.join(os.homedir(), 'Mail/quarantine') } });
  });

  it.each([
    ['an unreachable rule after a catch-all', routed([{ match: 'all', deliver: { maildir: '/a' } }, { match: { subject: 'x' }, deliver: { maildir: '/b' } }]), 'accounts[0].route[1]: unreachable: accounts[0].route[0] ("match": "all") ends the route for every message before it'],
    ['a route without deliver that does not end in "all"', routed([{ match: { subject: 'x' }, deliver: { maildir: '/b' } }]), 'accounts[0].route: without "deliver", the route must end with a rule { "match": "all", ... }'],
    ['a catch-all that only continues, without deliver', routed([{ match: 'all', deliver: { maildir: '/b' }, continue: true }]), 'the route must end with a rule { "match": "all"'],
    ['deliver never used', routed([{ match: 'all', deliver: { maildir: '/b' } }], { deliver: { maildir: '/c' } }), 'accounts[0].deliver: never used: accounts[0].route[0] ("match": "all") takes every message first'],
    ['an invalid regular expression', routed([{ match: { subject: '(unclosed' }, deliver: { maildir: '/b' } }, { match: 'all', drop: true }]), 'accounts[0].route[0].match.subject: invalid regular expression: /(unclosed/i: Unterminated group'],
    ['an invalid regex deep inside', routed([{ match: { and: [{ from: 'a' }, { not: { to: '[z-a]' } }] }, drop: true }, { match: 'all', drop: true }]), 'accounts[0].route[0].match.and[1].not.to: invalid regular expression'],
    ['an unknown matcher', routed([{ match: { subjekt: 'x' }, drop: true }]), 'accounts[0].route[0].match.subjekt: unknown matcher (did you mean "subject"?)'],
    ['two matchers in one', routed([{ match: { subject: 'x', from: 'y' }, drop: true }]), 'accounts[0].route[0].match: expected one matcher, got "subject", "from" (combine them with "and")'],
    ['header without regex', routed([{ match: { header: 'X-Spam' }, drop: true }]), 'accounts[0].route[0].match.regex: expected a regular expression, got undefined'],
    ['a bad size', routed([{ match: { sizeOver: '20MB' }, drop: true }]), 'accounts[0].route[0].match.sizeOver: expected a size like "20M"'],
    ['a bad relay limit', routed([{ match: { relayLimit: 0 }, drop: true }]), 'accounts[0].route[0].match.relayLimit: expected an integer of at least 1, got 0'],
    [
      'deliver and drop',
      routed([{ match: 'all', drop: true, deliver: { maildir: '/a' } }]),
      'accounts[0].route[0]: a rule needs exactly one of "deliver", "drop": true, "skip": true, "kill": true or "processor": NAME, not "deliver" and "drop"',
    ],
    ['a rule that does nothing', routed([{ match: 'all' }]), 'accounts[0].route[0]: a rule needs exactly one of "deliver", "drop": true, "skip": true, "kill": true or "processor": NAME'],
    ['skip false', routed([{ match: 'all', skip: false }]), 'accounts[0].route[0].skip: expected true (or leave "skip" out), got false'],
    [
      'skip that continues',
      routed([{ match: { sizeOver: '10M' }, skip: true, continue: true }, { match: 'all', drop: true }]),
      'accounts[0].route[0].continue: a "skip" rule leaves the message unread, so no rule after it can deliver it: leave "continue" out',
    ],
    [
      'kill after a rule that continues',
      routed([{ match: 'all', deliver: { maildir: '/a' }, continue: true }, { match: { sizeOver: '10M' }, kill: true }, { match: 'all', drop: true }]),
      'accounts[0].route[1]: a "kill" rule must come before any rule with "continue" (accounts[0].route[0]), which may already have delivered the message',
    ],
    ['drop false', routed([{ match: 'all', drop: false }]), 'accounts[0].route[0].drop: expected true (or leave "drop" out), got false'],
    ['a rule without match', routed([{ drop: true }]), 'accounts[0].route[0]: missing "match"'],
    ['an unknown rule key', routed([{ match: 'all', drop: true, contine: true }]), 'accounts[0].route[0].contine: unknown key (did you mean "continue"?)'],
    ['onFailure without after', { accounts: [{ ...account, onFailure: { deliver: { maildir: '/q' } } }] }, 'accounts[0].onFailure.after: expected an integer of at least 1 (failed runs), got undefined'],
    ['an empty route', routed([]), 'accounts[0].route: expected a non-empty array'],
  ])('%s', (_what, config, message) => {
    expect(problem(config)).toContain(message);
  });
});

describe('durations that would pass validation but break', () => {
  const targetWith = (timeout: string) => ({ maildir: '/m', timeout });
  it.each([
    ['empty retention', { accounts: [{ ...account, retention: '' }] }, 'accounts[0].retention: expected a duration like "7d", got ""'],
    ['empty timeout', { accounts: [{ ...account, timeout: '' }] }, 'accounts[0].timeout: expected a duration like "7d", got ""'],
    ['empty keepalive', { accounts: [{ ...account, keepalive: '' }] }, 'accounts[0].keepalive: expected a duration like "7d", got ""'],
    ['empty deadline', { accounts: [{ ...account, deadline: '' }] }, 'accounts[0].deadline: expected a duration like "7d", got ""'],
    ['empty delivery timeout', { accounts: [{ ...account, deliver: targetWith('') }] }, 'accounts[0].deliver.timeout: expected a duration like "7d", got ""'],
    ['empty default retention', { defaults: { retention: '' }, accounts: [account] }, 'defaults.retention: expected a duration like "7d", got ""'],
    ['a network timeout past what a timer takes', { accounts: [{ ...account, timeout: '4w' }] }, 'accounts[0].timeout: "4w" is too long for a timeout (at most 24d)'],
    ['a network timeout just past 24 days', { accounts: [{ ...account, timeout: '24d1s' }] }, 'accounts[0].timeout: "24d1s" is too long for a timeout (at most 24d)'],
    ['a default network timeout', { defaults: { timeout: '25d' }, accounts: [account] }, 'defaults.timeout: "25d" is too long for a timeout (at most 24d)'],
    ['a keepalive', { accounts: [{ ...account, keepalive: '4w' }] }, 'accounts[0].keepalive: "4w" is too long for a keepalive (at most 24d)'],
    ['a delivery timeout', { accounts: [{ ...account, deliver: targetWith('4w') }] }, 'accounts[0].deliver.timeout: "4w" is too long for a timeout (at most 24d)'],
    ['a command timeout', { accounts: [{ ...account, deliver: { command: ['x'], timeout: '5w' } }] }, 'accounts[0].deliver.timeout: "5w" is too long for a timeout (at most 24d)'],
    [
      'a route target timeout',
      { accounts: [{ ...account, deliver: undefined, route: [{ match: 'all', deliver: targetWith('4w') }] }] },
      'accounts[0].route[0].deliver.timeout: "4w" is too long for a timeout (at most 24d)',
    ],
    ['an onFailure target timeout', { accounts: [{ ...account, onFailure: { after: 3, deliver: targetWith('4w') } }] }, 'accounts[0].onFailure.deliver.timeout: "4w" is too long for a timeout (at most 24d)'],
    ['a default delivery timeout', { defaults: { deliver: targetWith('4w') }, accounts: [{ ...account, deliver: undefined }] }, 'defaults.deliver.timeout: "4w" is too long for a timeout (at most 24d)'],
    ['a deadline', { accounts: [{ ...account, deadline: '4w' }] }, 'accounts[0].deadline: "4w" is too long for a deadline (at most 24d)'],
    ['a huge deadline', { accounts: [{ ...account, deadline: '99999999999w' }] }, 'accounts[0].deadline: "99999999999w" is too long for a deadline (at most 24d)'],
    ['a deadline of never', { accounts: [{ ...account, deadline: 'never' }] }, 'accounts[0].deadline: expected a duration like "7d"; "never" is not allowed here'],
    ['a deadline of 0', { accounts: [{ ...account, deadline: '0' }] }, 'accounts[0].deadline: expected a duration like "7d"; "0" is not allowed here'],
    ['a deadline of 0s', { accounts: [{ ...account, deadline: '0s' }] }, 'accounts[0].deadline: expected a duration like "7d"; "0" is not allowed here'],
    ['a default deadline', { defaults: { deadline: '1y' }, accounts: [account] }, 'defaults.deadline: expected a duration like "7d", got "1y"'],
    ['a retention too long to hold', { accounts: [{ ...account, retention: '99999999999w' }] }, 'accounts[0].retention: "99999999999w" is too long (at most 10000w); use "never" for no limit'],
    ['a retention of 400 digits', { accounts: [{ ...account, retention: `${'9'.repeat(400)}s` }] }, `accounts[0].retention: "${'9'.repeat(57)}..." is too long (at most 10000w)`],
  ])('%s', (_what, config, message) => {
    expect(problem(config)).toContain(message);
  });
});

describe('maxMessages', () => {
  it.each([
    ['zero', { accounts: [{ ...account, maxMessages: 0 }] }, 'accounts[0].maxMessages: expected an integer from 1 to 10000000, got 0'],
    ['a fraction', { accounts: [{ ...account, maxMessages: 1.5 }] }, 'accounts[0].maxMessages: expected an integer from 1 to 10000000, got 1.5'],
    ['a string', { accounts: [{ ...account, maxMessages: '200' }] }, 'accounts[0].maxMessages: expected an integer from 1 to 10000000, got "200"'],
    ['in defaults', { defaults: { maxMessages: -1 }, accounts: [account] }, 'defaults.maxMessages: expected an integer from 1 to 10000000, got -1'],
  ])('%s', (_what, config, message) => {
    expect(problem(config)).toContain(message);
  });
});

describe('a password with a line break or NUL is a configuration error', () => {
  const why = 'contains a line break (CR or LF) or NUL, which cannot be sent in a POP3 command';
  it.each([
    ['LF', 'sec\nret'],
    ['CR', 'sec\rret'],
    ['CRLF and a command', 'sec\r\nDELE 1'],
    ['NUL', 'sec\u0000ret'],
  ])('inline, with %s', (_what, password) => {
    const message = problem({ accounts: [{ ...account, password }] });
    expect(message).toBe(`accounts[0].password: the password ${why}`);
    expect(problem({ defaults: { password }, accounts: [{ ...account, password: undefined }] })).toBe(`defaults.password: the password ${why}`);
  });

  it('from the environment, a file or a command, without showing it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-secret-'));
    writeFileSync(path.join(dir, 'cr'), 'sec\rret\n', { mode: 0o600 });
    writeFileSync(path.join(dir, 'nul'), 'sec\u0000ret\n', { mode: 0o600 });
    const cases: [Parameters<typeof resolveSecret>[0], string][] = [
      [{ env: 'PM_PW' }, `accounts[0].password.env: the password from environment variable PM_PW ${why}`],
      [{ file: path.join(dir, 'cr') }, `accounts[0].password.file: the password on the first line of ${path.join(dir, 'cr')} ${why}`],
      [{ file: path.join(dir, 'nul') }, `accounts[0].password.file: the password on the first line of ${path.join(dir, 'nul')} ${why}`],
      [{ command: ['/usr/bin/printf', 'sec\\rret\\n'] }, `accounts[0].password.command: the password printed by command ${JSON.stringify('/usr/bin/printf sec\\rret\\n')} ${why}`],
      ['sec\rret', `accounts[0].password: the password ${why}`],
    ];
    for (const value of ['sec\rret', 'sec\nret', 'sec\u0000ret']) {
      await expect(resolveSecret({ env: 'PM_PW' }, 'accounts[0].password', { PM_PW: value })).rejects.toThrow(cases[0]![1]);
    }
    for (const [source, message] of cases) {
      const err = await resolveSecret(source, 'accounts[0].password', { PM_PW: 'sec\rret' }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message).toBe(message);
      expect((err as ConfigError).message).not.toMatch(/sec.ret/);
    }
  });
});

describe('maxMessageSize and the most maxMessages may be', () => {
  it('maxMessageSize defaults to 1G and takes sizes like "50M"', () => {
    expect(load({ accounts: [account] }).accounts[0]!.maxMessageSize).toBe(1024 ** 3);
    expect(load({ defaults: { maxMessageSize: '50M' }, accounts: [account] }).accounts[0]!.maxMessageSize).toBe(50 * 1024 ** 2);
  });

  it.each([
    ['zero', '0', 'accounts[0].maxMessageSize: "0" is too small for a message (at least "1K")'],
    ['past 1024G', '2048G', 'accounts[0].maxMessageSize: "2048G" is too large (at most "1024G")'],
    ['not a size', 'big', 'accounts[0].maxMessageSize: expected a size like "50M", got "big"'],
  ])('maxMessageSize %s is refused with its path', (_what, value, message) => {
    expect(problem({ accounts: [{ ...account, maxMessageSize: value }] })).toBe(message);
  });

  it('maxMessages may not pass 10000000, the most a listing may hold', () => {
    expect(problem({ accounts: [{ ...account, maxMessages: 10_000_001 }] })).toMatch(/^accounts\[0\]\.maxMessages: /);
    expect(load({ accounts: [{ ...account, maxMessages: 10_000_000 }] }).accounts[0]!.maxMessages).toBe(10_000_000);
  });
});
