import { closeSync } from 'node:fs';
import type { TargetConfig } from '../config/types.js';
import { commandFailure, runCommand } from './command.js';
import { Maildir, type NotePlacements } from './maildir.js';
import type { Mbox } from './mbox.js';
import type { MailTransfer } from './smtp.js';
import { mailTransferLabel } from './transfer-label.js';
import { Limiter } from '../util/limiter.js';
import type { SpoolFile } from './spool.js';

export interface MessageMeta {
  account: string;
  uidl: string;
}

/**
 * Where a target records, before it acts, what it is about to do with one message, so
 * that after a crash its recover() can tell whether it was done (isync's journal is the
 * model). Writing resolves once the note is committed: the target acts only then.
 */
export interface DeliveryJournal {
  intend(intent: string): Promise<void>;
}

/** What a target did with a message it took: delivered it, or (a command's "drop" status) discarded it, and why. */
export type TargetVerdict = 'delivered' | { dropped: string };
const DELIVERED: TargetVerdict = 'delivered';

/** A place messages go. It reads the complete spooled copy; nothing it does touches the original. */
export interface Target {
  /** What logs and errors call it: `command "procmail -d jobs"`, `Maildir ~/Mail`. */
  readonly label: string;
  /**
   * Rejects with a DeliveryError when the target did not take the message; resolves
   * once it has, durably (a Maildir file synced and renamed, a command exited 0), or
   * once a command has said with its status that it discarded it.
   */
  deliver(copy: SpoolFile, meta: MessageMeta, journal: DeliveryJournal): Promise<TargetVerdict>;
}

export interface TargetContext {
  /** Environment for commands (secrets already removed). */
  env: NodeJS.ProcessEnv;
  /** Names the mailbox in the files its runs write (see Maildir). */
  tag: string;
  /** The run's one reading of the clock: the time on an mbox's "From " lines. */
  now: number;
  /** Aborted on a second SIGINT/SIGTERM: a running command is killed at once. */
  kill?: AbortSignal;
  /** Receives what a command wrote to stderr. */
  onStderr?: (meta: MessageMeta, text: string, failed: boolean) => void;
}

/**
 * A target's name in the state database, for what it noted and which of a message's
 * several targets already have it: stable across runs while the config says the same.
 */
export function targetKey(config: TargetConfig): string {
  if (config.kind === 'maildir') return `maildir:${config.dir}`;
  if (config.kind === 'mbox') return `mbox:${config.file}`;
  if (config.kind === 'lmtp' || config.kind === 'smtp') return `${config.kind}:${JSON.stringify([config.address, config.to])}`;
  return `command:${JSON.stringify(config.argv)}`;
}

/** How long settling an mbox note may wait for the mbox's locks. */
const RECOVERY_LOCK_MS = 60_000;

/**
 * After a crash, was what a target noted (DeliveryJournal) carried out? A Maildir and an
 * mbox note what they are about to do; a command cannot be asked whether it ran. A key
 * of null is a note an older version wrote, always of a Maildir file.
 */
export async function recoverIntent(key: string | null, intent: string, warn: (message: string) => void): Promise<'done' | 'undone'> {
  if (key === null || key.startsWith('maildir:')) return Maildir.recover(intent);
  if (key.startsWith('mbox:')) return (await import('./mbox.js')).Mbox.recover(intent, RECOVERY_LOCK_MS, warn);
  return 'undone';
}

/** The targets of one run, one per config entry, so a Maildir is checked once per run. */
export class Targets {
  private readonly made = new Map<TargetConfig, Target>();
  private readonly maildirs = new Map<string, Maildir>();

  constructor(private readonly ctx: TargetContext) {}

  get(config: TargetConfig): Target {
    let target = this.made.get(config);
    if (!target) {
      if (config.kind === 'maildir') target = maildirTarget(this.maildir(config.dir));
      else if (config.kind === 'mbox') {
        target = madeOnFirstUse(labelOf(config), async () => mboxTarget(new (await import('./mbox.js')).Mbox(config.file, config.timeoutMs, this.ctx.kill), this.ctx.now));
      } else if (config.kind === 'lmtp' || config.kind === 'smtp') {
        target = madeOnFirstUse(labelOf(config), async () => mailTransferTarget(new (await import('./smtp.js')).MailTransfer(config, this.ctx.kill)));
      }
      else target = commandTarget(config, this.ctx);
      this.made.set(config, target);
    }
    return target;
  }

