import { describe, expect, it } from 'vitest';
import type { ImportedAccount, SeenState, SourceAccount } from '../../../src/import/model.js';
import { planImport, type ImportRequest } from '../../../src/import/plan-import.js';

/** An account as a parser gives it: its password inline (inlinePassword) or named, else one the source asks for. */
const imported = (name: string, extra: Partial<ImportedAccount> = {}, account: Record<string, unknown> = {}): ImportedAccount => ({
  name,
  account: { name, host: 'pop.example.com', user: name, retention: 'never', deliver: { maildir: '/m' }, ...(extra.inlinePassword || extra.askedPassword ? {} : { password: { env: 'PW' } }), ...account },
  seenFile: `/seen/${name}`,
  ...extra,
});
const seen = (file: string, ...uidls: [string, number | null][]): SeenState => ({ file, uidls: uidls.map(([uidl, firstSeen]) => ({ uidl, firstSeen })) });
const withSeen = (a: ImportedAccount, s: SeenState = seen(a.seenFile!)): SourceAccount => ({ imported: a, seen: s });
const unseen = (a: ImportedAccount): SourceAccount => ({ imported: a, seen: null, missing: `${a.seenFile} is not there` });
const plan = (accounts: SourceAccount[], extra: Partial<ImportRequest> = {}) =>
  planImport({ accounts, place: 'file', configDir: '/cfg', allNew: false, refusal: () => null, database: '/state/db.sqlite', ...extra });

