import { describe, expect, it } from 'vitest';
import { envelopeFrom } from '../../../src/deliver/smtp.js';

describe('the envelope sender taken from a message', () => {
  it('is the Return-Path, else the From address, else the null sender', () => {
    expect(envelopeFrom(Buffer.from('Return-Path: <b@example.org>\nFrom: a@example.org\n\n'))).toBe('b@example.org');
    expect(envelopeFrom(Buffer.from('Return-Path: <>\nFrom: a@example.org\n\n'))).toBe('');
    expect(envelopeFrom(Buffer.from('From: "Some One" <a@example.org>\n\n'))).toBe('a@example.org');
    expect(envelopeFrom(Buffer.from('Subject: x\n\n'))).toBe('');
  });

  it('never carries a line break, space or angle bracket into MAIL FROM, however the header is encoded', () => {
    expect(envelopeFrom(Buffer.from('Return-Path: <=?utf-8?q?a=0D=0ARCPT_TO:evil@x?=>\nFrom: ok@example.org\n\n'))).toBe('ok@example.org');
    // The address parser drops the whitespace a decoded line break became; what is left is one word.
    expect(envelopeFrom(Buffer.from('From: =?utf-8?q?x=0D=0AQUIT?= <=?utf-8?q?b=0D=0A?=@example.org>\n\n'))).toBe('b@example.org');
    expect(envelopeFrom(Buffer.from('Return-Path: <=?utf-8?q?=C3=A9?=@example.org>\n\n'))).toBe('');
  });
});
