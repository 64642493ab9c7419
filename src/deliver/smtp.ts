import { createReadStream, readFileSync } from 'node:fs';
import net from 'node:net';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import addressparser from 'nodemailer/lib/addressparser';
import { resolveSecret } from '../config/secrets.js';
import type { TargetConfig } from '../config/types.js';
import { errorMessage } from '../errors.js';
import { SecretScrubber } from '../pop3/scrub.js';
import { DeliveryError } from './errors.js';
import { Headers } from './route/headers.js';
import { MAX_HEADER_BYTES } from './route/header-limit.js';
import type { SpoolFile } from './spool.js';
import { mailTransferLabel } from './transfer-label.js';

export type MailTransferConfig = Extract<TargetConfig, { kind: 'lmtp' | 'smtp' }>;

/** How long the server may take to greet and to answer each command. */
const COMMAND_TIMEOUT_MS = 60_000;

/**
 * Hands a message to an LMTP server (Dovecot's or Cyrus's local delivery) or an SMTP
 * server (a local or relay MTA, as fetchmail does), through nodemailer's SMTP client:
 * one connection and one transaction per message, the message streamed from its spooled
 * copy (nodemailer dot-stuffs it and sends CRLF line ends). Delivered once the server
 * says 250 to the end of the data (LMTP: for the one recipient); a 4xx reply is "try
 * again later", a 5xx one refuses the message for good.
 */
export class MailTransfer {
  readonly label: string;
  /** The AUTH password, resolved once for the run, when the first message goes. */
  private password: Promise<string> | null = null;
  /** Strikes the password, and the forms it took on the wire, from what the server says. */
  private readonly scrubber = new SecretScrubber();

  constructor(
    private readonly config: MailTransferConfig,
    private readonly kill?: AbortSignal,
  ) {
    this.label = mailTransferLabel(config);
  }

  async deliver(copy: SpoolFile): Promise<void> {
    const from = this.config.from ?? envelopeFrom(copy.head(MAX_HEADER_BYTES));
    const connection = await this.connect();
    try {
      const info = await new Promise<SMTPConnection.SentMessageInfo>((resolve, reject) => {
        // close() (a second signal) ends the send without calling its callback.
        connection.once('end', () => reject(this.failure(new Error('the connection was closed before the server took the message'))));
        connection.send({ from: from === '' ? false : from, to: this.config.to, size: copy.size, use8BitMime: true }, createReadStream(copy.file), (err, sent) =>
          err ? reject(err) : resolve(sent!),
        );
      });
      const refused = info.rejectedErrors?.[0];
      if (refused || info.rejected.length > 0) throw this.failure(refused ?? new Error(`${this.config.to} was refused`));
    } catch (err) {
      throw err instanceof DeliveryError ? err : this.failure(err);
    } finally {
      connection.quit();
      connection.close();
    }
  }

