/**
 * Files an import reads may be anything: each case here is a shape that once took
 * super-linear time (a regex backtracking over a run of blanks, a search started again from
 * every "[" or "${", a scan of the whole file for each "#" or each syntax error, sections
 * naming each other over and over). Each is built at 100k and 200k characters (1 MB where
 * that is cheap) and has to come out sane; how long it takes is measured outside the tests,
 * which assert no timings. And a password is never shown, whatever line it is on.
 */
import { describe, expect, it } from 'vitest';
import { parseFetchmailrc } from '../../../src/import/fetchmail.js';
import { bracketedNames, MAX_TARGETS } from '../../../src/import/getmail-destination.js';
import { expandUserVars, pythonTuple, readOption } from '../../../src/import/getmail-ini.js';
import { parseGetmailrc } from '../../../src/import/getmail.js';
import { untranslatedLine } from '../../../src/import/model.js';

const SIZES = [100_000, 200_000];
const WITH_1MB = [...SIZES, 1_000_000];
/** `unit` repeated to about n characters. */
const fill = (unit: string, n: number): string => unit.repeat(Math.ceil(n / unit.length));

const POP = '[retriever]\ntype = SimplePOP3SSLRetriever\nserver = h\nusername = u\npassword = p\nca_certs = /ca.pem\n';
const QUIET = '[options]\nread_all = false\ndelivered_to = false\nreceived = false\n';
const getmail = (rc: string): ReturnType<typeof parseGetmailrc> => parseGetmailrc(rc, 'rc', '/h', '/h/.getmail');
const fetchmail = (rc: string): ReturnType<typeof parseFetchmailrc> => parseFetchmailrc(rc, '/home/op/.fetchmailrc', '/home/op', 'op');