describe('what an import writes', () => {
  it('puts an inline password where it is told, never into a line it prints', () => {
    const accounts = [withSeen(imported('a', { inlinePassword: 'pw-a' }))];
    const file = plan(accounts);
    expect(file.config.accounts[0]!.password).toEqual({ file: '/cfg/a.password' });
    expect(file.secretFiles).toEqual([{ path: '/cfg/a.password', text: 'pw-a\n' }]);
    const env = plan(accounts, { place: 'env' });
    expect(env.config.accounts[0]!.password).toEqual({ env: 'PINCHMAIL_PASSWORD_A' });
    expect(env.secretFiles).toEqual([]);
    expect(plan(accounts, { place: 'inline' }).config.accounts[0]!.password).toBe('pw-a');
    for (const p of [file, env]) expect(p.notes.join('\n')).not.toContain('pw-a');
  });

  it('gives two accounts one name never, and leaves an incomplete one out of the config but not out of the import', () => {
    const p = plan([withSeen(imported('x')), withSeen(imported('x', {}, { user: 'x2' })), withSeen(imported('y', { incomplete: 'it names no host or no user', inlinePassword: 'secret' }))]);
    expect(p.config.accounts.map((a) => a.name)).toEqual(['x', 'x-2']);
    expect(p.accounts.map((a) => [a.name, a.leftOut ?? null])).toEqual([['x', null], ['x-2', null], ['y', 'it names no host or no user']]);
    expect(p.mailboxes.map((m) => m.names)).toEqual([['x'], ['x-2'], ['y']]);
    // The left-out account's password is written nowhere.
    expect(p.secretFiles).toEqual([]);
  });

  it('leaves out only the account pinchmail refuses, with its words', () => {
    const p = plan([withSeen(imported('good')), withSeen(imported('bad', { inlinePassword: 'pw' }))], { refusal: (a) => (a.name === 'bad' ? '"tls": no' : null) });
    expect(p.config.accounts.map((a) => a.name)).toEqual(['good']);
    expect(p.notes).toEqual(['account bad: left out of the config, as pinchmail refuses it: "tls": no']);
    expect(p.secretFiles).toEqual([]);
    // Its UIDLs still count as delivered: an account added by hand later delivers nothing twice.
    expect(p.mailboxes.map((m) => m.names)).toEqual([['good'], ['bad']]);
  });

  it('polls a mailbox two source accounts name once, merging what both had seen, the earliest time winning', () => {
    // mpop's own example: "account default : freemail".
    const p = plan([withSeen(imported('freemail', {}, { user: 'joe' }), seen('/u', ['1', 200], ['2', null])), withSeen(imported('default', {}, { user: 'joe' }), seen('/u2', ['1', 100], ['3', 300]))]);
    expect(p.config.accounts.map((a) => a.name)).toEqual(['freemail']);
    expect(p.notes).toEqual(['account default: left out of the config, as it polls the same mailbox as account freemail, which pinchmail polls once (its UIDLs are merged into it)']);
    expect(p.mailboxes).toEqual([
      {
        stateKey: 'pop.example.com/joe',
        names: ['freemail', 'default'],
        files: ['/u', '/u2'],
        uidls: [
          { uidl: '1', firstSeen: 100 },
          { uidl: '2', firstSeen: null },
          { uidl: '3', firstSeen: 300 },
        ],
        alternates: [],
      },
    ]);
    const differs = plan([withSeen(imported('a', {}, { user: 'joe' })), withSeen(imported('b', {}, { user: 'joe', deliver: { maildir: '/other' } }))]);
    expect(differs.notes[0]).toMatch(/its own settings differ from a's: to keep both, add it by hand with a "stateKey" of its own$/);
  });

  it('leaves out an account that keeps mail but whose seen state is missing, unless told all is new', () => {
    const keeps = unseen(imported('k'));
    const deletes = unseen(imported('d', {}, { retention: '0' }));
    const p = plan([keeps, deletes]);
    expect(p.accounts.map((a) => [a.name, a.leftOut ?? null])).toEqual([
      ['k', 'it keeps mail on the server but /seen/k is not there: every message there would be delivered again (if the source really has delivered nothing from it, import again with --all-new)'],
      ['d', null],
    ]);
    expect(plan([keeps], { allNew: true }).config.accounts.map((a) => a.name)).toEqual(['k']);
  });

  it('names a variable for an account whose source asks for its password', () => {
    const p = plan([withSeen(imported('a', { askedPassword: 'mpop asks a key ring, ~/.netrc or the terminal for its password' }))]);
    expect(p.config.accounts[0]!.password).toEqual({ env: 'PINCHMAIL_PASSWORD_A' });
    expect(p.notes).toEqual(['account a: mpop asks a key ring, ~/.netrc or the terminal for its password; pinchmail asks nobody: set PINCHMAIL_PASSWORD_A to it where pinchmail runs, or name a file or a command in its "password"']);
  });
});

describe('what an adversarial review of the import found', () => {
  it('never merges the UIDLs of the same user and host on another port: that account gets a state key of its own', () => {
    const a = withSeen(imported('p1', {}, { user: 'alice', port: 11112 }), seen('/o1', ['1', 1], ['2', 2]));
    const b = withSeen(imported('p2', {}, { user: 'alice', port: 11113 }), seen('/o2', ['1', 1], ['2', 2], ['3', 3]));
    const p = plan([a, b]);
    expect(p.config.accounts.map((x) => [x.name, x.stateKey ?? null])).toEqual([
      ['p1', null],
      ['p2', 'pop.example.com/alice:11113'],
    ]);
    expect(p.mailboxes.map((m) => [m.stateKey, m.uidls.length])).toEqual([
      ['pop.example.com/alice', 2],
      ['pop.example.com/alice:11113', 3],
    ]);
  });

  it('keeps what the source kept, though its file says delete: "never" until the operator says otherwise', () => {
    const p = plan([withSeen(imported('k', {}, { retention: '0' }), seen('/ids', ['u1', null]))]);
    expect(p.config.accounts[0]!.retention).toBe('never');
    expect(p.notes[0]).toMatch(/^account k: its configuration deletes each message once delivered, yet \/ids holds 1 UIDL of messages it kept/);
    // With nothing seen, "0" is what the source did.
    expect(plan([withSeen(imported('d', {}, { retention: '0' }), seen('/ids'))]).config.accounts[0]!.retention).toBe('0');
  });

  it('never tells two accounts to read one password variable', () => {
    const p = plan([withSeen(imported('work.personal', { inlinePassword: 'a' })), withSeen(imported('work_personal', { inlinePassword: 'b' }, { user: 'other' }))], { place: 'env' });
    expect(p.config.accounts.map((a) => a.password)).toEqual([{ env: 'PINCHMAIL_PASSWORD_WORK_PERSONAL' }, { env: 'PINCHMAIL_PASSWORD_WORK_PERSONAL_2' }]);
  });

  it('says so when it carries over a setting that trusts more than pinchmail does by default, and names the database', () => {
    const p = plan([withSeen(imported('lax', {}, { tls: 'none', allowPlaintext: true, tlsOptions: { insecure: true } }))]);
    expect(p.notes).toEqual([
      'account lax: sends its password in clear text over a connection without TLS, as the source did ("allowPlaintext": true)',
      'account lax: accepts any certificate, as the source did ("tlsOptions": { "insecure": true })',
    ]);
    expect(p.config.database).toBe('/state/db.sqlite');
  });
});

describe('a password no POP3 command can carry', () => {
  it('leaves its account out rather than write a file whose first line alone would be read', () => {
    const p = plan([withSeen(imported('nl', { inlinePassword: 'line one\nline two' }))]);
    expect(p.accounts[0]!.leftOut).toBe('its password holds a line break or NUL, which no POP3 command can carry');
    expect(p.secretFiles).toEqual([]);
  });
});
