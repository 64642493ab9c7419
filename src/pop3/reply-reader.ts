import { announcedAs, type BodyCommand, type Command } from './command.js';
import type { CommandQueue } from './command-queue.js';
import { Pop3Error } from './errors.js';
import { LineBuffer } from './line-buffer.js';
import { ListingCollector } from './listing-collector.js';
import { MultilineDecoder, type LineEnds } from './multiline-decoder.js';
import { errorForReply, parseStatusLine, printable, type Reply } from './reply.js';

/** Status lines are at most 512 octets by RFC 2449; we allow generous slack, not unbounded. */
const MAX_STATUS_LINE = 8192;

/** What the reader needs of the client it reads for. */
export interface ReaderHost {
  /** The oldest reply is complete: its command leaves the window, and the next may go. */
  settle(): void;
  /** A body's target takes no more for now: read nothing until it resumes the client. */
  pause(): void;
  scrub(text: string): string;
  scrubError(err: Pop3Error): Pop3Error;
  /** Each status line received, secrets struck; absent when nothing is traced. */
  trace: ((text: string) => void) | undefined;
}

/**
 * Frames what the server sends, cut anywhere, into the replies to the commands in
 * flight, oldest first: status lines, listings and bodies. Whatever breaks the framing
 * is thrown, for the client to fail the connection with; a -ERR only refuses its command.
 */
export class ReplyReader {
  private statusLine = new LineBuffer(MAX_STATUS_LINE);
  private handedOver = false;
  /** What the server said when it ended the session unasked (see unsolicited). */
  private goodbye: string | null = null;
  /** The text of the last reply, when it was -ERR: a server may refuse and hang up in one breath. */
  private lastRefusal: string | null = null;
  /** A message command's refusal, held until the server shows it is still answering (see onStatusLine). */
  private heldRefusal: { cmd: BodyCommand; err: Pop3Error } | null = null;

  constructor(
    private readonly commands: CommandQueue,
    private readonly lineEnds: LineEnds,
    private readonly host: ReaderHost,
  ) {}

  /** The STLS reply has arrived: until the connection is upgraded, nothing may be sent or received. */
  get handingOver(): boolean {
    return this.handedOver;
  }

  /** Over the upgraded connection: a new stream, with nothing of the old one carried over. */
  restart(): void {
    this.handedOver = false;
    this.statusLine = new LineBuffer(MAX_STATUS_LINE);
  }

  /** The server said why it ended the session before it closed. */
  get saidGoodbye(): boolean {
    return this.goodbye !== null;
  }

  /** Why the server hung up, in its own words, when it said. */
  lastWords(): string {
    const said = this.goodbye ?? this.lastRefusal;
    return said === null ? '' : ` (it said "-ERR ${said}")`;
  }

  /** Lets a held refusal stand; or, when the connection failed before the server went on, turns it into that failure. */
  releaseRefusal(failure?: Pop3Error): void {
    const held = this.heldRefusal;
    this.heldRefusal = null;
    held?.cmd.reject(failure ?? held.err);
  }

  read(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.handedOver) {
        throw new Pop3Error('PROTOCOL', 'server sent data after its STLS reply; refusing it (possible injection)');
      }
      const cmd = this.commands.head;
      if (!cmd) {
        pos = this.unsolicited(chunk, pos);
        continue;
      }
      if (cmd.kind === 'single' || !cmd.arriving) {
        const step = this.statusLine.push(chunk, pos);
        pos = step.end;
        if (step.line) this.onStatusLine(cmd, step.line);
      } else {
        const rest = pos === 0 ? chunk : chunk.subarray(pos);
        const { decoder } = cmd.arriving;
        const { data, end } = decoder.push(rest);
        if (cmd.kind === 'body' && decoder.consumed > cmd.maxBytes) {
          throw new Pop3Error('PROTOCOL', `${cmd.label}: the server sent more than ${cmd.maxBytes} bytes, ${announcedAs(cmd)}`);
        }
        if (data.length > 0) {
          if (cmd.kind === 'lines') cmd.arriving.listing.push(data);
          else if (!cmd.arriving.target.data(data)) this.host.pause();
        }
        if (end === -1) return;
        if (cmd.kind === 'body' && decoder.consumed < cmd.minBytes) {
          throw new Pop3Error('PROTOCOL', `${cmd.label}: the body ended after ${decoder.consumed} bytes, far shorter than the ${cmd.announced} bytes LIST announced; the copy is not trusted`);
        }
        pos += end;
        this.host.settle();
        if (cmd.kind === 'lines') cmd.resolve(cmd.arriving.listing.finish());
        else cmd.arriving.target.end();
      }
    }
  }

  /**
   * Bytes that answer no command. A server that ends the session unasked says why in one
   * -ERR line and closes (GNU mailutils "-ERR Session timed out", Dovecot "-ERR
   * Disconnected for inactivity."): that line is kept for the close that follows. Anything
   * else is not POP3. Returns where the line ended.
   */
  private unsolicited(chunk: Buffer, pos: number): number {
    const step = this.statusLine.push(chunk, pos);
    if (!step.line) return step.end;
    const reply = this.parse(step.line);
    if (reply && !reply.ok && this.goodbye === null) {
      this.goodbye = printable(this.host.scrub(reply.text), 200);
      return step.end;
    }
    throw new Pop3Error('PROTOCOL', `unexpected data from server: "${printable(this.host.scrub(step.line.toString('latin1')), 80)}"`);
  }

  /** A status line, parsed and traced (the trace with this session's secrets struck out). */
  private parse(line: Buffer): Reply | null {
    const reply = parseStatusLine(line);
    if (this.host.trace) this.host.trace(printable(this.host.scrub(line.toString('latin1')), 512));
    return reply;
  }

  private onStatusLine(cmd: Command, line: Buffer): void {
    const reply = this.parse(line);
    if (!reply) {
      throw new Pop3Error('PROTOCOL', `not a POP3 reply to ${cmd.label}: "${printable(this.host.scrub(line.toString('latin1')), 80)}"`);
    }
    if (reply.continuation && !(cmd.kind === 'single' && cmd.sasl)) {
      throw new Pop3Error('PROTOCOL', `unexpected continuation in reply to ${cmd.label}`);
    }
    // A refusal held back (see below) stands: the server went on talking.
    this.releaseRefusal();
    const problem = cmd.check?.(reply);
    if (problem) throw problem;
    this.lastRefusal = reply.ok ? null : printable(this.host.scrub(reply.text), 200);
    if (!reply.ok) {
      if (cmd.kind === 'body') cmd.onRefused?.();
      this.host.settle();
      const err = this.host.scrubError(errorForReply(cmd.label, reply));
      // A server that ends the session may say why as the reply to whatever came in
      // ("-ERR Session timed out", then the close). A refused message is therefore held
      // until the next reply shows the server still answering; if the close comes first,
      // the message fails as the session did, not as itself.
      if (cmd.kind === 'body' && cmd.subject !== undefined && this.commands.awaitingReply) this.heldRefusal = { cmd, err };
      else cmd.reject(err);
      return;
    }
    if (cmd.kind === 'single') {
      if (cmd.handsOver) this.handedOver = true;
      this.host.settle();
      cmd.resolve(reply);
      return;
    }
    if (cmd.kind === 'body') {
      const decoder = new MultilineDecoder(this.lineEnds);
      cmd.arriving = { decoder, target: cmd.openTarget(cmd) };
    } else {
      const decoder = new MultilineDecoder('crlf');
      cmd.arriving = { decoder, listing: new ListingCollector(cmd.label, cmd.maxLineLength, cmd.maxLines, cmd.onLines) };
    }
  }
}
