import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';

/**
 * A private Dovecot for tests: its own config, users, Maildirs and TLS certificate in a
 * temp dir, listening on free loopback ports, run in the foreground as a child of the
 * test process (../shared/reference/dovecot.md). Mail belongs to uid/gid 5000.
 */

const MAIL_UID = 5000;
const DOVECOT = ['/usr/sbin/dovecot', '/usr/local/sbin/dovecot'].find((p) => existsSync(p));
/** dovecot-lmtpd: the LMTP server, packaged apart from the rest. */
export const HAS_LMTP = existsSync('/usr/lib/dovecot/lmtp');

export interface DovecotUser {
  name: string;
  password: string;
  maildir: string;
}

export interface Dovecot {
  dir: string;
  host: '127.0.0.1';
  port: number;
  popsPort: number;
  /** An IMAP listener: a real server that is not POP3, for the wrong-port mistake. */
  imapPort: number;
  /** Dovecot's LMTP socket (delivering into the users' Maildirs), or null without dovecot-lmtpd. */
  lmtpSocket: string | null;
  caFile: string;
  users: Map<string, DovecotUser>;
  /** Drops a message into a user's Maildir/new; Dovecot sees it at once. */
  deliver(user: string, content: Buffer): string;
  /** File names left in the user's Maildir (new and cur). */
  stored(user: string): string[];
  /** The messages themselves, as Dovecot holds them on disk. */
  contents(user: string): Buffer[];
  stop(): Promise<void>;
}

/** Why Dovecot tests cannot run here, or null when they can. */
export function dovecotUnavailable(): string | null {
  if (!DOVECOT || !existsSync('/usr/lib/dovecot/pop3') || !existsSync('/usr/lib/dovecot/imap')) {
    return 'dovecot is not installed (apt-get install dovecot-core dovecot-pop3d dovecot-imapd)';
  }
  if (process.getuid?.() !== 0) return 'the private Dovecot needs root to switch to the mail uid';
  if (spawnSync('openssl', ['version']).status !== 0) return 'openssl is not installed';
  return null;
}

function waitForPort(port: number, child: ChildProcess, logFile: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (child.exitCode !== null) {
        const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
        reject(new Error(`dovecot exited with ${child.exitCode}: ${log.slice(-2000)}`));
        return;
      }
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('data', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`dovecot did not listen on ${port}`));
        else setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}

export async function startDovecot(userNames: string[] = ['alice']): Promise<Dovecot> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pinchmail-dovecot-'));
  // The auth process runs as the dovecot user and mail as uid 5000: both must reach their files.
  chmodSync(dir, 0o755);
  for (const sub of ['run', 'state', 'log', 'tls', 'mail']) mkdirSync(path.join(dir, sub), { recursive: true });
  const cert = path.join(dir, 'tls/cert.pem');
  const key = path.join(dir, 'tls/key.pem');
  const made = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '3650',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]);
  if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr.toString()}`);

  const users = new Map<string, DovecotUser>();
  const lines: string[] = [];
  for (const name of userNames) {
    const home = path.join(dir, 'mail', name);
    const maildir = path.join(home, 'Maildir');
    for (const sub of ['new', 'cur', 'tmp']) mkdirSync(path.join(maildir, sub), { recursive: true });
    for (const p of [home, maildir, ...['new', 'cur', 'tmp'].map((s) => path.join(maildir, s))]) chownSync(p, MAIL_UID, MAIL_UID);
    const password = `${name}-pw-${randomBytes(4).toString('hex')}`;
    users.set(name, { name, password, maildir });
    lines.push(`${name}:{PLAIN}${password}:${MAIL_UID}:${MAIL_UID}::${home}::`);
  }
  writeFileSync(path.join(dir, 'users'), `${lines.join('\n')}\n`);

  const port = await freePort();
  const popsPort = await freePort();
  const imapPort = await freePort();
  writeFileSync(
    path.join(dir, 'dovecot.conf'),
    `base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/log/dovecot.log
protocols = pop3 imap${HAS_LMTP ? ' lmtp' : ''}
listen = 127.0.0.1
ssl = yes
ssl_cert = <${cert}
ssl_key = <${key}
disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5 apop
# Tests try wrong passwords on purpose: no growing per-IP penalty, and a short delay.
auth_failure_delay = 0
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/users
}
userdb {
  driver = passwd-file
  args = username_format=%u ${dir}/users
}
mail_location = maildir:~/Maildir
service imap-login {
  inet_listener imap {
    port = ${imapPort}
  }
  inet_listener imaps {
    port = 0
  }
}
${
  HAS_LMTP
    ? `# LMTP delivers as the mail uid; nothing but the Received: field it would add is changed.
lmtp_add_received_header = no
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
`
    : ''
}service pop3-login {
  inet_listener pop3 {
    port = ${port}
  }
  inet_listener pop3s {
    port = ${popsPort}
    ssl = yes
  }
}
`,
  );
  const child = spawn(DOVECOT!, ['-F', '-c', path.join(dir, 'dovecot.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await waitForPort(port, child, path.join(dir, 'log/dovecot.log'));
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }

  let seq = 0;
  return {
    dir,
    host: '127.0.0.1',
    port,
    popsPort,
    imapPort,
    lmtpSocket: HAS_LMTP ? path.join(dir, 'run', 'lmtp') : null,
    caFile: cert,
    users,
    deliver(user, content) {
      const box = users.get(user);
      if (!box) throw new Error(`no such user ${user}`);
      const name = `${Date.now()}.P${process.pid}Q${String(seq++).padStart(7, '0')}.pinchmail-test`;
      const tmp = path.join(box.maildir, 'tmp', name);
      writeFileSync(tmp, content);
      chownSync(tmp, MAIL_UID, MAIL_UID);
      // rename: Dovecot must never see a half-written file.
      const target = path.join(box.maildir, 'new', name);
      renameSync(tmp, target);
      return name;
    },
    stored(user) {
      const box = users.get(user)!;
      return [...readdirSync(path.join(box.maildir, 'new')), ...readdirSync(path.join(box.maildir, 'cur'))];
    },
    contents(user) {
      const box = users.get(user)!;
      // Dovecot may move a file from new/ to cur/, or remove it (a session of a killed run
      // still finishing), between the listing and the read: then the listing is taken again.
      for (let attempt = 0; ; attempt++) {
        try {
          return ['new', 'cur'].flatMap((sub) =>
            readdirSync(path.join(box.maildir, sub)).map((name) => readFileSync(path.join(box.maildir, sub, name))),
          );
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 20) throw err;
        }
      }
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * What Dovecot serves for a Maildir file, once dot-unstuffed (observed with a raw
 * socket): bare LFs become CRLF, and a CRLF is added when the file does not end with
 * one, even to an empty file.
 */
export function dovecotServes(file: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < file.length; i++) {
    if (file[i] === 0x0a && (i === 0 || file[i - 1] !== 0x0d)) out.push(0x0d);
    out.push(file[i]!);
  }
  const n = out.length;
  if (n < 2 || out[n - 2] !== 0x0d || out[n - 1] !== 0x0a) out.push(0x0d, 0x0a);
  return Buffer.from(out);
}
