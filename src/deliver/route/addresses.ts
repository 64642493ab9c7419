import { createRequire } from 'node:module';
import type addressparserFn from 'nodemailer/lib/addressparser';
import type { Headers } from './headers.js';

/** Where each recipient-ish address can be: To, Cc, Delivered-To, X-Original-To. */
export const RECIPIENT_FIELDS = ['to', 'cc', 'delivered-to', 'x-original-to'];

/** nodemailer's address parser, loaded by the first matcher that reads addresses (a plain account never needs it). */
const require = createRequire(import.meta.url);
let addressparser: typeof addressparserFn | null = null;

/** The addresses in some header fields, lower-cased, groups opened up (RFC 5322 §3.4). */
function addressesIn(headers: Headers, fields: readonly string[]): string[] {
  addressparser ??= require('nodemailer/lib/addressparser') as typeof addressparserFn;
  const out: string[] = [];
  for (const field of fields) {
    for (const value of headers.all(field)) {
      for (const mailbox of addressparser(value, { flatten: true })) if (mailbox.address) out.push(mailbox.address.toLowerCase());
    }
  }
  return out;
}

const recipientCache = new WeakMap<Headers, readonly string[]>();

/**
 * Every address the message was for, as a fetcher can know it: a POP3 message has no
 * envelope, so the fields the delivering MTA wrote (Delivered-To, X-Original-To) and the
 * author's To and Cc stand for James's recipients. Read once per message.
 */
export function recipientsOf(headers: Headers): readonly string[] {
  let found = recipientCache.get(headers);
  if (!found) recipientCache.set(headers, (found = addressesIn(headers, RECIPIENT_FIELDS)));
  return found;
}

const senderCache = new WeakMap<Headers, string | null>();

/** The envelope sender the last MTA recorded (Return-Path), else the author (From); lower-cased. Read once per message. */
export function senderOf(headers: Headers): string | null {
  let found = senderCache.get(headers);
  if (found === undefined) senderCache.set(headers, (found = addressesIn(headers, ['return-path'])[0] ?? addressesIn(headers, ['from'])[0] ?? null));
  return found;
}

/** The part before the last "@" (a quoted local part may hold one). */
export function userOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at === -1 ? address : address.slice(0, at);
}

export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at === -1 ? '' : address.slice(at + 1);
}
