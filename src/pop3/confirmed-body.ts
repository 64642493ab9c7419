import type { BodyTarget } from './body-sink.js';
import { Pop3Error } from './errors.js';
import { printable, type Reply } from './reply.js';

/** The command that goes right behind a body, and what its reply must say. */
export interface Confirm {
  line: string;
  check: (reply: Reply) => boolean;
}

/**
 * A body that counts as received only once the command behind it is answered as
 * `confirm` expects (see Pop3Client.bodyTo). A body whose terminator went missing (or
 * came early) swallows or spills into the replies behind it; a reply that answers the
 * confirming command, and no other, proves the stream was still in step.
 */
export class ConfirmedBody {
  /** A refused body (the message is gone) is answered, in step, by a refused confirmation too. */
  private refused = false;
  private verdict: 'pending' | 'ok' | Pop3Error = 'pending';
  private ended = false;
  private target: BodyTarget | null = null;

  constructor(
    private readonly body: string,
    readonly confirm: Confirm,
  ) {}

  readonly onRefused = (): void => {
    this.refused = true;
  };

  /** The body's target, whose end waits for the verdict. */
  hold(target: BodyTarget): BodyTarget {
    this.target = target;
    return {
      data: (chunk) => target.data(chunk),
      end: () => {
        this.ended = true;
        if (this.verdict === 'ok') target.end();
        else if (this.verdict !== 'pending') target.fail(this.verdict);
      },
      fail: (err) => target.fail(err),
    };
  }

  /**
   * Judges the confirming reply. It runs inside the parser, before another byte is read:
   * a stream out of step must fail before any later reply is taken for what it seems.
   */
  readonly check = (reply: Reply): Pop3Error | null => {
    if (reply.ok ? this.confirm.check(reply) : this.refused) return null;
    const said = `"${printable(`${reply.ok ? '+OK' : '-ERR'} ${reply.text}`, 80)}"`;
    return new Pop3Error('PROTOCOL', `replies out of step after ${this.body}: ${said} does not answer ${this.confirm.line}; nothing more from this session is trusted`);
  };

  /** The confirming command settled: the body is whole (once it has ended), or fails as it did. */
  settle(outcome: 'ok' | Pop3Error): void {
    this.verdict = outcome;
    if (!this.target) return;
    if (outcome !== 'ok') this.target.fail(outcome);
    else if (this.ended) this.target.end();
  }
}
