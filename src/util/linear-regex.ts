import { createRequire } from 'node:module';
import type RE2 from 're2';

/** re2 is a native addon a twentieth of a second to load: loaded by the first pattern, so a config without one never pays for it. */
const require = createRequire(import.meta.url);
let RE2Class: typeof RE2 | null = null;

/**
 * Every route pattern is compiled here, for the matchers and for the config check alike
 * (a leaf module, so that config and deliver need not import each other).
 *
 * RE2, not RegExp: RE2 matches in time linear in the header's length whatever the
 * pattern, where a backtracking RegExp given `^(\w+\s?)+$` and sixty letters and a `!`
 * spins for ever, deaf to signals, with the account's lock held (issue 11). The price
 * is no backreferences and no lookaround; src/config/route-schema.ts rejects those at load.
 *
 * Flags `iu`: case-insensitive, on code points. Header values are JS strings decoded
 * from the header bytes (src/deliver/route/headers.ts), and RE2 matches them as UTF-8 whatever the flags
 * say; `u` says so out loud. So `.` is one character even outside the BMP, case folds
 * by Unicode's simple folding (`É` matches `é`), `\p{L}` is any letter, while `\w`,
 * `\d`, `\s` and `\b` stay ASCII.
 */
export function compileRegex(pattern: string): RE2 {
  RE2Class ??= require('re2') as typeof RE2;
  return new RE2Class(pattern, 'iu');
}
