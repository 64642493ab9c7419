import { describe, expect, it } from 'vitest';
import { findJsonSyntaxError } from '../../../src/config/json-syntax.js';
import { parseConfig } from '../../../src/config/load.js';

describe('findJsonSyntaxError', () => {
  it.each([
    ['{\n  "a": }', 2, 8, /unexpected "}"/],
    ['{"a": 1,}', 1, 9, /trailing comma/],
    ['{"a" 1}', 1, 6, /expected ":"/],
    ['{"a": tru}', 1, 7, /unexpected "t"/],
    ['{"a": "x', 1, 9, /unterminated string/],
    ['', 1, 1, /end of file/],
    ['[1, 2', 1, 6, /expected "," or "\]"/],
    ['{"a": 1}}', 1, 9, /after the end/],
    ['{"a": "\\q"}', 1, 9, /bad escape/],
    ['{\n\n  // comment\n}', 3, 3, /expected a "quoted" key/],
  ])('%j fails at line %d, column %d', (text, line, column, message) => {
    const problem = findJsonSyntaxError(text);
    expect(problem).toMatchObject({ line, column });
    expect(problem!.message).toMatch(message);
  });

  it('finds nothing wrong in valid JSON', () => {
    expect(findJsonSyntaxError('{"a": [1, -2.5e3, true, false, null, "x\\u00e9"], "b": {}}')).toBeNull();
  });
});

describe('a key given twice', () => {
  it('is found with its JSON path and where it comes again; comments may repeat', async () => {
    const { findDuplicateKey } = await import('../../../src/config/json-syntax.js');
    const text = '{\n  "accounts": [\n    { "name": "a", "//": "x", "//": "y", "retention": "1d",\n      "retention": "never" }\n  ]\n}';
    expect(findDuplicateKey(text)).toEqual({ path: 'accounts[0].retention', line: 4, column: 7 });
    expect(findDuplicateKey('{"a": {"b": 1}, "c": {"b": 2}}')).toBeNull();
  });

  it('is a config error naming the path, not the last one silently winning', () => {
    const text = '{ "accounts": [ { "name": "jobs", "host": "h", "user": "u", "password": "p", "deliver": { "maildir": "/tmp/m" }, "retention": "1d", "retention": "0" } ] }';
    expect(() => parseConfig(text, '/etc/pinchmail/config.json')).toThrow('accounts[0].retention: given twice in the same object (again at line 1, column');
  });
});
