import type { Readable } from 'node:stream';

/** A message body too large to hold in memory: its size and a way to read it. */
export interface StreamedContent {
  size: number;
  open: () => Readable;
}

export interface DevMessage {
  uidl: string;
  /** The message as the server holds it, with CRLF line ends. */
  content: Buffer | StreamedContent;
}

export function contentSize(content: DevMessage['content']): number {
  return Buffer.isBuffer(content) ? content.length : content.size;
}

/**
 * The development server's mail: one mailbox per user, in memory. Sessions take a
 * snapshot at login, as Dovecot does, and deletions land only at QUIT.
 */
export class MailStore {
  private readonly boxes = new Map<string, { password: string; messages: DevMessage[] }>();
  private nextUid = 1;

  /** Adds a user, or changes the password of one already there. */
  addUser(user: string, password: string): void {
    const box = this.boxes.get(user);
    if (box) box.password = password;
    else this.boxes.set(user, { password, messages: [] });
  }

  password(user: string): string | undefined {
    return this.boxes.get(user)?.password;
  }

  /** Adds a message and returns its UIDL (Dovecot's shape, unless one is given). */
  add(user: string, content: DevMessage['content'], uidl?: string): string {
    const box = this.boxes.get(user);
    if (!box) throw new Error(`no such user: ${user}`);
    const id = uidl ?? `${(this.nextUid++).toString(16).toUpperCase().padStart(8, '0')}5f3a1c22`;
    box.messages.push({ uidl: id, content });
    return id;
  }

  /** The live list (callers may inspect; sessions copy it at login). */
  messages(user: string): DevMessage[] {
    return this.boxes.get(user)?.messages ?? [];
  }

  remove(user: string, gone: ReadonlySet<DevMessage>): void {
    const box = this.boxes.get(user);
    if (box) box.messages = box.messages.filter((m) => !gone.has(m));
  }
}
