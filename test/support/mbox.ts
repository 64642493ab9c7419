import { readFileSync } from 'node:fs';
import { unquoteMboxrd } from '../../src/deliver/mboxrd.js';

export interface MboxMessage {
  /** The "From " line, without its LF. */
  fromLine: string;
  /** The message as a mboxrd reader gives it back: the quoting undone, the empty line that ends it removed. */
  message: Buffer;
}

/**
 * Splits an mboxrd file into its messages, as a reader does: a message starts at a
 * line beginning "From " (at the start of the file or after an empty line) and ends
 * with the empty line before the next. Tests use it beside the real readers.
 */
export function readMbox(file: string): MboxMessage[] {
  const text = readFileSync(file);
  const starts: number[] = [];
  for (let at = 0; at < text.length; ) {
    if (text.subarray(at, at + 5).toString('latin1') === 'From ' && (at === 0 || (text[at - 1] === 0x0a && text[at - 2] === 0x0a))) starts.push(at);
    const lf = text.indexOf(0x0a, at);
    if (lf === -1) break;
    at = lf + 1;
  }
  return starts.map((start, i) => {
    const end = starts[i + 1] ?? text.length;
    const lineEnd = text.indexOf(0x0a, start);
    let body = text.subarray(lineEnd + 1, end);
    // The empty line that ends each message is the mbox's, not the message's.
    if (body.length > 0 && body[body.length - 1] === 0x0a) body = body.subarray(0, body.length - 1);
    return { fromLine: text.subarray(start, lineEnd).toString('latin1'), message: unquoteMboxrd(body) };
  });
}
