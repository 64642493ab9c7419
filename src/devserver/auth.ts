import { createHash, createHmac } from 'node:crypto';
import { offers, type ServerFaults } from './faults.js';
import type { MailStore } from './mailstore.js';
import { err, ok, type Command, type Reply } from './replies.js';

/** Advertised unless `faults.sasl` says otherwise; every one is accepted either way. */
export const SASL_MECHANISMS = ['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2', 'OAUTHBEARER'];

/** What the authorization-state commands need of their session. */
export interface Authorization {
  readonly server: { readonly faults: ServerFaults; readonly store: MailStore; readonly locked: Set<string> };
  /** The greeting's timestamp: APOP digests it, CRAM-MD5 sends it as its challenge. */
  readonly stamp: string;
  /** The name USER gave, for PASS. */
  readonly user: string | null;
  name(user: string): void;
  send(reply: Buffer, arrived: number): void;
  /** The client's next line goes to `take` instead of being read as a command. */
  nextLine(take: (line: string) => void): void;
  /** Enters the transaction state on this user's mailbox, which the caller has locked. */
  open(user: string): void;
}

const user: Command<Authorization> = (session, args) => {
  if (!offers(session.server.faults, 'USER')) return err('USER not allowed');
  session.name(args[0] ?? '');
  return ok();
};

const pass: Command<Authorization> = (session, args) => {
  if (session.user === null) return err('USER first');
  // Compared as bytes, as real servers do: the line was read as Latin-1, one char per byte.
  const sent = Buffer.from(args.join(' '), 'latin1');
  return login(session, session.user, (pw) => Buffer.from(pw, 'utf8').equals(sent));
};

const apop: Command<Authorization> = (session, args) => {
  const [name = '', digest = ''] = args;
  return login(session, name, (pw) => createHash('md5').update(session.stamp + pw).digest('hex') === digest);
};

const auth: Command<Authorization> = (session, args, arrived) => {
  const mech = (args[0] ?? '').toUpperCase();
  const initial = args[1];
  const b64 = (s: string): string => Buffer.from(s, s === '=' ? 'latin1' : 'base64').toString('utf8');
  const ask = (challenge: string, then: (answer: string) => Buffer): null => sendChallenge(session, arrived, challenge, then);
  const withInitial = (then: (answer: string) => Buffer): Reply | null => (initial === undefined ? ask('', then) : then(initial));
  if (!offers(session.server.faults, 'SASL')) return err('AUTH not available');
  switch (mech) {
    case 'PLAIN':
      return withInitial((answer) => {
        const [, name = '', password = ''] = b64(answer).split('\0');
        return login(session, name, (pw) => pw === password);
      });
    case 'LOGIN':
      return ask('Username:', (u) => {
        const name = b64(u);
        ask('Password:', (p) => login(session, name, (pw) => pw === b64(p)));
        return Buffer.alloc(0);
      });
    case 'CRAM-MD5': {
      const challenge = session.stamp;
      return ask(challenge, (answer) => {
        const [name = '', digest = ''] = b64(answer).split(' ');
        return login(session, name, (pw) => createHmac('md5', pw).update(challenge).digest('hex') === digest);
      });
    }
    case 'XOAUTH2':
    case 'OAUTHBEARER':
      return withInitial((answer) => {
        const text = b64(answer);
        const name = mech === 'XOAUTH2' ? /user=([^\x01]*)/.exec(text)?.[1] : /^n,a=([^,]*),/.exec(text)?.[1];
        const token = /auth=Bearer ([^\x01]*)/.exec(text)?.[1];
        const reply = login(session, name ?? '', (pw) => pw === token);
        if (reply[0] === 0x2b) return reply;
        // Failures are reported as an error challenge; the client's answer ends the exchange.
        ask('{"status":"401"}', () => refuse(session, 'Authentication failed.', 'AUTH'));
        return Buffer.alloc(0);
      });
    default:
      return err(`unsupported mechanism ${mech}`);
  }
};

/** By verb; STLS is the session's, since it swaps the connection under it. */
export const authorizationCommands: ReadonlyMap<string, Command<Authorization>> = new Map([
  ['USER', user],
  ['PASS', pass],
  ['APOP', apop],
  ['AUTH', auth],
]);

/** Sends a SASL challenge; the answer to it is the client's next line, or "*" to give up. */
function sendChallenge(session: Authorization, arrived: number, challenge: string, then: (answer: string) => Buffer): null {
  session.nextLine((line) => {
    if (line === '*') session.send(err('Authentication aborted'), arrived);
    else session.send(then(line), Date.now());
  });
  session.send(Buffer.from(`+ ${Buffer.from(challenge).toString('base64')}\r\n`), arrived);
  return null;
}

function login(session: Authorization, name: string, check: (password: string) => boolean): Buffer {
  const { store, locked } = session.server;
  const password = store.password(name);
  if (password === undefined || !check(password)) return refuse(session, 'Authentication failed.', 'AUTH');
  if (session.server.faults.exclusive && locked.has(name)) {
    return refuse(session, 'Mailbox is locked by another session', 'IN-USE');
  }
  locked.add(name);
  session.open(name);
  return ok('Logged in.');
}

function refuse(session: Authorization, text: string, code: string): Buffer {
  return err(text, offers(session.server.faults, 'RESP-CODES') ? code : undefined);
}
