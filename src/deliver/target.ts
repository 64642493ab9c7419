import { closeSync } from 'node:fs';
import type { TargetConfig } from '../config/load.js';
import type { BodySink } from '../pop3/client.js';
import { runCommand } from './command.js';
import { DeliveryError } from './errors.js';
import { Maildir } from './maildir.js';
import type { Spool } from './spool.js';

export interface MessageMeta {
  account: string;
  uidl: string;
}

/** One message on its way to a target: filled through `sink` as it arrives, then completed or aborted. */
export interface PendingDelivery {
  readonly sink: BodySink;
  /** The whole body has arrived: deliver it. Rejects with a DeliveryError if the target did not take it. */
  complete(meta: MessageMeta): Promise<void>;
  /** The body did not arrive whole: throw away what was written. */
  abort(): void;
}

export interface DeliveryTarget {
  /** What logs and errors call it: `command "procmail -d jobs"`, `Maildir ~/Mail`. */
  readonly label: string;
  begin(): PendingDelivery;
}

export interface TargetContext {
  spool: Spool;
  /** Environment for commands (secrets already removed). */
  env: NodeJS.ProcessEnv;
  /** Aborted on a second SIGINT/SIGTERM: a running command is killed at once. */
  kill?: AbortSignal;
  /** Receives what a command wrote to stderr. */
  onStderr?: (meta: MessageMeta, text: string, failed: boolean) => void;
}

export function makeTarget(config: TargetConfig, ctx: TargetContext): DeliveryTarget {
  return config.kind === 'maildir' ? maildirTarget(config.dir) : commandTarget(config.argv, config.timeoutMs, ctx);
}

function maildirTarget(dir: string): DeliveryTarget {
  const maildir = new Maildir(dir);
  return {
    label: `Maildir ${dir}`,
    begin() {
      const message = maildir.begin();
      return {
        sink: message,
        complete: async () => {
          message.commit();
        },
        abort: () => message.abort(),
      };
    },
  };
}

function describeArgv(argv: readonly string[]): string {
  const shown = argv[0] === '/bin/sh' && argv[1] === '-c' ? argv[2]! : argv.join(' ');
  return `command "${shown.length > 80 ? `${shown.slice(0, 77)}...` : shown}"`;
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return (lines[lines.length - 1] ?? '').slice(0, 200);
}

function commandTarget(argv: readonly string[], timeoutMs: number, ctx: TargetContext): DeliveryTarget {
  const label = describeArgv(argv);
  return {
    label,
    begin() {
      const copy = ctx.spool.create();
      return {
        sink: copy,
        async complete(meta) {
          let fd: number | null = null;
          try {
            fd = copy.openForReading();
            const result = await runCommand(argv, {
              stdinFd: fd,
              env: { ...ctx.env, PINCHMAIL_ACCOUNT: meta.account, PINCHMAIL_UIDL: meta.uidl, PINCHMAIL_SIZE: String(copy.size) },
              timeoutMs,
              signal: ctx.kill,
            });
            const ok = result.spawnError === null && !result.timedOut && result.exitCode === 0;
            if (result.stderrBytes > 0) ctx.onStderr?.(meta, result.stderr, !ok);
            if (ok) return;
            let why: string;
            if (result.spawnError) why = `cannot run it: ${result.spawnError}`;
            else if (result.timedOut) why = `killed after its timeout of ${Math.round(timeoutMs / 1000)}s`;
            else if (result.signal) why = `killed by ${result.signal}`;
            else why = `exited with status ${result.exitCode}`;
            const said = result.stderrBytes > 0 ? ` (stderr: ${lastLine(result.stderr)})` : '';
            throw new DeliveryError(`${label} ${why}${said}`);
          } finally {
            if (fd !== null) closeSync(fd);
            copy.discard();
          }
        },
        abort: () => copy.discard(),
      };
    },
  };
}
