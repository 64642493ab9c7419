import { describe, expect, it } from 'vitest';
import { HeaderFingerprint, fingerprintOf, sameMessage } from '../../../src/plan/identity.js';

const message = Buffer.from('Subject: one\nFrom: a@example.org\nReceived: by x\n\tfolded\n\nbody\n\nmore body\n', 'latin1');
const header = message.subarray(0, message.indexOf('\n\n') + 1);

describe('HeaderFingerprint', () => {
  it('covers the header block only: the whole message and TOP n 0 give the same fingerprint', () => {
    expect(fingerprintOf(message)).toBe(fingerprintOf(header));
    expect(fingerprintOf(Buffer.concat([header, Buffer.from('\n')]))).toBe(fingerprintOf(header));
    expect(fingerprintOf(message)).not.toBe(fingerprintOf(Buffer.from('Subject: two\nFrom: a@example.org\n\nbody\n')));
  });

  it('gives the same fingerprint however the stream is cut, the empty line split across chunks included', () => {
    const whole = fingerprintOf(message);
    for (let cut = 0; cut <= message.length; cut++) {
      const f = new HeaderFingerprint();
      f.write(message.subarray(0, cut));
      f.write(message.subarray(cut));
      expect(f.digest(), `cut at ${cut}`).toBe(whole);
    }
  });

  it('leaves out the fields mailbox servers rewrite between sessions (GNU mailutils), continuation lines and all', () => {
    const rewritten = Buffer.from(
      'X-IMAPbase: 1796161024 5\nSubject: one\nStatus: OR\nFrom: a@example.org\nX-UIDL: f4c6.1\nX-UID: 1\nReceived: by x\n\tfolded\nX-Keywords: a\n b\n\nbody\n',
      'latin1',
    );
    expect(fingerprintOf(rewritten)).toBe(fingerprintOf(message));
    expect(fingerprintOf(Buffer.from('Subject: one\nFrom: a@example.org\nReceived: by x\n\tfolded differently\n\n'))).not.toBe(fingerprintOf(message));
  });

  it('a header longer than it sorts out is hashed whole past that point, the same however it is cut', () => {
    const long = Buffer.from(`Subject: long\n${'X-Pad: 0123456789abcdef\n'.repeat(4000)}Status: RO\n\nbody\n`, 'latin1');
    const whole = fingerprintOf(long);
    for (const size of [1, 7, 4096, 65_536, long.length]) {
      const f = new HeaderFingerprint();
      for (let at = 0; at < long.length; at += size) f.write(long.subarray(at, at + size));
      expect(f.digest(), `chunks of ${size}`).toBe(whole);
    }
  });

  it('a message with no body is all header; one that starts with an empty line has an empty header', () => {
    expect(fingerprintOf(Buffer.from('Subject: x\n'))).toBe(fingerprintOf(Buffer.from('Subject: x\n\n')));
    expect(fingerprintOf(Buffer.from('\nbody\n'))).toBe(fingerprintOf(Buffer.alloc(0)));
  });
});

describe('sameMessage', () => {
  const stored = { size: 100, fingerprint: 'sha256:a' };
  it('decides by the header where one is recorded, the size only calling for it; else by the size', () => {
    expect(sameMessage(stored, 100, 'size only')).toBe('same');
    expect(sameMessage(stored, 101, 'size only')).toBe('ask');
    expect(sameMessage(stored, 100, undefined)).toBe('ask');
    expect(sameMessage(stored, 100, null)).toBe('ask');
    expect(sameMessage(stored, 101, 'sha256:a')).toBe('same');
    expect(sameMessage(stored, 100, 'sha256:b')).toBe('other');
    expect(sameMessage({ size: 100, fingerprint: null }, 100, undefined)).toBe('same');
    expect(sameMessage({ size: 100, fingerprint: null }, 101, 'sha256:a')).toBe('other');
  });
});
