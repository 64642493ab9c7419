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

  it('sets apart messages that share a unique-id, and looks for them unless the very listing was checked before', () => {
    const shared = parse(['1 a', '2 b', '3 a'], 3);
    expect(shared.entries).toEqual([{ msgNo: 2, uidl: 'b' }]);
    expect(shared.unidentified).toEqual([
      { msgNo: 1, uidl: 'a', why: 'shared with message 3' },
      { msgNo: 3, uidl: 'a', why: 'shared with message 1' },
    ]);
    // The digest of some other, well-formed listing vouches for nothing.
    const other = listingDigest([{ uidl: 'a' }, { uidl: 'b' }]);
    expect(parse(['1 a', '2 b', '3 a'], 3, other).unidentified).toHaveLength(2);
    // Three holders of one unique-id each name the other two.
    expect(parse(['1 a', '2 a', '3 a'], 3).unidentified.map((u) => u.why)).toEqual([
      'shared with messages 2, 3',
      'shared with messages 1, 3',
      'shared with messages 1, 2',
    ]);
    // A listing with the same unique-ids in the same order as a checked one is not checked again.
    const checked = parse(['1 a', '2 b'], 2).digest;
    expect(parse(['1 a', '2 b'], 2, checked).entries).toHaveLength(2);
  });

  it('holds message numbers to the count whatever was checked before', () => {
    const checked = parse(['1 a', '2 b'], 2).digest;
    expect(() => parse(['1 a', '3 b'], 2, checked)).toThrow(/lists message 3, but STAT said there are 2/);
    expect(() => parse(['1 a', '1 b'], 2, checked)).toThrow(/lists message 1 twice/);
  });

  it('refuses lines without a message number; sets apart unique-ids of the wrong shape', () => {
    expect(() => parse(['1 a', 'x b'], 2)).toThrow(/malformed UIDL/);
    const why = 'not a valid unique-id (1-70 printable characters)';
    expect(parse(['1 a', '2 b c'], 2).unidentified).toEqual([{ msgNo: 2, uidl: 'b c', why }]);
    expect(parse(['1 a', `2 ${'z'.repeat(71)}`], 2).unidentified).toEqual([{ msgNo: 2, uidl: 'z'.repeat(71), why }]);
    expect(parse(['1 a', `2 ${'z'.repeat(71)}`], 2).entries).toEqual([{ msgNo: 1, uidl: 'a' }]);
  });
});

describe('UidlListingParser on a hostile listing', () => {
  it('100,000 messages under one UIDL are set apart in linear time', () => {
    const lines = Array.from({ length: 100_000 }, (_, i) => `${i + 1} same`);
    // A quadratic parser (each holder listing the others anew) would not finish within the test's timeout.
    const { unidentified, entries } = parse(lines, lines.length);
    expect(entries).toEqual([]);
    expect(unidentified).toHaveLength(100_000);
    expect(unidentified[0]!.why).toBe('shared with messages 2, 3, 4, 5, 6 and 99994 more');
    expect(unidentified[3]!.why).toBe('shared with messages 1, 2, 3, 5, 6 and 99994 more');
  });
});
