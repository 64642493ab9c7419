import { describe, expect, it } from 'vitest';
import { prettyLine } from '../../../src/cli/logger.js';
import { terminalText } from '../../../src/cli/terminal-text.js';

/** Anything a terminal would act on instead of showing: C0 but \n and \t, DEL, C1, and the bidi controls. */
const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/u;

describe('terminalText', () => {
  it.each([
    ['ESC of a CSI sequence', '\x1b[2J', '\\x1b[2J'],
    ['an OSC title with BEL', '\x1b]0;pwned\x07', '\\x1b]0;pwned\\x07'],
    ['carriage return, which overwrites the line', 'ok\rFAKE', 'ok\\rFAKE'],
    ['backspace', 'a\bb', 'a\\x08b'],
    ['NUL', 'a\0b', 'a\\x00b'],
    ['vertical tab and form feed', '\v\f', '\\x0b\\x0c'],
    ['DEL', 'a\x7fb', 'a\\x7fb'],
    ['C1 CSI', 'a\u009b31mb', 'a\\x9b31mb'],
    ['C1 range ends', '\u0080\u009f', '\\x80\\x9f'],
    ['right-to-left override', 'invoice\u202efdp.exe', 'invoice\\u202efdp.exe'],
    ['bidi embeddings and isolates', '\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069', '\\u202a\\u202b\\u202c\\u202d\\u2066\\u2067\\u2068\\u2069'],
  ])('escapes %s', (_what, raw, shown) => {
    expect(terminalText(raw)).toBe(shown);
    expect(terminalText(raw)).not.toMatch(RAW_CONTROL);
  });

  it('keeps newlines, tabs and ordinary text, non-ASCII included', () => {
    const text = 'line one\n\tcafé — 日本語 ✓ \u00a0 \\x1b\n';
    expect(terminalText(text)).toBe(text);
  });

  it('is idempotent, so text escaped once may pass another boundary', () => {
    const once = terminalText('\x1b[31mred\x07\u202e');
    expect(terminalText(once)).toBe(once);
  });

  it('leaves no raw control in any code point below U+2100', () => {
    let all = '';
    for (let c = 0; c < 0x2100; c++) all += String.fromCharCode(c);
    const shown = terminalText(all);
    expect(shown).not.toMatch(RAW_CONTROL);
    expect(shown.replace(/[^\n\t]/g, '')).toBe('\t\n');
  });
});

describe('prettyLine (the text log for a terminal)', () => {
  const event = (fields: Record<string, unknown>): string => `${JSON.stringify({ level: 40, time: 0, ...fields })}\n`;

  it('escapes the message, the account and every key=value', () => {
    const line = prettyLine(
      event({ account: 'jobs\x1b]0;x\x07', msg: 'delivery command said: \x1b[2J\x1b]0;pwned\x07', uidl: 'u\x1b[1m', detail: { why: '\u009b2J\u202e' } }),
    );
    expect(line).not.toMatch(RAW_CONTROL);
    expect(line).toContain('jobs\\x1b]0;x\\x07: delivery command said: \\x1b[2J\\x1b]0;pwned\\x07');
    expect(line).toContain('uidl=u\\x1b[1m');
    expect(line).toContain('\\x9b2J\\u202e');
    expect(line.endsWith('\n')).toBe(true);
  });

  it('escapes a line that is not JSON too', () => {
    expect(prettyLine('not json \x1b[2J\n')).toBe('not json \\x1b[2J\n');
  });
});
