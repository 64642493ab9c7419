import { describe, expect, it } from 'vitest';
import { MboxrdQuoter, ctimeUtc, envelopeSender, fromLine, quoteMboxrd, unquoteMboxrd } from '../../../src/deliver/mboxrd.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Every way of cutting `message` into two or three chunks gives the same quoted bytes. */
function quotedInPieces(message: Buffer): Buffer[] {
  const results: Buffer[] = [];
  for (let i = 0; i <= message.length; i++) {
    for (let j = i; j <= message.length; j++) {
      const q = new MboxrdQuoter();
      results.push(Buffer.concat([...q.push(message.subarray(0, i)), ...q.push(message.subarray(i, j)), ...q.push(message.subarray(j)), ...q.end()]));
    }
  }
  return results;
}

describe('mboxrd quoting', () => {
  it('gives every line matching /^>*From / one more ">", and nothing else', () => {
    const message = b('From: a@example.org\nSubject: x\n\nFrom here\n>From there\n>>From afar\nFromage\n From x\n>From\n>F\nFrom ');
    expect(quoteMboxrd(message).toString('latin1')).toBe(
      'From: a@example.org\nSubject: x\n\n>From here\n>>From there\n>>>From afar\nFromage\n From x\n>From\n>F\n>From \n',
    );
  });

  it('reads back byte for byte, however the message is cut into chunks', () => {
    const messages = [
      b('Subject: x\n\nFrom a\n>From b\n>>>From c\nplain\n'),
      b('From '),
      b('>>>'),
      b('\n\nFrom \n'),
      b('no newline at the end'),
      b(''),
    ];
    for (const message of messages) {
      const whole = quoteMboxrd(message);
      for (const pieces of quotedInPieces(message)) expect(pieces.toString('latin1')).toBe(whole.toString('latin1'));
      const ended = message.length === 0 || message[message.length - 1] === 0x0a ? message : Buffer.concat([message, b('\n')]);
      expect(unquoteMboxrd(whole).toString('latin1')).toBe(ended.toString('latin1'));
    }
  });

  it('agrees with the regular expression that defines it, on random messages cut at random', () => {
    let seed = 20261202;
    const random = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const alphabet = ['>', 'F', 'r', 'o', 'm', ' ', '\n', 'x', 'From ', '>From '];
    for (let round = 0; round < 2000; round++) {
      const text = Array.from({ length: random(40) }, () => alphabet[random(alphabet.length)]).join('');
      const message = Buffer.from(text, 'latin1');
      const expected = text.replace(/^(>*From )/gm, '>$1') + (text === '' || text.endsWith('\n') ? '' : '\n');
      const q = new MboxrdQuoter();
      const pieces: Buffer[] = [];
      for (let at = 0; at < message.length; ) {
        const n = 1 + random(6);
        pieces.push(...q.push(message.subarray(at, at + n)));
        at += n;
      }
      pieces.push(...q.end());
      expect(Buffer.concat(pieces).toString('latin1'), JSON.stringify(text)).toBe(expected);
    }
  });

  it('a line of millions of ">" costs no more than a short one: it is counted, not held', () => {
    const message = Buffer.concat([Buffer.alloc(4_000_000, '>'), Buffer.from('From x\n')]);
    const q = new MboxrdQuoter();
    const out: Buffer[] = [];
    for (let at = 0; at < message.length; at += 65_536) out.push(...q.push(message.subarray(at, at + 65_536)));
    out.push(...q.end());
    const quoted = Buffer.concat(out);
    expect(quoted.length).toBe(message.length + 1);
    expect(quoted.subarray(-8).toString()).toBe('>From x\n');
  });

  it('passes 8-bit bytes and CRs through untouched', () => {
    const message = Buffer.from([0x46, 0x72, 0xff, 0x0d, 0x0a, 0x00, 0x80, 0x0a]);
    expect(quoteMboxrd(message)).toEqual(message);
  });
});

describe('the From line', () => {
  it('carries the envelope sender and the time as ctime(3) writes it, in UTC', () => {
    expect(ctimeUtc(Date.UTC(2026, 11, 2, 14, 6, 3))).toBe('Wed Dec  2 14:06:03 2026');
    expect(fromLine('jobs@example.org', Date.UTC(2026, 0, 31, 0, 0, 0)).toString()).toBe('From jobs@example.org Sat Jan 31 00:00:00 2026\n');
  });

  it('takes the sender from Return-Path, MAILER-DAEMON for none, <> or one that cannot be a word', () => {
    expect(envelopeSender(' <bounce+x@example.org>')).toBe('bounce+x@example.org');
    expect(envelopeSender('plain@example.org')).toBe('plain@example.org');
    expect(envelopeSender('<>')).toBe('MAILER-DAEMON');
    expect(envelopeSender(undefined)).toBe('MAILER-DAEMON');
    expect(envelopeSender('<a b@example.org>')).toBe('a');
    expect(envelopeSender('<ünï@example.org>')).toBe('MAILER-DAEMON');
  });
});
