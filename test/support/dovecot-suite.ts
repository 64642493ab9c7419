import { describe } from 'vitest';
import { dovecotUnavailable } from './dovecot.js';

/**
 * `describe` for suites that need Dovecot: skipped with a visible notice where it is
 * missing, but failing outright when PINCHMAIL_REQUIRE_DOVECOT=1 (as in CI).
 */
export function describeWithDovecot(name: string, body: () => void): void {
  const why = dovecotUnavailable();
  if (why === null) {
    describe(name, body);
  } else if (process.env.PINCHMAIL_REQUIRE_DOVECOT === '1') {
    describe(name, () => {
      throw new Error(`PINCHMAIL_REQUIRE_DOVECOT=1 but ${why}`);
    });
  } else {
    process.stderr.write(`\n*** SKIPPING Dovecot tests "${name}": ${why}\n`);
    describe.skip(`${name} [skipped: ${why}]`, body);
  }
}

/**
 * `describe` for suites that mount file systems (a tiny tmpfs, a read-only one): they
 * need root, and like the Dovecot suites they skip visibly elsewhere but must run in CI.
 */
export function describeAsRoot(name: string, body: () => void): void {
  const why = process.getuid?.() === 0 ? null : 'mounting a tmpfs needs root';
  if (why === null) describe(name, body);
  else if (process.env.PINCHMAIL_REQUIRE_DOVECOT === '1') {
    describe(name, () => {
      throw new Error(`PINCHMAIL_REQUIRE_DOVECOT=1 but ${why}`);
    });
  } else {
    process.stderr.write(`\n*** SKIPPING "${name}": ${why}\n`);
    describe.skip(`${name} [skipped: ${why}]`, body);
  }
}