  private async connect(): Promise<SMTPConnection> {
    const { config } = this;
    const where = config.address;
    if (this.kill?.aborted) throw this.failure(new Error('pinchmail is stopping'));
    let ca: Buffer | undefined;
    try {
      if (config.caFile) ca = readFileSync(config.caFile);
    } catch (err) {
      throw new DeliveryError(`${this.label}: cannot read the CA file ${config.caFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err, permanence: 'unusable' });
    }
    const options: SMTPConnection.Options = {
      lmtp: config.kind === 'lmtp',
      connectionTimeout: COMMAND_TIMEOUT_MS,
      greetingTimeout: COMMAND_TIMEOUT_MS,
      socketTimeout: config.timeoutMs,
      socketCloseTimeout: 0,
      ignoreTLS: config.tls === 'none',
      requireTLS: config.tls === 'starttls',
      secure: config.tls === 'implicit',
      ...(ca ? { tls: { ca } } : {}),
    };
    if ('path' in where) options.connection = await openUnixSocket(where.path).catch((err: unknown) => Promise.reject(this.failure(err)));
    else Object.assign(options, { host: where.host, port: where.port });
    const connection = new SMTPConnection(options);
    const stop = (): void => connection.close();
    this.kill?.addEventListener('abort', stop, { once: true });
    connection.once('end', () => this.kill?.removeEventListener('abort', stop));
    await new Promise<void>((resolve, reject) => {
      // A failure to connect comes as an 'error' event, not through connect's callback.
      connection.once('error', (err) => reject(this.failure(err)));
      connection.once('end', () => reject(this.failure(new Error('the connection was closed before the server greeted'))));
      connection.connect((err) => (err ? reject(this.failure(err)) : resolve()));
    });
    // Later errors reach send's callback; an 'error' event with no listener would throw.
    connection.on('error', () => {});
    try {
      await this.login(connection);
    } catch (err) {
      connection.close();
      throw err;
    }
    return connection;
  }

  /** SMTP AUTH, when configured: after STARTTLS (connect() required it), before MAIL FROM. */
  private async login(connection: SMTPConnection): Promise<void> {
    const { auth } = this.config;
    if (!auth) return;
    this.password ??= resolveSecret(auth.password, auth.passwordPath);
    let pass: string;
    try {
      pass = await this.password;
    } catch (err) {
      throw new DeliveryError(`${this.label}: cannot get the password: ${errorMessage(err)}`, { cause: err, permanence: 'unusable' });
    }
    this.scrubber.addSecret(pass);
    this.scrubber.addForm(Buffer.from(`\0${auth.user}\0${pass}`, 'utf8').toString('base64'));
    await new Promise<void>((resolve, reject) => connection.login({ user: auth.user, pass }, (err) => (err ? reject(this.failure(err)) : resolve())));
  }

  /**
   * The server's words when it said them, its reply code deciding how lasting the
   * failure is: a 5xx about the message refuses it for good; one to the greeting, EHLO,
   * STARTTLS, AUTH or a configured sender says the target cannot work as configured,
   * which sends no message to the quarantine.
   */
  private failure(err: unknown): DeliveryError {
    const e = err as { responseCode?: number; response?: string; message?: string; code?: string; command?: string };
    const said = this.scrubber.scrub(e.response ? `the server said "${e.response.trim().slice(0, 300)}"` : (e.message ?? String(err)));
    const setup = /^(CONN|EHLO|LHLO|HELO|STARTTLS|AUTH)/.test(e.command ?? '') || (e.command === 'MAIL FROM' && this.config.from !== undefined);
    // A login the client cannot even try (the server offers no mechanism it knows) will not work next run either.
    const cannotLogIn = e.code === 'EAUTH' && e.responseCode === undefined;
    if (cannotLogIn || (setup && typeof e.responseCode === 'number' && e.responseCode >= 500)) return new DeliveryError(`${this.label}: ${said}`, { cause: err, permanence: 'unusable' });
    // A message larger than the SIZE the server announced is refused before it is sent: that will not change either.
    const tooBig = e.code === 'EMESSAGE' && e.responseCode === undefined && /larger than allowed/.test(e.message ?? '');
    const permanent = tooBig || (typeof e.responseCode === 'number' && e.responseCode >= 500 && e.responseCode < 600);
    return new DeliveryError(`${this.label}: ${said}`, { cause: err, permanence: permanent ? 'refused' : 'temporary' });
  }
}


function openUnixSocket(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ path });
    // Connecting to a unix socket does not wait on a network: a listener that is there answers at once.
    const timer = setTimeout(() => socket.destroy(new Error(`connecting to ${path} timed out`)), COMMAND_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * The envelope sender when the config names none: the message's first Return-Path
 * (what the MTA that delivered it recorded; "" for the null sender <>), else the
 * address of its From, else the null sender.
 */
export function envelopeFrom(head: Buffer): string {
  const headers = Headers.parse(head);
  const returnPath = headers.all('return-path')[0];
  if (returnPath !== undefined) {
    const inside = /<([^>]*)>/.exec(returnPath)?.[1]?.trim() ?? returnPath.trim();
    if (inside === '' || sendable(inside)) return inside;
  }
  const from = headers.all('from')[0];
  const first = from === undefined ? undefined : addressparser(from, { flatten: true })[0]?.address;
  return first && sendable(first) ? first : '';
}

/**
 * Whether an address taken from the message may go into MAIL FROM: printable ASCII, no
 * space or angle bracket. The message is the sender's to write: a line break in it
 * (an encoded-word decodes to anything) must never become a command of its own.
 */
function sendable(address: string): boolean {
  return /^[\x21-\x7e]+$/.test(address) && !/[<>]/.test(address);
}
