import { Readable } from 'node:stream';
import { DotStuffer, dotStuff } from './dot-stuff.js';
import { offers, type ServerFaults } from './faults.js';
import type { Maildrop } from './maildrop.js';
import { contentSize, type DevMessage } from './mailstore.js';
import { err, multi, ok, type Command } from './replies.js';

/** What the transaction-state commands work on. */
export interface Transaction {
  readonly maildrop: Maildrop;
  readonly faults: ServerFaults;
  /** The client sent UTF8 (RFC 6856), so a UTF8-gated server serves 8-bit headers as they are. */
  readonly utf8: boolean;
}

const stat: Command<Transaction> = (t) => {
  const live = t.maildrop.live();
  return ok(`${live.length} ${live.reduce((s, { m }) => s + announced(t, m), 0)}`);
};

const list: Command<Transaction> = (t, args) => listing(t, args, (m) => String(announced(t, m)));

const uidl: Command<Transaction> = (t, args) =>
  offers(t.faults, 'UIDL') ? listing(t, args, (m) => m.uidl) : err('unknown command');

const retr: Command<Transaction> = (t, args) => {
  const m = t.maildrop.message(args[0]);
  if (!m) return err('There is no such message');
  const status = ok(`${announced(t, m)} octets`);
  const content = served(t, m).content;
  if (Buffer.isBuffer(content)) return Buffer.concat([status, frame(t, content)]);
  return Readable.from(
    (async function* (open: () => Readable) {
      yield status;
      yield* open().pipe(new DotStuffer());
    })(content.open),
    { objectMode: false },
  );
};

const top: Command<Transaction> = (t, args) => {
  if (!offers(t.faults, 'TOP')) return err('unknown command');
  const m = t.maildrop.message(args[0]);
  if (!m) return err('There is no such message');
  const content = served(t, m).content;
  if (!Buffer.isBuffer(content)) throw new Error('TOP on a streamed message is not supported by the dev server');
  return Buffer.concat([ok(), frame(t, topOf(content, Number(args[1] ?? 0)))]);
};

const dele: Command<Transaction> = (t, args) => {
  const m = t.maildrop.message(args[0]);
  if (!m) return err('There is no such message');
  t.maildrop.deleted.add(m);
  return ok('Marked to be deleted.');
};

const rset: Command<Transaction> = (t) => {
  t.maildrop.deleted.clear();
  return ok();
};

/** By verb; a verb not here is an unknown command. */
export const transactionCommands: ReadonlyMap<string, Command<Transaction>> = new Map([
  ['STAT', stat],
  ['LIST', list],
  ['UIDL', uidl],
  ['RETR', retr],
  ['TOP', top],
  ['DELE', dele],
  ['RSET', rset],
]);

/** LIST and UIDL: one message's line when an argument names it, else every live message's. */
function listing(t: Transaction, args: readonly string[], column: (m: DevMessage) => string): Buffer {
  if (args[0] !== undefined) {
    const m = t.maildrop.message(args[0]);
    return m ? ok(`${Number(args[0])} ${column(m)}`) : err('There is no message');
  }
  return multi(t.maildrop.live().map(({ m, n }) => `${n} ${column(m)}`));
}

/** The size LIST and STAT give for a message. */
function announced(t: Transaction, m: DevMessage): number {
  const real = contentSize(m.content);
  return t.faults.listSize?.(m, real) ?? real;
}

/** What RETR and TOP send: the message, or the notice a UTF8-gated server sends in its place. */
function served(t: Transaction, m: DevMessage): DevMessage {
  if (!t.faults.utf8Gate || t.utf8 || !Buffer.isBuffer(m.content)) return m;
  const end = m.content.indexOf('\r\n\r\n');
  const head = m.content.subarray(0, end === -1 ? m.content.length : end);
  if (!head.some((b) => b >= 0x80)) return m;
  return { uidl: m.uidl, content: UNICODE_NOTICE };
}

/** Courier's stand-in for a message with raw UTF-8 headers, sent to a client that did not say UTF8. */
const UNICODE_NOTICE = Buffer.from(
  'From: Mail Delivery Subsystem <postmaster@pinchmail.test>\r\nSubject: Cannot display Unicode content\r\n\r\n' +
    'This E-mail message was determined to be Unicode-formatted\r\nbut your E-mail reader does not support Unicode E-mail.\r\n',
  'latin1',
);

/** A body held in memory, dot-stuffed unless the server is set to leave that out. */
function frame(t: Transaction, content: Buffer): Buffer {
  return t.faults.noDotStuffing ? withTerminator(content) : dotStuff(content);
}

/** A body framed without dot-stuffing (the fault): only the line end and terminator are added. */
function withTerminator(content: Buffer): Buffer {
  const endsWithCrlf = content.length >= 2 && content[content.length - 2] === 0x0d && content[content.length - 1] === 0x0a;
  return Buffer.concat([content, Buffer.from(content.length === 0 || endsWithCrlf ? '.\r\n' : '\r\n.\r\n', 'latin1')]);
}

/** The header block and the first `lines` body lines, as TOP returns them. */
function topOf(content: Buffer, lines: number): Buffer {
  const headerEnd = content.indexOf('\r\n\r\n');
  if (headerEnd === -1) return content;
  let end = headerEnd + 4;
  for (let i = 0; i < lines && end < content.length; i++) {
    const next = content.indexOf('\r\n', end);
    end = next === -1 ? content.length : next + 2;
  }
  return content.subarray(0, end);
}
