/**
 * Messages chosen to break a careless POP3 client: 8-bit text in three Japanese and
 * European encodings, lines of dots, no final newline, a very long line, NUL and bare
 * CR/LF. Each is the content as the server holds it (CRLF line ends).
 */
const crlf = (s: string): Buffer => Buffer.from(s.replace(/\n/g, '\r\n'), 'latin1');
const bytes = (...parts: (string | number[])[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

export const corpus: Record<string, Buffer> = {
  latin1: crlf('From: Ren\xe9e <r@example.org>\nSubject: caf\xe9 cr\xe8me\n\nNa\xefve r\xe9sum\xe9, \xa3100, \xff\xfe.\n'),
  shiftJis: bytes(
    'Subject: =?Shift_JIS?B?k/qWe4zq?=\r\nContent-Type: text/plain; charset=Shift_JIS\r\n\r\n',
    [0x93, 0xfa, 0x96, 0x7b, 0x8c, 0xea, 0x0d, 0x0a, 0x83, 0x5c, 0x0d, 0x0a],
  ),
  iso2022jp: bytes(
    'Subject: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n\r\n',
    '\x1b$BF|K\\8l\x1b(B\r\n\x1b$B$3$s$K$A$O\x1b(B\r\n',
  ),
  dots: crlf('Subject: dots\n\n.\n..\n...\n. \n.x\n.\n\n.\n'),
  dotCr: bytes('Subject: dot-cr\r\n\r\n.\rnot an end\r\n.\r\r\n', '..\r\n'),
  noFinalNewline: crlf('Subject: unterminated\n\nthe last line has no newline'),
  longLine: Buffer.concat([crlf('Subject: long\n\n'), Buffer.alloc(20 * 1024, 'x'), crlf('\n.tail\n')]),
  nulAndBareCr: bytes('Subject: binary\r\n\r\n', [0x00, 0x41, 0x0d, 0x42, 0x0d, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x0a, 0x2e, 0x0a, 0x0d]),
  empty: Buffer.alloc(0),
};

/**
 * What a delivery should receive for `content`: the server's bytes, with the CRLF
 * the server adds to an unterminated last line, and with CRLF turned to LF when asked.
 */
export function expectedBody(content: Buffer, lineEnds: 'crlf' | 'lf'): Buffer {
  let body = content;
  const terminated = body.length === 0 || (body.length >= 2 && body[body.length - 2] === 0x0d && body[body.length - 1] === 0x0a);
  if (!terminated) body = Buffer.concat([body, Buffer.from('\r\n')]);
  return lineEnds === 'lf' ? crlfToLf(body) : body;
}

export function crlfToLf(data: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 0x0d && data[i + 1] === 0x0a) continue;
    out.push(data[i]!);
  }
  return Buffer.from(out);
}

/** A small deterministic PRNG, so a failing random chunking can be replayed from its seed. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}
