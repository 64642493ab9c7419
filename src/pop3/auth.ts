import { createHash, createHmac } from 'node:crypto';
import type { Pop3Client } from './client.js';
import { saslMechanisms, type Capabilities } from './capabilities.js';
import { Pop3Error } from './errors.js';
import type { Reply } from './reply.js';

export type AuthMethod = 'auto' | 'user' | 'apop' | 'plain' | 'login' | 'cram-md5' | 'xoauth2' | 'oauthbearer';

export interface LoginRequest {
  method: AuthMethod;
  user: string;
  /** The password, or for xoauth2/oauthbearer the access token. */
  secret: string;
  /** May the secret itself cross this connection? True under TLS, to loopback, or when the config allows it. */
  cleartextAllowed: boolean;
  host: string;
  port: number;
}

interface LoginContext {
  client: Pop3Client;
  caps: Capabilities | null;
  greeting: Reply;
}

const MASK = '****';
/** RFC 5034 §4: the AUTH command line with its initial response stays within 255 octets. */
const MAX_AUTH_LINE = 255;
const MAX_SASL_STEPS = 8;

const APOP_TIMESTAMP = /<[^<>@\s]+@[^<>\s]+>/;

/** Which concrete method `auto` comes to, or why none can be used. */
export function chooseMethod(ctx: LoginContext, req: Pick<LoginRequest, 'method' | 'cleartextAllowed'>): Exclude<AuthMethod, 'auto'> {
  if (req.method !== 'auto') return req.method;
  const sasl = saslMechanisms(ctx.caps ?? new Map());
  const hasApop = APOP_TIMESTAMP.test(ctx.greeting.text);
  // Mechanisms that never put the password on the wire come first.
  if (sasl.has('CRAM-MD5')) return 'cram-md5';
  if (req.cleartextAllowed) {
    if (sasl.has('PLAIN')) return 'plain';
    if (sasl.has('LOGIN')) return 'login';
    // USER is offered when CAPA says so, and assumed by RFC 1939 when there is no CAPA.
    if (!ctx.caps || ctx.caps.has('USER')) return 'user';
  }
  if (hasApop) return 'apop';
  if (!req.cleartextAllowed) {
    throw new Pop3Error(
      'INSECURE',
      'refusing to send the password in clear text over an unencrypted connection (use tls, or set "allowPlaintext": true)',
    );
  }
  throw new Pop3Error('AUTH', 'the server offers no login method pinchmail supports');
}

/** Logs in; returns the method used. Secrets never reach a trace or an error message. */
export async function login(ctx: LoginContext, req: LoginRequest): Promise<string> {
  const method = chooseMethod(ctx, req);
  const needsCleartext = method === 'user' || method === 'plain' || method === 'login';
  if (needsCleartext && !req.cleartextAllowed) {
    throw new Pop3Error(
      'INSECURE',
      `refusing to send the password for ${req.user} in clear text to ${req.host} (use tls, or set "allowPlaintext": true)`,
    );
  }
  try {
    switch (method) {
      case 'user':
        // PASS waits for USER's reply even where PIPELINING is offered: a refused USER is never
        // handed the password, and the round trip costs less than what pipelining the pair costs
        // with Dovecot. Its post-login process answers PASS while the login process's reply to
        // USER is unacknowledged, so Nagle holds it for the client's delayed ACK (40 ms on
        // Linux); with PASS sent after the reply, the ACK goes with it (issue 21).
        await ctx.client.command(`USER ${req.user}`, { pipelinable: false });
        await ctx.client.command(`PASS ${req.secret}`, { label: `PASS ${MASK}`, pipelinable: false });
        break;
      case 'apop':
        await apop(ctx, req);
        break;
      case 'plain':
        await sasl(ctx, 'PLAIN', Buffer.from(`\0${req.user}\0${req.secret}`, 'utf8'), () => {
          throw new Pop3Error('AUTH', 'unexpected challenge during AUTH PLAIN');
        });
        break;
      case 'login':
        await sasl(ctx, 'LOGIN', null, (_challenge, step) =>
          Buffer.from(step === 0 ? req.user : req.secret, 'utf8'),
        );
        break;
      case 'cram-md5':
        await sasl(ctx, 'CRAM-MD5', null, (challenge) => {
          const digest = createHmac('md5', Buffer.from(req.secret, 'utf8')).update(challenge).digest('hex');
          return Buffer.from(`${req.user} ${digest}`, 'utf8');
        });
        break;
      case 'xoauth2':
        await sasl(ctx, 'XOAUTH2', Buffer.from(`user=${req.user}\x01auth=Bearer ${req.secret}\x01\x01`, 'utf8'), () =>
          // After a failure the server sends an error challenge; an empty reply ends the exchange.
          Buffer.alloc(0),
        );
        break;
      case 'oauthbearer': {
        const gs2 = `n,a=${req.user.replace(/=/g, '=3D').replace(/,/g, '=2C')},`;
        const initial = `${gs2}\x01host=${req.host}\x01port=${req.port}\x01auth=Bearer ${req.secret}\x01\x01`;
        // RFC 7628 §3.2.3: after an error challenge the client answers with a single %x01.
        await sasl(ctx, 'OAUTHBEARER', Buffer.from(initial, 'utf8'), () => Buffer.from([0x01]));
        break;
      }
    }
  } catch (err) {
    throw asAuthError(err, req.user, method);
  }
  return method;
}

