import { afterAll, afterEach, beforeAll, beforeEach, describe } from 'vitest';
import { Workspace } from './cli.js';
import { dovecotUnavailable, startDovecot, type Dovecot } from './dovecot.js';

/**
 * `describe` for suites that need something this machine may lack (`why` says what, or
 * is null when it has it): skipped with a visible notice, but failing outright when
 * PINCHMAIL_REQUIRE_DOVECOT=1 (as in CI).
 */
export function describeIf(name: string, what: string, why: string | null, body: () => void): void {
  if (why === null) {
    describe(name, body);
  } else if (process.env.PINCHMAIL_REQUIRE_DOVECOT === '1') {
    describe(name, () => {
      throw new Error(`PINCHMAIL_REQUIRE_DOVECOT=1 but ${why}`);
    });
  } else {
    process.stderr.write(`\n*** SKIPPING ${what} "${name}": ${why}\n`);
    describe.skip(`${name} [skipped: ${why}]`, body);
  }
}

/** `describe` for suites that need Dovecot (see describeIf). */
export function describeWithDovecot(name: string, body: () => void): void {
  describeIf(name, 'Dovecot tests', dovecotUnavailable(), body);
}

/**
 * `describe` for suites that mount file systems (a tiny tmpfs, a read-only one): they
 * need root, and like the Dovecot suites they skip visibly elsewhere but must run in CI.
 */
export function describeAsRoot(name: string, body: () => void): void {
  describeIf(name, 'tests', process.getuid?.() === 0 ? null : 'mounting a tmpfs needs root', body);
}

/**
 * For a suite against one private Dovecot: started once with `users` before the suite,
 * stopped after; a fresh Workspace for each test. Call inside the describe body; the
 * getters give what the hooks made.
 */
export function privateDovecotAndWorkspace(users: string[]): { dovecot: () => Dovecot; ws: () => Workspace } {
  let dovecot: Dovecot | undefined;
  let ws: Workspace | undefined;
  beforeAll(async () => {
    dovecot = await startDovecot(users);
  });
  afterAll(async () => {
    await dovecot?.stop();
  });
  beforeEach(() => {
    ws = new Workspace();
  });
  afterEach(() => {
    ws?.remove();
  });
  return { dovecot: () => dovecot!, ws: () => ws! };
}