describe('getmail: hostile rc files read in linear time', () => {
  it.each(WITH_1MB)('a key line "a", %i blanks, "b" (no delimiter): one ParsingError', (n) => {
    const { accounts, untranslated } = getmail(`${POP}[destination]\ntype = Maildir\npath = /m/\n${QUIET}a${' '.repeat(n)}b\n`);
    expect(accounts[0]!.incomplete).toBe('getmail itself refuses this file (line 14: not "key = value" (configparser\'s ParsingError))');
    expect(untranslated.map((u) => u.line)).toEqual([14]);
  });

  it.each(WITH_1MB)('a key, %i blanks, "=", a value: read as configparser does', (n) => {
    const { accounts, untranslated } = getmail(`${POP}[destination]\ntype = Maildir\npath${' '.repeat(n)}=${' '.repeat(n)}/m/\n${QUIET}`);
    expect(accounts[0]!.account.deliver).toEqual({ maildir: '/m/' });
    expect(untranslated).toEqual([]);
  });

  it.each(WITH_1MB)('a MultiSorter value of %i "[": one line for it, the sections it names read', (n) => {
    const { accounts, untranslated } = getmail(`${POP}[destination]\ntype = MultiSorter\nlocals = [k] ${'['.repeat(n)}\n[k]\ntype = Maildir\npath = /m/\n${QUIET}`);
    expect(accounts[0]!.incomplete).toBe('it has no delivery pinchmail can do');
    // [k] is named, so not "a section getmail does not read".
    expect(untranslated.map((u) => u.line)).toEqual([8]);
    // As the regex /\[([^\]]+)\]/g: from a "[" to the first "]", "[" and all.
    expect(bracketedNames(`${'['.repeat(n)}k]`)).toEqual([`${'['.repeat(n - 1)}k`]);
    expect(bracketedNames(`[]${'['.repeat(n)}`)).toEqual([]);
  });

  it.each(SIZES)('a MultiSorter naming one section %i times over: its entries marked once', (n) => {
    const entries = Array.from({ length: n / 10 }, (_, i) => `k${i} = v`).join('\n');
    const { untranslated } = getmail(`${POP}[destination]\ntype = MultiSorter\nlocals = ${fill('[t]', n)}\n[t]\n${entries}\n${QUIET}`);
    expect(untranslated.map((u) => u.line)).toEqual([8]);
  });

  it.each(WITH_1MB)('a path of %i "${": taken as written, or as a variable it cannot expand', (n) => {
    const vars = fill('${', n);
    const plain = getmail(`${POP}[destination]\ntype = Maildir\npath = /${vars}\n${QUIET}`);
    expect(plain.accounts[0]!.account.deliver).toEqual({ maildir: `/${vars}` });
    const closed = getmail(`${POP}[destination]\ntype = Maildir\npath = /${vars}}\n${QUIET}`);
    expect(closed.accounts[0]!.incomplete).toBe('its "path" is a path this import cannot make absolute');
    expect(closed.untranslated.map((u) => u.why)).toEqual(['getmail expands this from its environment (a variable other than $HOME, or ~user): write the path it stands for']);
    // A "${" with no "}" after it is no variable: the $HOME after them is.
    expect(expandUserVars(`${fill('${', n)}$HOME`, '/h')).toBe(`${fill('${', n)}/h`);
    expect(expandUserVars(`${fill('${', n)}$HOME}`, '/h')).toBeNull();
    expect(expandUserVars(`${fill('$', n)}/x`, '/h')).toBe(`${fill('$', n)}/x`);
  });

  it.each(SIZES)('sections naming each other, %i characters of them: each read once, refused past MAX_TARGETS deliveries', (n) => {
    // Seven levels (getmail's depth, as this import follows it, is eight), each naming the next k times: k^7 paths through them.
    const levels = 7;
    let rc = `${POP}[destination]\ntype = MultiDestination\ndestinations = ("[d1]",)\n`;
    for (let d = 1; d <= levels; d++) rc += `[d${d}]\ntype = MultiDestination\ndestinations = (${fill(`"[d${d + 1}]",`, n / levels)})\n`;
    const { accounts, untranslated } = getmail(`${rc}[d${levels + 1}]\ntype = Maildir\npath = /m/\nuser = x\n${QUIET}`);
    expect(accounts[0]!.incomplete).toBe(`its MultiDestination comes to more than ${MAX_TARGETS} deliveries`);
    expect(untranslated.filter((u) => u.why === 'pinchmail delivers as the user it runs as')).toHaveLength(1);
  });

  it('a section named again: delivered again, its lines said once (at each depth it is named)', () => {
    const { accounts, untranslated } = getmail(`${POP}[destination]\ntype = MultiDestination\ndestinations = ("[a]", "[a]", "/b")\n[a]\ntype = Maildir\npath = /a/\nuser = x\n${QUIET}`);
    expect(accounts[0]!.account.route).toEqual([
      { match: 'all', deliver: { maildir: '/a/' }, continue: true },
      { match: 'all', deliver: { maildir: '/a/' }, continue: true },
      { match: 'all', deliver: { mbox: '/b' } },
    ]);
    expect(untranslated.map((u) => `${u.line}: ${u.why}`)).toEqual(['13: pinchmail delivers as the user it runs as']);
    const deeper = getmail(`${POP}[destination]\ntype = MultiDestination\ndestinations = ("[a]", "[b]")\n[a]\ntype = Maildir\npath = /a/\nuser = x\n[b]\ntype = MultiDestination\ndestinations = ("[a]", "[a]")\n${QUIET}`);
    expect((deeper.accounts[0]!.account.route as unknown[]).length).toBe(3);
    expect(deeper.untranslated.map((u) => u.line)).toEqual([13, 13]);
  });

  it(`a MultiDestination of ${MAX_TARGETS} deliveries is taken`, () => {
    const { accounts } = getmail(`${POP}[destination]\ntype = MultiDestination\ndestinations = (${'"[a]",'.repeat(MAX_TARGETS / 4)})\n[a]\ntype = MultiDestination\ndestinations = ("/1/", "/2/", "[b]")\n[b]\ntype = MultiDestination\ndestinations = ("/3/", "/4")\n${QUIET}`);
    expect(accounts[0]!.incomplete).toBeUndefined();
    expect(accounts[0]!.account.route).toHaveLength(MAX_TARGETS);
  });

  it.each(SIZES)('a MultiDestination of %i characters of sections that are not there: each refused once', (n) => {
    const names = Array.from({ length: Math.ceil(n / 9) }, (_, i) => `"[x${i}]",`);
    const { accounts, untranslated } = getmail(`${POP}[destination]\ntype = MultiDestination\ndestinations = (${names.join('')})\n${QUIET}`);
    expect(accounts[0]!.incomplete).toMatch(/^getmail itself refuses this file \(line 9: no section \[x0\]\); /);
    expect(untranslated).toHaveLength(names.length);
  });

  it.each(WITH_1MB)('%i "(": refused, as Python refuses more than 200 parentheses open', (n) => {
    const { accounts } = getmail(`${POP}[destination]\ntype = MDA_external\npath = /bin/x\narguments = ${'('.repeat(n)}\n${QUIET}`);
    expect(accounts[0]!.incomplete).toBe('getmail itself refuses this file (line 10: not a Python tuple of strings)');
    expect(pythonTuple(`${'('.repeat(200)}'a',${')'.repeat(200)}`)).toEqual(['a']);
    expect(pythonTuple(`${'('.repeat(201)}'a',${')'.repeat(201)}`)).toBeNull();
  });

  it.each(WITH_1MB)('a tuple of %i characters of strings and escapes', (n) => {
    const items = fill("'a\\101',", n);
    const { accounts } = getmail(`${POP}[destination]\ntype = MDA_external\npath = /bin/x\narguments = (${items})\n${QUIET}`);
    expect((accounts[0]!.account.deliver as { command: string[] }).command).toHaveLength(items.length / 8 + 1);
  });

  it.each(WITH_1MB)('%i characters of lines configparser refuses, and of a header with no "]"', (n) => {
    const junk = getmail(`${POP}${fill('x\n', n)}`);
    expect(junk.untranslated.filter((u) => u.why.includes('ParsingError'))).toHaveLength(n / 2);
    const header = getmail(`${POP}[${'a'.repeat(n)}\n`);
    expect(header.accounts[0]!.incomplete).toMatch(/^getmail itself refuses this file \(line 7: not "key = value"/);
  });
});

describe('getmail: the key line as configparser\'s OPTCRE reads it', () => {
  const OPTCRE = /^(.*?)\s*([=:])\s*(.*)$/;
  it('is the regex, on short lines of every kind', () => {
    const alphabet = ['a', ' ', '\t', '=', ':', '\u00a0', '\u2028'];
    const lines: string[] = [''];
    for (let len = 1; len <= 5; len++) for (let i = 0; i < alphabet.length ** len; i++) lines.push(Array.from({ length: len }, (_, j) => alphabet[Math.floor(i / alphabet.length ** j) % alphabet.length]).join(''));
    for (const line of lines) {
      const m = OPTCRE.exec(line);
      expect(readOption(line), JSON.stringify(line)).toEqual(m ? { key: m[1], value: m[3] } : null);
    }
  });

  it('the first delimiter, blanks around it dropped', () => {
    expect(readOption('a b = c = d')).toEqual({ key: 'a b', value: 'c = d' });
    expect(readOption('url: http://x')).toEqual({ key: 'url', value: 'http://x' });
    expect(readOption('= v')).toEqual({ key: '', value: 'v' });
    expect(readOption('no delimiter')).toBeNull();
  });
});

describe('fetchmail: hostile rc files read in linear time', () => {
  it.each(WITH_1MB)('%i characters of "# " and no newline: each a word, one syntax error', (n) => {
    const { accounts, syntaxErrors } = fetchmail(fill('# ', n));
    expect(accounts).toEqual([]);
    expect(syntaxErrors.map((e) => `${e.line}: ${e.text}`)).toEqual(['1: #']);
  });

  it.each(WITH_1MB)('%i characters of comments with a newline at the end: nothing', (n) => {
    const { accounts, syntaxErrors } = fetchmail(`${fill('# ', n)}\npoll h user u password p\n`);
    expect(syntaxErrors).toEqual([]);
    expect(accounts.map((a) => a.name)).toEqual(['h']);
  });

  it.each(WITH_1MB)('%i characters of "set x ": a syntax error each', (n) => {
    const text = fill('set x ', n);
    const { syntaxErrors } = fetchmail(text);
    expect(syntaxErrors).toHaveLength(text.length / 6);
    expect(new Set(syntaxErrors.map((e) => e.text))).toEqual(new Set(['x']));
  });

  it.each(WITH_1MB)('%i characters of words after a password, on its line: never shown', (n) => {
    const { syntaxErrors } = fetchmail(`poll h user u password s3cret ${fill('x ', n)}\n`);
    expect(syntaxErrors.map((e) => e.text)).toEqual(['********']);
  });

  it.each(WITH_1MB)('%i characters of quotes, closed and not', (n) => {
    // A run of quotes is one word, longer than the '' at its start.
    expect(fetchmail(fill("'", n)).syntaxErrors.map((e) => e.text.length)).toEqual([n]);
    expect(fetchmail(`poll h user u password p ${fill('a"b ', n)}"\n`).syntaxErrors).toHaveLength(1);
  });

  it.each(SIZES)('%i characters of entries', (n) => {
    const { accounts, syntaxErrors } = fetchmail(fill('poll h user u password p keep\n', n));
    expect(syntaxErrors).toEqual([]);
    expect(accounts).toHaveLength(Math.ceil(n / 30));
  });
});

describe('getmail: a password is never shown', () => {
  const SECRET = 'hunter2';
  const shown = (rc: string): string[] => getmail(rc).untranslated.map(untranslatedLine);

  it('a password line getmail does not read: [DEFAULT], [destination], a misspelt key in [options]', () => {
    const lines = shown(`[DEFAULT]\npassword = ${SECRET}\n${POP}[destination]\ntype = Maildir\npath = /m/\nPassword: ${SECRET}\n${QUIET}passwd = ${SECRET}\n`);
    expect(lines).toEqual([
      'rc:2: password = ********: getmail reads [DEFAULT] for [options] only, and this is no option there',
      'rc:12: Password = ********: getmail\'s Maildir takes no "password" and ignores it',
      'rc:17: passwd = ********: not a getmail option; getmail ignores it',
    ]);
  });

  it('a password given twice, a password_command noted, a password before any section', () => {
    expect(shown(`${POP}password = ${SECRET}\n[destination]\ntype = Maildir\npath = /m/\n${QUIET}`)).toEqual([
      'rc:7: password = ********: getmail refuses this file: "password" a second time in [retriever] (configparser\'s DuplicateOptionError)',
    ]);
    expect(shown(`${POP}password_command = ('${SECRET}',)\n[destination]\ntype = Maildir\npath = /m/\n${QUIET}`)).toEqual([
      'rc:7: password_command = ********: a password is given, so getmail never runs password_command',
    ]);
    expect(shown(`password = ${SECRET}\n${POP}[destination]\ntype = Maildir\npath = /m/\n${QUIET}`)[0]).toBe(
      "rc:1: password = ********: getmail refuses this file: a line before the first [section] (configparser's MissingSectionHeaderError)",
    );
  });

  it('a line configparser cannot read after a password and its continuation, or naming one', () => {
    // Each line that is neither a key nor indented leaves the password's value open, as configparser does.
    const lines = shown(`${POP.replace('password = p', `password = p\n  continued\n${SECRET} more\n\n# comment\nand ${SECRET}`)}[destination]\ntype = Maildir\npath = /m/\nmy password ${SECRET}\n${QUIET}`);
    expect(lines).toEqual([
      'rc:7: ********: getmail refuses this file: not "key = value" (configparser\'s ParsingError)',
      'rc:10: ********: getmail refuses this file: not "key = value" (configparser\'s ParsingError)',
      'rc:15: my password ********: getmail refuses this file: not "key = value" (configparser\'s ParsingError)',
    ]);
    // A line after another key's value is shown.
    expect(shown(`${POP}[destination]\ntype = Maildir\npath = /m/\nstray\n${QUIET}`)).toEqual(['rc:10: stray: getmail refuses this file: not "key = value" (configparser\'s ParsingError)']);
  });

  it('nor in anything the translation says of an IMAP file', () => {
    const { untranslated } = getmail(`${POP.replace('SimplePOP3SSLRetriever', 'SimpleIMAPSSLRetriever').replace('password = p', `password = ${SECRET}`)}[destination]\ntype = Maildir\npath = /m/\n`);
    expect(untranslated.length).toBeGreaterThan(0);
    expect(JSON.stringify(untranslated)).not.toContain(SECRET);
  });
});
