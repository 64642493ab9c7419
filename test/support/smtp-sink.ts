import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';
import { until } from './until.js';

const SMTP_SINK = '/usr/sbin/smtp-sink';

/** Why Postfix's smtp-sink cannot run here, or null when it can. */
export function smtpSinkUnavailable(): string | null {
  if (!existsSync(SMTP_SINK)) return 'postfix is not installed (apt-get install postfix: it has smtp-sink)';
  if (process.getuid?.() !== 0) return 'smtp-sink must start as root to drop to an unprivileged user';
  return null;
}

export interface SinkMessage {
  /** The envelope, as smtp-sink records it: MAIL FROM's and RCPT TO's arguments. */
  mailFrom: string;
  rcptTo: string[];
  /** The message as received, dot-unstuffing and CRLF undone by smtp-sink. */
  message: Buffer;
}

export interface SmtpSink {
  port: number;
  /** Every message it took (in no particular order: its file names are random). */
  messages(): SinkMessage[];
  /** With `verbose`: the commands it received, one per line, as smtp-sink logs them. */
  commands(): string[];
  stop(): Promise<void>;
}

/**
 * Postfix's smtp-sink on a free loopback port, as an SMTP or (`lmtp`) LMTP server that
 * writes each message it takes to a file of its own. `args` add its options, such as
 * `-r .` (a 4xx reply to the end of the data) or `-f RCPT` (a 5xx one to RCPT TO).
 */
export async function startSmtpSink(options: { lmtp?: boolean; verbose?: boolean; args?: string[] } = {}): Promise<SmtpSink> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pinchmail-sink-'));
  chmodSync(dir, 0o777);
  const port = await freePort();
  const args = ['-u', 'nobody', '-d', `${dir}/%M.`, ...(options.lmtp ? ['-L'] : []), ...(options.verbose ? ['-v'] : []), ...(options.args ?? []), `127.0.0.1:${port}`, '10'];
  const child: ChildProcess = spawn(SMTP_SINK, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`smtp-sink exited ${child.exitCode}: ${stderr}`);
    return listening(port);
  }, 10_000, 'smtp-sink to listen');
  return {
    port,
    messages: () => readdirSync(dir).sort().map((name) => parseDump(readFileSync(path.join(dir, name)))),
    commands: () => [...stderr.matchAll(/^\/usr\/sbin\/smtp-sink: ([A-Z]+(?: .*)?)$/gm)].map((m) => m[1]!),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function listening(port: number): Promise<boolean> {
  return import('node:net').then(
    (net) =>
      new Promise<boolean>((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port });
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      }),
  );
}

/**
 * A dump file: smtp-sink's X-* envelope lines, the Received: field it adds (with its
 * continuation lines), the message, and an empty line it adds at the end.
 */
function parseDump(dump: Buffer): SinkMessage {
  let at = 0;
  let mailFrom = '';
  const rcptTo: string[] = [];
  const next = (): string => dump.subarray(at, dump.indexOf(0x0a, at)).toString('latin1');
  const skip = (): void => {
    at = dump.indexOf(0x0a, at) + 1;
  };
  // Its envelope lines, up to the Received: field it adds; then that field's continuation lines.
  for (let line = next(); !line.startsWith('Received: '); line = next()) {
    if (line.startsWith('X-Mail-Args: ')) mailFrom = line.slice('X-Mail-Args: '.length);
    if (line.startsWith('X-Rcpt-Args: ')) rcptTo.push(line.slice('X-Rcpt-Args: '.length));
    skip();
  }
  skip();
  while (next().startsWith('\t')) skip();
  let message = dump.subarray(at);
  if (message.length > 0 && message[message.length - 1] === 0x0a) message = message.subarray(0, message.length - 1);
  return { mailFrom, rcptTo, message };
}
