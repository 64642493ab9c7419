import { readFileSync, writeFileSync } from 'node:fs';
import { expect } from 'vitest';
import { runCli, type Workspace } from './cli.js';
import { crlfToLf } from './corpus.js';
import { dovecotServes, type Dovecot } from './dovecot.js';

const DAY = 86_400_000;

/**
 * What the end-to-end tests of `pinchmail import` share: an operator whose home is the
 * workspace, the messages they send (a dot line and 8-bit bytes, as real mail has), and
 * what must hold after an import from another fetcher that had delivered 3 messages,
 * with 2 new ones on the server since.
 */
export const operatorHome = (ws: Workspace): NodeJS.ProcessEnv => ({ HOME: ws.dir, XDG_CONFIG_HOME: '', XDG_STATE_HOME: '', PINCHMAIL_CONFIG: '' });

export const jobMessage = (n: number): Buffer => Buffer.from(`From: sender@example.org\nSubject: job ${n}\nMessage-ID: <${n}@example.org>\n\nline one\n.dot line\n\xe9 8-bit ${n}\n`, 'latin1');

/**
 * Right after the import, the dry run lists exactly the 2 new messages and nothing to
 * delete ("keep"); the run delivers exactly those, byte for byte (`delivered` reads what
 * the target holds); two days later with a retention of a day, the 5 delivered ones go,
 * the imported ones counted from when the other fetcher (or the import) saw them, and one
 * that has just arrived is delivered and stays.
 */
export async function expectOnlyNewDelivered(options: { ws: Workspace; dovecot: Dovecot; config: string; fresh: Buffer[]; delivered: () => Buffer[] }): Promise<void> {
  const { ws, dovecot, config, fresh, delivered } = options;
  const home = operatorHome(ws);
  const dry = await runCli(['--dry-run', '--json'], home);
  expect(dry.code, dry.stderr).toBe(0);
  const wouldBe = JSON.parse(dry.stdout).accounts[0];
  expect(wouldBe.fetch).toHaveLength(fresh.length);
  expect(wouldBe.delete).toEqual([]);

  const run = await runCli(['--json'], home);
  expect(run.code, run.stderr).toBe(0);
  expect(JSON.parse(run.stdout).accounts[0]).toMatchObject({ delivered: fresh.length, deleted: 0 });
  const all = delivered();
  expect(all).toHaveLength(3 + fresh.length);
  for (const m of fresh) expect(all.filter((f) => f.equals(crlfToLf(dovecotServes(m))))).toHaveLength(1);
  expect(dovecot.stored('jobs')).toHaveLength(3 + fresh.length);

  writeFileSync(config, readFileSync(config, 'utf8').replace('"retention": "never"', '"retention": "1d"'));
  dovecot.deliver('jobs', jobMessage(6));
  const later = await runCli(['--json'], { ...home, PINCHMAIL_TEST_NOW: String(Date.now() + 2 * DAY) });
  expect(later.code, later.stderr).toBe(0);
  expect(JSON.parse(later.stdout).accounts[0]).toMatchObject({ delivered: 1, deleted: 3 + fresh.length });
  expect(dovecot.contents('jobs').map(crlfToLf)).toEqual([crlfToLf(dovecotServes(jobMessage(6)))]);
  expect(delivered()).toHaveLength(4 + fresh.length);
}