async function apop(ctx: LoginContext, req: LoginRequest): Promise<void> {
  const stamp = APOP_TIMESTAMP.exec(ctx.greeting.text)?.[0];
  if (!stamp) throw new Pop3Error('AUTH', 'APOP requested, but the server greeting carries no timestamp');
  const digest = createHash('md5').update(stamp + req.secret, 'utf8').digest('hex');
  await ctx.client.command(`APOP ${req.user} ${digest}`, { label: `APOP ${req.user} ${MASK}` });
}

/**
 * RFC 5034 AUTH exchange: the initial response goes on the command line when it fits,
 * otherwise after the server's first (empty) challenge.
 */
async function sasl(
  ctx: LoginContext,
  mechanism: string,
  initial: Buffer | null,
  respond: (challenge: Buffer, step: number) => Buffer,
): Promise<void> {
  const offered = saslMechanisms(ctx.caps ?? new Map());
  if (ctx.caps && !offered.has(mechanism)) {
    throw new Pop3Error('AUTH', `the server does not offer SASL ${mechanism}`);
  }
  let pending = initial;
  let line = `AUTH ${mechanism}`;
  let label = line;
  if (pending) {
    const encoded = pending.toString('base64');
    if (line.length + 1 + encoded.length <= MAX_AUTH_LINE) {
      line += ` ${encoded.length > 0 ? encoded : '='}`;
      label += ` ${MASK}`;
      pending = null;
    }
  }
  let reply = await ctx.client.command(line, { sasl: true, label });
  for (let step = 0; reply.continuation; step++) {
    if (step >= MAX_SASL_STEPS) throw new Pop3Error('AUTH', `AUTH ${mechanism}: too many challenges`);
    let answer: Buffer;
    if (pending) {
      answer = pending;
      pending = null;
    } else {
      answer = respond(Buffer.from(reply.text.trim(), 'base64'), step);
    }
    reply = await ctx.client.command(answer.toString('base64'), { sasl: true, label: MASK });
  }
}

function asAuthError(err: unknown, user: string, method: string): unknown {
  if (!(err instanceof Pop3Error)) return err;
  // A plain -ERR or [AUTH] during login is a refused login; [IN-USE], [SYS/TEMP] and the like keep their meaning.
  if ((err.code === 'REFUSED' || err.code === 'AUTH') && err.serverText !== undefined) {
    return new Pop3Error('AUTH', `login as ${user} (${method}) refused: ${err.serverText ?? err.message}`, {
      serverText: err.serverText,
    });
  }
  return err;
}
