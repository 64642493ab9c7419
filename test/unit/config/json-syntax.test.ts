import { describe, expect, it } from 'vitest';
import { findJsonSyntaxError } from '../../../src/config/json-syntax.js';

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
