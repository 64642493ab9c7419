import { describe, expect, it } from 'vitest';
import { dotStuff } from '../../../src/devserver/dot-stuff.js';
import { MultilineDecoder, type LineEnds } from '../../../src/pop3/multiline-decoder.js';
import { corpus, expectedBody, prng } from '../../support/corpus.js';

const NEXT = Buffer.from('+OK next reply\r\n', 'latin1');

/** Feeds `pieces` to a fresh decoder; returns the body and what was left after the terminator. */
function decode(pieces: Buffer[], lineEnds: LineEnds): { body: Buffer; rest: Buffer } {
  const decoder = new MultilineDecoder(lineEnds);
  const out: Buffer[] = [];
  const rest: Buffer[] = [];
  for (const piece of pieces) {
    if (decoder.finished) {
      rest.push(piece);
      continue;
    }
    const { data, end } = decoder.push(piece);
    out.push(Buffer.from(data));
    if (end !== -1) rest.push(piece.subarray(end));
  }
  expect(decoder.finished).toBe(true);
  return { body: Buffer.concat(out), rest: Buffer.concat(rest) };
}

describe('MultilineDecoder', () => {
  for (const [name, content] of Object.entries(corpus)) {
    for (const lineEnds of ['crlf', 'lf'] as const) {
      const wire = Buffer.concat([dotStuff(content), NEXT]);
      const want = expectedBody(content, lineEnds);

      it(`${name} (${lineEnds}): every two-way cut gives the same bytes`, () => {
        for (let k = 0; k <= wire.length; k++) {
          const { body, rest } = decode([wire.subarray(0, k), wire.subarray(k)], lineEnds);
          if (!body.equals(want) || !rest.equals(NEXT)) {
            expect({ k, body: body.toString('latin1') }).toEqual({ k, body: want.toString('latin1') });
            expect(rest.toString('latin1')).toBe(NEXT.toString('latin1'));
          }
        }
      });

      it(`${name} (${lineEnds}): one byte at a time, and random chunkings`, () => {
        const single = [...wire].map((b) => Buffer.from([b]));
        expect(decode(single, lineEnds).body.equals(want)).toBe(true);
        const random = prng(name.length * 7919 + lineEnds.length);
        for (let round = 0; round < 200; round++) {
          const pieces: Buffer[] = [];
          for (let at = 0; at < wire.length; ) {
            const len = 1 + Math.floor(random() * (random() < 0.5 ? 4 : 64));
            pieces.push(wire.subarray(at, at + len));
            at += len;
          }
          const { body, rest } = decode(pieces, lineEnds);
          expect(body.equals(want), `round ${round}`).toBe(true);
          expect(rest.equals(NEXT)).toBe(true);
        }
      });
    }
  }

  it('ends at the first terminator and reports wire bytes consumed', () => {
    const decoder = new MultilineDecoder();
    const { data, end } = decoder.push(Buffer.from('a\r\n..b\r\n.\r\nXYZ', 'latin1'));
    expect(data.toString('latin1')).toBe('a\r\n.b\r\n');
    expect(end).toBe(11);
    expect(decoder.consumed).toBe(11);
  });

  it('does not take ".\\n" (bare LF) for the terminator', () => {
    const decoder = new MultilineDecoder();
    const step = decoder.push(Buffer.from('a\r\n.\nb\r\n', 'latin1'));
    expect(step.end).toBe(-1);
    expect(step.data.toString('latin1')).toBe('a\r\n\nb\r\n');
  });

  it('refuses input after the terminator', () => {
    const decoder = new MultilineDecoder();
    decoder.push(Buffer.from('.\r\n'));
    expect(() => decoder.push(Buffer.from('x'))).toThrow();
  });
});
