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
  planImport({ accounts, place: 'file', configDir: '/cfg', allNew: false, refusal: () => null, ...extra });

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
