import type { BodyResult, BodyTarget } from './body-sink.js';
import { Pop3Error } from './errors.js';
import type { ListingCollector } from './listing-collector.js';
import type { MultilineDecoder } from './multiline-decoder.js';
import type { Reply } from './reply.js';

/** Bytes a command may not hold: each would end the line early and start another command. */
const LINE_BREAKING = [0x0d, 0x0a, 0x00];
const CRLF = Buffer.from('\r\n');

/** How a command's promise settles; a body command's may reject with its sink's own error. */
export interface Settle<T> {
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

interface CommandBase {
  wire: Buffer;
  /** What the trace and error messages show for this command (secrets masked). */
  label: string;
  pipelinable: boolean;
  /** The message this command is about: a reply to it that breaks the framing is that message's fault. */
  subject: number | undefined;
  /** Judges the status line before anything else is parsed; an error fails the connection. */
  check?: (reply: Reply) => Pop3Error | null;
  reject: (err: Pop3Error) => void;
}

/** Answered by one status line, which it resolves with. */
export interface SingleCommand extends CommandBase {
  kind: 'single';
  /** Accepts a "+ challenge" continuation (SASL). */
  sasl: boolean;
  /** After this reply the connection changes hands (STLS): nothing may follow it. */
  handsOver: boolean;
  resolve: (reply: Reply) => void;
}

/** CAPA, LIST, UIDL: resolves with the listing's lines, or none when `onLines` took them. */
export interface ListingCommand extends CommandBase {
  kind: 'lines';
  /** Read when each line arrives: a bound learned from an earlier reply (STAT) can still apply. */
  maxLines: () => number;
  /** Bytes a listing line may hold. */
  maxLineLength: number;
  /** Takes a listing's lines as they arrive, instead of gathering them. */
  onLines?: (lines: string[]) => void;
  resolve: (lines: string[]) => void;
  /** Set when its +OK arrives. */
  arriving?: { decoder: MultilineDecoder; listing: ListingCollector };
}

/** RETR, TOP: the body goes to a target, and the command resolves with what it received. */
export interface BodyCommand extends CommandBase {
  kind: 'body';
  maxBytes: number;
  /** A body that ends before this many wire bytes is refused (see BodyBounds). */
  minBytes: number;
  /** The size the server announced for this body, for messages. */
  announced: number | undefined;
  /** Makes the target once +OK has arrived. */
  openTarget: (settle: Settle<BodyResult>) => BodyTarget;
  /** Told at once, inside the parser, when the reply is -ERR. */
  onRefused?: () => void;
  resolve: (result: BodyResult) => void;
  /** A sink's own failure (a full disk, say) rejects the command as it is, not as a Pop3Error. */
  reject: (err: unknown) => void;
  /** Set when its +OK arrives. */
  arriving?: { decoder: MultilineDecoder; target: BodyTarget };
}

export type Command = SingleCommand | ListingCommand | BodyCommand;

/**
 * The bytes that go on the wire for `line`, or why it may not be sent. UTF-8, which is
 * what SASL PLAIN defines (RFC 4616) and what servers compare USER and PASS against in
 * practice; and checked as bytes, since what matters is what the server reads.
 */
export function commandWire(line: string, label: string | undefined): Buffer | Pop3Error {
  const bytes = Buffer.from(line, 'utf8');
  if (LINE_BREAKING.some((b) => bytes.includes(b))) {
    // A line break in a user name or password would smuggle in a second command.
    return new Pop3Error('PROTOCOL', `refusing to send ${label ?? 'a command'}: it contains a line break or NUL`);
  }
  return Buffer.concat([bytes, CRLF]);
}

/** What a masked label hides of its command line: "PASS ****" hides the password. */
export function hiddenPart(line: string, label: string): string {
  let common = 0;
  while (common < line.length && common < label.length && line[common] === label[common]) common++;
  return line.slice(common);
}

/** How a body over its bound is described: against what LIST announced, when it did. */
export function announcedAs(cmd: BodyCommand): string {
  return cmd.announced === undefined ? 'more than a reply may hold' : `though LIST announced ${cmd.announced}`;
}
