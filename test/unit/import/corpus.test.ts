/**
 * The import corpus: real configuration files of mpop, fetchmail and getmail6, each with
 * what `pinchmail import` is expected to make of it. A case is
 * test/fixtures/import/corpus/TOOL/NAME.rc (the other tool's file, as an operator would have
 * it) and NAME.expected.json beside it:
 *
 *   { "accounts": [...], "config": {...}, "untranslated": [...] }
 *
 * "accounts" is what the parser made of each account (its inline password shown as
 * "<inline>"), "config" the pinchmail config planImport writes from them (passwords in the
 * environment, every account taken as new, no refusal), "untranslated" every line reported
 * as not carried over, its file shown as NAME.rc. Paths are read as from user "op" with home
 * and working directory /home/op, and getmail's directory /home/op/.getmail, so the
 * expectations do not depend on who runs the test.
 *
 * For maintainers: after a deliberate change to a translation, rewrite the expected files
 * with
 *
 *   UPDATE_IMPORT_CORPUS=1 npx vitest run test/unit/import/corpus.test.ts
 *
 * then read the diff of every expected.json against the tool's manual before committing it:
 * these files are the reviewed translation, not a snapshot of whatever the code prints.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { parseFetchmailrc } from '../../../src/import/fetchmail.js';
import { parseGetmailrc } from '../../../src/import/getmail.js';
import { untranslatedLine, type ImportedAccount, type Untranslated } from '../../../src/import/model.js';
import { parseMpoprc } from '../../../src/import/mpop.js';
import { planImport } from '../../../src/import/plan-import.js';

const CORPUS = path.join(import.meta.dirname, '..', '..', 'fixtures', 'import', 'corpus');
const UPDATE = process.env.UPDATE_IMPORT_CORPUS === '1';

const HOME = '/home/op';
const CWD = '/home/op';
const LOCAL_USER = 'op';
const GETMAILDIR = '/home/op/.getmail';
/** Where the config is written: password files (unused with "env") would go beside it. */
const CONFIG_DIR = '/home/op/.config/pinchmail';

type Tool = 'mpop' | 'fetchmail' | 'getmail';
const TOOLS: Tool[] = ['mpop', 'fetchmail', 'getmail'];

/** Where the tool keeps the file a case stands for: its account names and relative paths come from there. */
const sourcePath = (tool: Tool, name: string): string =>
  tool === 'mpop' ? `${HOME}/.mpoprc` : tool === 'fetchmail' ? `${HOME}/.fetchmailrc` : `${GETMAILDIR}/getmailrc-${name}`;

function parse(tool: Tool, text: string, file: string): { accounts: ImportedAccount[]; untranslated: Untranslated[]; syntaxErrors?: Untranslated[] } {
  if (tool === 'mpop') return parseMpoprc(text, file, HOME, CWD);
  if (tool === 'fetchmail') return parseFetchmailrc(text, file, HOME, LOCAL_USER);
  return parseGetmailrc(text, file, HOME, GETMAILDIR);
}

/**
 * The passwords the file spells out, read from its text the way each tool writes them,
 * whether or not the parser understood the line (a syntax error may hide one).
 */
function passwordsIn(tool: Tool, rc: string): string[] {
  const found: string[] = [];
  // Comment lines are prose ("the password goes in clear text"), not settings.
  const text = rc.replace(tool === 'getmail' ? /^[ \t]*[#;].*$/gm : /^[ \t]*#.*$/gm, '');
  if (tool === 'mpop') {
    for (const m of text.matchAll(/^[ \t]*password[ \t]+(.+?)[ \t]*$/gm)) found.push(m[1]!.replace(/^"(.*)"$/, '$1'));
  } else if (tool === 'fetchmail') {
    // "auth password" names a login method, not a password.
    for (const m of text.matchAll(/(?<!\bauth(?:enticate)?\s+)(?<![\w-])pass(?:word)?\s+("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s,;:=]+)/g)) found.push(m[1]!.replace(/^(["'])(.*)\1$/s, '$2'));
  } else {
    for (const m of text.matchAll(/^[ \t]*password[ \t]*[=:][ \t]*(.+?)[ \t]*$/gm)) found.push(m[1]!);
  }
  // A word too short or too common to mean anything in a line ("on", "any") is not looked for.
  return found.filter((p) => p.length >= 4);
}

interface Expected {
  accounts: Record<string, unknown>[];
  config: { accounts: Record<string, unknown>[] };
  untranslated: string[];
  /** Where the tool itself refuses the file (fetchmail's syntax errors): the import then refuses it whole. */
  refused?: string[];
}

function translateCase(tool: Tool, name: string, text: string): { expected: Expected; inline: string[] } {
  const file = sourcePath(tool, name);
  const { accounts, untranslated, syntaxErrors = [] } = parse(tool, text, file);
  const plan = planImport({
    accounts: accounts.map((imported) => ({ imported, seen: null, missing: `${imported.seenFile ?? 'its seen-state file'} is not there` })),
    place: 'env',
    configDir: CONFIG_DIR,
    allNew: true,
    refusal: () => null,
    database: '/home/op/.local/state/pinchmail/state.sqlite',
  });
  const shown = `${name}.rc`;
  const line = (u: Untranslated): string => untranslatedLine({ ...u, file: u.file === file ? shown : u.file });
  return {
    expected: {
      accounts: accounts.map(({ inlinePassword, ...rest }) => ({ ...rest, ...(inlinePassword === undefined ? {} : { inlinePassword: '<inline>' }) })),
      config: plan.config,
      untranslated: untranslated.map(line),
      ...(syntaxErrors.length ? { refused: syntaxErrors.map(line) } : {}),
    },
    inline: accounts.flatMap((a) => (a.inlinePassword === undefined ? [] : [a.inlinePassword])),
  };
}

const casesOf = (tool: Tool): string[] =>
  readdirSync(path.join(CORPUS, tool))
    .filter((f) => f.endsWith('.rc'))
    .map((f) => f.slice(0, -'.rc'.length))
    .sort();

describe('the import corpus', () => {
  for (const tool of TOOLS) {
    describe(tool, () => {
      const cases = casesOf(tool);

      it('has cases', () => {
        expect(cases.length).toBeGreaterThan(0);
      });

      for (const name of cases) {
        it(name, () => {
          const rc = path.join(CORPUS, tool, `${name}.rc`);
          const json = path.join(CORPUS, tool, `${name}.expected.json`);
          const text = readFileSync(rc, 'utf8');
          const { expected, inline } = translateCase(tool, name, text);

          if (UPDATE) writeFileSync(json, `${JSON.stringify(expected, null, 2)}\n`);
          expect(expected).toEqual(JSON.parse(readFileSync(json, 'utf8')) as Expected);

          // What the import writes is a config pinchmail takes: an account it would refuse must have been left out.
          if (expected.config.accounts.length > 0) {
            expect(() => parseConfig(JSON.stringify(expected.config), path.join(CONFIG_DIR, 'pinchmail.json'))).not.toThrow();
          }

          // A password written in the file is never printed, nor copied into the config (it goes to the environment).
          const secrets = [...new Set([...inline, ...passwordsIn(tool, text)])];
          const config = JSON.stringify(expected.config);
          for (const secret of secrets) {
            for (const line of [...expected.untranslated, ...(expected.refused ?? [])]) expect(line, `a line shows a password of ${name}.rc`).not.toContain(secret);
            expect(config, `the config holds a password of ${name}.rc`).not.toContain(secret);
          }
        });
      }
    });
  }
});
