import { describe, expect, it } from 'vitest';
import { UidlListingParser, listingDigest } from '../../../src/pop3/listing.js';

function parse(lines: string[], count: number, checked?: string): ReturnType<UidlListingParser['finish']> {
  const parser = new UidlListingParser();
  // In two batches, as a listing arrives in pieces.
  parser.add(lines.slice(0, 1));
  parser.add(lines.slice(1));
  return parser.finish(count, checked);
}

describe('UidlListingParser', () => {
  it('returns the entries in server order with their digest', () => {
    const { entries, digest } = parse(['1 a', '2\tb  ', '3 c'], 3);
    expect(entries).toEqual([
      { msgNo: 1, uidl: 'a' },
      { msgNo: 2, uidl: 'b' },
      { msgNo: 3, uidl: 'c' },
    ]);
    expect(digest).toBe(listingDigest(entries));
    expect(digest).not.toBe(listingDigest([{ uidl: 'b' }, { uidl: 'a' }, { uidl: 'c' }]));
  });

  it('refuses a repeated unique-id, unless the very listing was checked before', () => {
    expect(() => parse(['1 a', '2 b', '3 a'], 3)).toThrow(/messages 1 and 3 the same UIDL "a"/);
    // The digest of some other, well-formed listing vouches for nothing.
    const other = listingDigest([{ uidl: 'a' }, { uidl: 'b' }]);
    expect(() => parse(['1 a', '2 b', '3 a'], 3, other)).toThrow(/same UIDL/);
    // A listing with the same unique-ids in the same order as a checked one is not checked again.
    const checked = parse(['1 a', '2 b'], 2).digest;
    expect(parse(['1 a', '2 b'], 2, checked).entries).toHaveLength(2);
  });

  it('holds message numbers to the count whatever was checked before', () => {
    const checked = parse(['1 a', '2 b'], 2).digest;
    expect(() => parse(['1 a', '3 b'], 2, checked)).toThrow(/lists message 3, but STAT said there are 2/);
    expect(() => parse(['1 a', '1 b'], 2, checked)).toThrow(/lists message 1 twice/);
  });

  it('refuses malformed lines and unique-ids', () => {
    expect(() => parse(['1 a', 'x b'], 2)).toThrow(/malformed UIDL/);
    expect(() => parse(['1 a', '2 b c'], 2)).toThrow(/malformed UIDL/);
    expect(() => parse(['1 a', `2 ${'z'.repeat(71)}`], 2)).toThrow(/not a valid unique-id/);
  });
});