  /** Lets go of what the run's targets hold (a Maildir's directories, once its messages in flight are settled). */
  close(): void {
    for (const maildir of this.maildirs.values()) maildir.close();
  }

  /** For writing a message into a Maildir straight from the network, when it is its only target. */
  maildir(dir: string): Maildir {
    let maildir = this.maildirs.get(dir);
    if (!maildir) {
      maildir = new Maildir(dir, this.ctx.tag);
      this.maildirs.set(dir, maildir);
    }
    return maildir;
  }
}

export function labelOf(config: TargetConfig): string {
  if (config.kind === 'maildir') return `Maildir ${config.dir}`;
  if (config.kind === 'mbox') return `mbox ${config.file}`;
  if (config.kind === 'lmtp' || config.kind === 'smtp') return mailTransferLabel(config);
  const { argv } = config;
  const shown = argv[0] === '/bin/sh' && argv[1] === '-c' ? argv[2]! : argv.join(' ');
  return `command "${shown.length > 80 ? `${shown.slice(0, 77)}...` : shown}"`;
}

function maildirTarget(maildir: Maildir): Target {
  return {
    label: `Maildir ${maildir.dir}`,
    deliver: async (copy, _meta, journal) => {
      const note: NotePlacements = async (placements) => {
        for (const p of placements) await journal.intend(p.file);
      };
      await maildir.deliverFile(copy.file, note);
      return DELIVERED;
    },
  };
}

/**
 * A target whose code (an mbox's headers and charsets, nodemailer's SMTP client: a
 * tenth of a second to load) is loaded when its first message comes, not at every start.
 */
function madeOnFirstUse(label: string, make: () => Promise<Target>): Target {
  let made: Promise<Target> | null = null;
  return {
    label,
    deliver: async (copy, meta, journal) => (await (made ??= make())).deliver(copy, meta, journal),
  };
}

/** An LMTP or SMTP server has the message once it said 250: like a command, it cannot be asked later whether it did. */
function mailTransferTarget(server: MailTransfer): Target {
  return {
    label: server.label,
    deliver: async (copy) => {
      await server.deliver(copy);
      return DELIVERED;
    },
  };
}

function mboxTarget(mbox: Mbox, now: number): Target {
  return {
    label: `mbox ${mbox.file}`,
    deliver: async (copy, _meta, journal) => {
      await mbox.deliver(copy, now, journal);
      return DELIVERED;
    },
  };
}

function commandTarget(config: Extract<TargetConfig, { kind: 'command' }>, ctx: TargetContext): Target {
  const { argv, timeoutMs, exitCodes } = config;
  const shell = argv[0] === '/bin/sh' && argv[1] === '-c';
  const label = labelOf(config);
  // Copies of one command never run in greater number than it allows.
  const slots = new Limiter(config.parallel);
  return {
    label,
    deliver: (copy, meta) => slots.run(() => runOne(copy, meta)),
  };

  async function runOne(copy: SpoolFile, meta: MessageMeta): Promise<TargetVerdict> {
    const fd = copy.openForReading();
    try {
      const result = await runCommand(argv, {
        stdinFd: fd,
        env: { ...ctx.env, PINCHMAIL_ACCOUNT: meta.account, PINCHMAIL_UIDL: meta.uidl, PINCHMAIL_SIZE: String(copy.size) },
        timeoutMs,
        signal: ctx.kill,
      });
      // A status the config says means "handled, by discarding it" (a filter's verdict) is no failure.
      // Never /bin/sh's "not found" or "not executable" (127, 126): a typo must not drop mail.
      const shellCannotRun = shell && (result.exitCode === 126 || result.exitCode === 127);
      const dropped = !result.spawnError && !result.timedOut && !shellCannotRun && result.exitCode !== null && exitCodes.drop.includes(result.exitCode);
      const failure = dropped ? null : commandFailure(result, label, timeoutMs, shell, exitCodes.permanent);
      // A failure's stderr is in its message (see commandFailure); only a delivery's is passed on.
      if (failure) throw failure;
      if (result.stderrBytes > 0) ctx.onStderr?.(meta, result.stderr, false);
      return dropped ? { dropped: `${label} exited with status ${result.exitCode}, which its exitCodes.drop lists` } : DELIVERED;
    } finally {
      closeSync(fd);
    }
  }
}
