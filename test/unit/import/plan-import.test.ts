import { describe, expect, it } from 'vitest';
import type { ImportedAccount } from '../../../src/import/model.js';
import { planImport } from '../../../src/import/plan-import.js';

const imported = (name: string, extra: Partial<ImportedAccount> = {}): ImportedAccount => ({
  name,
  account: { name, host: 'pop.example.com', user: name, deliver: { maildir: '/m' } },
  ...extra,
});

describe('what an import writes', () => {
  it('puts an inline password where it is told, never into a line it prints', () => {
    const accounts = [imported('a', { inlinePassword: 'pw-a' })];
    const file = planImport(accounts, 'file', '/cfg');
    expect(file.config.accounts[0]!.password).toEqual({ file: '/cfg/a.password' });
    expect(file.secretFiles).toEqual([{ path: '/cfg/a.password', text: 'pw-a\n' }]);
    const env = planImport(accounts, 'env', '/cfg');
    expect(env.config.accounts[0]!.password).toEqual({ env: 'PINCHMAIL_PASSWORD_A' });
    expect(env.secretFiles).toEqual([]);
    expect(planImport(accounts, 'inline', '/cfg').config.accounts[0]!.password).toBe('pw-a');
    for (const p of [file, env]) expect(p.passwordNotes.join('\n')).not.toContain('pw-a');
  });

  it('gives two accounts one name never, and leaves an incomplete one out of the config but not out of the import', () => {
    const p = planImport([imported('x'), imported('x'), imported('y', { incomplete: 'it names no host or no user', inlinePassword: 'secret' })], 'file', '/cfg');
    expect(p.config.accounts.map((a) => a.name)).toEqual(['x', 'x-2']);
    expect(p.accounts.map((a) => [a.name, a.written])).toEqual([['x', true], ['x-2', true], ['y', false]]);
    // The left-out account's password is written nowhere.
    expect(p.secretFiles).toEqual([]);
  });
});
