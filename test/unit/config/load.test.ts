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
    ['deliver both', { accounts: [{ ...account, deliver: { command: ['x'], maildir: '/m' } }] }, 'accounts[0].deliver: give either "command" or "maildir", not both'],
    ['deliver unknown key', { accounts: [{ ...account, deliver: { maildir: '/m', mode: 1 } }] }, 'accounts[0].deliver.mode: unknown key'],
    ['deliver empty argv', { accounts: [{ ...account, deliver: { command: [] } }] }, 'accounts[0].deliver.command: expected a non-empty array'],
    ['bad timeout', { accounts: [{ ...account, timeout: 'never' }] }, 'accounts[0].timeout: expected a duration like "7d"; "never" is not allowed here'],
    ['bad pin', { accounts: [{ ...account, tlsOptions: { fingerprint: 'AB:CD' } }] }, 'accounts[0].tlsOptions.fingerprint: expected a certificate pin like "sha256:AB:CD:..." (64 hex digits), got "AB:CD"'],
    ['bad default', { defaults: { retention: 'soon' }, accounts: [account] }, 'defaults.retention: expected a duration like "7d", got "soon"'],
    ['name in defaults', { defaults: { name: 'x' }, accounts: [account] }, 'defaults.name: unknown key'],
    ['clear text to a remote host', { accounts: [{ ...account, tls: 'none', auth: 'plain' }] }, 'accounts[0].auth: "auth": "plain" would send the secret in clear text to pop.example.com'],
    ['user name with a line break', { accounts: [{ ...account, user: 'a\r\nDELE 1' }] }, 'accounts[0].user: expected a non-empty user name'],
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
  ])('both reject %j', (config) => {
    expect(validate(config)).toBe(false);
    expect(() => load(config)).toThrow(ConfigError);
  });
});

describe('secrets', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-secret-'));

  it('inline, environment, file (first line) and command (first line of output)', async () => {
    writeFileSync(path.join(dir, 'pw'), 'from-file\nsecond line\n');
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
    expect(a.route!.map((r) => [r.target?.kind ?? 'drop', r.continue])).toEqual([
      ['drop', false],
      ['maildir', false],
      ['command', true],
      ['maildir', false],
      ['command', false],
    ]);
    expect(a.route![3]!.match).toEqual({ sizeOver: 20 * 1024 * 1024 });
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
    ['deliver and drop', routed([{ match: 'all', drop: true, deliver: { maildir: '/a' } }]), 'accounts[0].route[0]: a rule needs exactly one of "deliver" or "drop": true'],
    ['drop false', routed([{ match: 'all', drop: false }]), 'accounts[0].route[0].drop: expected true (or leave "drop" out), got false'],
    ['a rule without match', routed([{ drop: true }]), 'accounts[0].route[0]: missing "match"'],
    ['an unknown rule key', routed([{ match: 'all', drop: true, contine: true }]), 'accounts[0].route[0].contine: unknown key (did you mean "continue"?)'],
    ['onFailure without after', { accounts: [{ ...account, onFailure: { deliver: { maildir: '/q' } } }] }, 'accounts[0].onFailure.after: expected an integer of at least 1 (failed runs), got undefined'],
    ['an empty route', routed([]), 'accounts[0].route: expected a non-empty array'],
  ])('%s', (_what, config, message) => {
    expect(problem(config)).toContain(message);
  });
});
