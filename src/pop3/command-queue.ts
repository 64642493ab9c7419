import type { Duplex } from 'node:stream';
import type { Command, SingleCommand } from './command.js';

/**
 * The commands of one connection, oldest first: those waiting to go, and those sent and
 * owed a reply (the next reply answers the oldest of them). Decides what may be sent
 * now: one command at a time, or, with pipelining, as many as the window holds.
 */
export class CommandQueue {
  private readonly waiting: Command[] = [];
  private readonly inflight: Command[] = [];
  /** Commands in flight that nothing may be pipelined behind. */
  private blocking = 0;
  pipelining = false;

  constructor(
    private readonly window: number,
    private readonly traceSent: ((label: string) => void) | undefined,
  ) {}

  /** The command the next reply answers. */
  get head(): Command | undefined {
    return this.inflight[0];
  }

  /** Some command has been sent and its reply is still owed. */
  get awaitingReply(): boolean {
    return this.inflight.length > 0;
  }

  get idle(): boolean {
    return this.inflight.length === 0 && this.waiting.length === 0;
  }

  get hasWaiting(): boolean {
    return this.waiting.length > 0;
  }

  /** The command a failure happened under: the one owed a reply, else the next to go. */
  get owed(): string | undefined {
    return this.inflight[0]?.label ?? this.waiting[0]?.label;
  }

  add(cmd: Command): void {
    this.waiting.push(cmd);
  }

  /** The greeting: owed before anything is sent, and nothing may go before it. */
  expect(greeting: SingleCommand): void {
    this.inflight.push(greeting);
    this.blocking++;
  }

  /** The oldest reply is complete: its command leaves the window. */
  answered(): void {
    const done = this.inflight.shift();
    if (done && !done.pipelinable) this.blocking--;
  }

  /** Every command owed a reply or waiting, taken out for a failure to reject. */
  drain(): Command[] {
    return [...this.inflight.splice(0), ...this.waiting.splice(0)];
  }

  /** Writes what may go now, in one corked write. */
  send(socket: Duplex): void {
    let corked = false;
    while (this.waiting.length > 0) {
      const next = this.waiting[0]!;
      const idle = this.inflight.length === 0;
      const overlap = this.pipelining && next.pipelinable && this.blocking === 0 && this.inflight.length < this.window;
      if (!idle && !overlap) break;
      // Refill a long queue in batches, not one command per reply: every write wakes the
      // server, and on a fast link those wake-ups, not the bytes, set the pace.
      if (!corked && !idle && this.waiting.length > this.window - this.inflight.length && this.inflight.length > this.window / 2) {
        break;
      }
      this.waiting.shift();
      this.inflight.push(next);
      if (!next.pipelinable) this.blocking++;
      if (!corked) {
        socket.cork();
        corked = true;
      }
      this.traceSent?.(next.label);
      socket.write(next.wire);
      if (next.kind === 'single' && next.handsOver) break;
    }
    if (corked) socket.uncork();
  }
}
