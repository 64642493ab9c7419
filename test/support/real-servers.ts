import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync, chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync,
  readFileSync, renameSync, rmSync, writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describeIf } from './dovecot-suite.js';
import { freePort } from './free-port.js';

/**
 * Real POP3 servers other than Dovecot, from Debian's packages: popa3d, GNU mailutils
 * pop3d and Courier POP3 (../shared/reference/pop3-servers.md).
 *
 * They conflict with the installed dovecot-pop3d, so .ci/real-servers.sh does not
 * install them: it unpacks them into $PINCHMAIL_SERVERS_DIR/root/<package> (default
 * /var/cache/pinchmail-servers) and installs only their dependencies and users. Each
 * start here gets a fresh temp dir and a free loopback port, runs the server in its own
 * process group (in a private mount namespace where compiled-in paths such as /var/mail
 * or /etc/courier must point into the temp dir), and stop() kills the whole group; the
 * namespace and its bind mounts disappear with its last process.
 *
 * Mail is delivered straight into the server's storage on disk: an mbox file for popa3d
 * and mailutils, a Maildir for Courier. Deliver between sessions: an mbox append is one
 * write but takes no lock.
 */

export type RealServerName = 'popa3d' | 'mailutils' | 'courier';
export const REAL_SERVERS: readonly RealServerName[] = ['popa3d', 'mailutils', 'courier'];

export interface RealServer {
  name: RealServerName;
  host: '127.0.0.1';
  port: number;
  user: string;
  password: string;
  /** The temp dir of this start (removed by stop()). */
  dir: string;
  format: 'mbox' | 'maildir';
  /** The user's mbox file, or Maildir directory. */
  mailbox: string;
  /**
   * Puts a message into the user's mailbox, with its CRLFs turned into LFs: all three
   * servers store local LF lines, as a delivery agent writes them, and add the CR when
   * serving (CRLF on disk comes out as CR CR LF; `{ keepCrlf: true }` writes that on
   * purpose). mbox: appends a `From ` line, the message with lines matching /^>*From /
   * quoted by one more '>' (mboxrd), a final LF if it lacks one, and the blank separator
   * line. Maildir: a new file in new/ (via tmp/).
   */
  deliver(content: Buffer, options?: DeliverOptions): void;
  /** How many messages are left in the mailbox on disk. */
  count(): number;
  /** The messages left on disk (mbox: parsed back and unquoted; Maildir: new/ then cur/, by name). */
  contents(): Buffer[];
  /** What the server wrote to stdout/stderr (mailutils and Courier log there). */
  log(): string;
  stop(): Promise<void>;
}

export interface DeliverOptions {
  /** Keep CRLF line ends as given instead of storing LF lines. */
  keepCrlf?: boolean;
  /** mbox only: the `From ` line (with its LF); default `From MAILER-DAEMON <now, asctime UTC>`. */
  fromLine?: string;
}

export interface MailutilsOptions {
  /** The server block's `timeout N`: idle seconds before "-ERR Session timed out". */
  timeout?: number;
}

export const SERVERS_DIR = process.env.PINCHMAIL_SERVERS_DIR ?? '/var/cache/pinchmail-servers';
const ROOT = path.join(SERVERS_DIR, 'root');
const POPA3D = path.join(ROOT, 'popa3d/usr/sbin/popa3d');
const MU_POP3D = path.join(ROOT, 'mailutils-pop3d/usr/sbin/pop3d');
const COURIER_LIB = path.join(ROOT, 'courier-pop/usr/lib/courier/courier');
const AUTHDAEMOND = '/usr/lib/courier/courier-authlib/authdaemond';
const INSTALL_HINT = 'run: bash .ci/real-servers.sh';

/** System users made by .ci/real-servers.sh, with the passwords it set. */
const POPA3D_USER = 'pmpopa';
const MU_USER = 'pmmu';
/** Courier's user lives only in its private userdb; its mail belongs to this uid. */
const COURIER_USER = 'pmcourier';
const COURIER_UID = 5000;

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function userIds(name: string): { uid: number; gid: number } | null {
  const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return null;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function mailGid(): number {
  return userIds('mail')?.gid ?? 8;
}

/** Why this server cannot run here, or null when it can. */
export function realServerUnavailable(name: RealServerName): string | null {
  if (process.platform !== 'linux') return 'the real POP3 servers need Linux';
  if (process.getuid?.() !== 0) return `${name} needs root (system users, bind mounts, privilege drop)`;
  if (!which('unshare')) return 'unshare (util-linux) is not installed';
  const missing = (what: string): string => `${what} is missing (${INSTALL_HINT})`;
  switch (name) {
    case 'popa3d':
      if (!existsSync(POPA3D)) return missing(POPA3D);
      if (!which('socat')) return missing('socat');
      if (!userIds('popa3d')) return missing('the popa3d system user');
      if (!userIds(POPA3D_USER)) return missing(`the test user ${POPA3D_USER}`);
      return null;
    case 'mailutils':
      if (!existsSync(MU_POP3D)) return missing(MU_POP3D);
      if (spawnSync(MU_POP3D, ['--version'], { stdio: 'ignore' }).status !== 0) return missing('a library of mailutils pop3d');
      if (!userIds(MU_USER)) return missing(`the test user ${MU_USER}`);
      return null;
    case 'courier':
      for (const p of [path.join(COURIER_LIB, 'courierpop3d'), path.join(COURIER_LIB, 'courierpop3login'),
        '/usr/sbin/couriertcpd', AUTHDAEMOND, '/usr/sbin/makeuserdb', '/usr/sbin/userdb', '/usr/sbin/userdbpw',
        '/usr/lib/courier-authlib/libauthuserdb.so', '/etc/courier/authdaemonrc']) {
        if (!existsSync(p)) return missing(p);
      }
      if (!userIds('courier')) return missing('the courier system user');
      return null;
  }
}

/**
 * `describe` for suites that need one of these servers: skipped with a visible notice
 * where it cannot run, failing outright when PINCHMAIL_REQUIRE_DOVECOT=1 (as in CI).
 */
export function describeWithRealServer(name: string, server: RealServerName, body: () => void): void {
  describeIf(name, `${server} tests`, realServerUnavailable(server), body);
}

export function startRealServer(name: RealServerName, options: MailutilsOptions = {}): Promise<RealServer> {
  switch (name) {
    case 'popa3d':
      return startPopa3d();
    case 'mailutils':
      return startMailutils(options);
    case 'courier':
      return startCourier();
  }
}

// ---------------------------------------------------------------------------------------
// Processes

function sh(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function makeDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `pinchmail-${prefix}-`));
  // The servers drop to the mail user (and popa3d/courier to their own): let them through.
  chmodSync(dir, 0o755);
  return dir;
}

interface Launched {
  child: ChildProcess;
  logFile: string;
}

/** Starts argv as the leader of a new process group, output to dir/server.log. */
function launch(dir: string, argv: string[]): Launched {
  const logFile = path.join(dir, 'server.log');
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', fd, fd], cwd: dir });
    child.on('error', () => undefined);
    return { child, logFile };
  } finally {
    closeSync(fd);
  }
}

function readLog(logFile: string): string {
  return existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
}

/** Resolves once a connection to the port gets a first line (the greeting), with a deadline. */
function waitForGreeting(port: number, { child, logFile }: Launched, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (child.exitCode !== null || child.signalCode !== null) {
        reject(new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before greeting: ${readLog(logFile).slice(-2000)}`));
        return;
      }
      let got = '';
      let settled = false;
      const socket = net.connect({ host: '127.0.0.1', port });
      const retry = (): void => {
        if (settled) return;
        settled = true;
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`${what} gave no greeting on ${port}: ${readLog(logFile).slice(-2000)}`));
        else setTimeout(attempt, 25);
      };
      socket.setTimeout(Math.max(100, deadline - Date.now()), retry);
      socket.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        if (got.includes('\n') && !settled) {
          settled = true;
          socket.end('QUIT\r\n');
          socket.destroy();
          if (got.startsWith('+OK')) resolve();
          else reject(new Error(`${what} greeted with ${JSON.stringify(got)}`));
        }
      });
      socket.on('error', retry);
      socket.on('close', retry);
    };
    attempt();
  });
}

/** Live (non-zombie) processes whose process group is pgid. */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parens.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') out.push(Number(entry));
  }
  return out;
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: nobody left.
  }
}

/** SIGTERM to the whole process group, SIGKILL after a grace period, until none is left. */
async function stopGroup(child: ChildProcess): Promise<void> {
  const pgid = child.pid;
  if (pgid === undefined) return;
  const exited = child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once('exit', () => resolve()));
  killGroup(pgid, 'SIGTERM');
  const killAt = Date.now() + 3_000;
  const giveUpAt = Date.now() + 10_000;
  let killed = false;
  for (;;) {
    const left = groupMembers(pgid);
    if (left.length === 0) break;
    if (Date.now() > giveUpAt) throw new Error(`processes ${left.join(', ')} of group ${pgid} would not die`);
    if (!killed && Date.now() > killAt) {
      killGroup(pgid, 'SIGKILL');
      killed = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await exited;
}

// ---------------------------------------------------------------------------------------
// Mailboxes

const ASCTIME_DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const ASCTIME_MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `From sender asctime-date` in UTC, e.g. `From MAILER-DAEMON Thu Jan  1 00:00:00 2026`. */
export function mboxFromLine(sender = 'MAILER-DAEMON', date = new Date()): string {
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const asctime = `${ASCTIME_DAYS[date.getUTCDay()]} ${ASCTIME_MONTHS[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2, ' ')} `
    + `${p2(date.getUTCHours())}:${p2(date.getUTCMinutes())}:${p2(date.getUTCSeconds())} ${date.getUTCFullYear()}`;
  return `From ${sender} ${asctime}\n`;
}

/** The message as an mbox stores it: every CRLF turned into LF (lone CRs and LFs kept). */
export function crlfToLf(content: Buffer): Buffer {
  const out = Buffer.alloc(content.length);
  let n = 0;
  for (let i = 0; i < content.length; i++) {
    if (content[i] === 0x0d && content[i + 1] === 0x0a) continue;
    out[n++] = content[i]!;
  }
  return out.subarray(0, n);
}

/** One mbox entry (mboxrd quoting): From line, quoted message, final LF, blank line. */
export function mboxEntry(content: Buffer, fromLine = mboxFromLine()): Buffer {
  const parts: Buffer[] = [Buffer.from(fromLine, 'latin1')];
  let start = 0;
  while (start < content.length) {
    const nl = content.indexOf(0x0a, start);
    const end = nl === -1 ? content.length : nl + 1;
    const line = content.subarray(start, end);
    if (/^>*From /.test(line.subarray(0, 64).toString('latin1'))) parts.push(Buffer.from('>'));
    parts.push(line);
    start = end;
  }
  if (content.length === 0 || content[content.length - 1] !== 0x0a) parts.push(Buffer.from('\n'));
  parts.push(Buffer.from('\n'));
  return Buffer.concat(parts);
}

/** The messages of an mbox file: split at `From ` lines, separator dropped, unquoted. */
export function parseMbox(file: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  while (start < file.length) {
    const nl = file.indexOf(0x0a, start);
    const end = nl === -1 ? file.length : nl + 1;
    lines.push(file.subarray(start, end));
    start = end;
  }
  const messages: Buffer[][] = [];
  for (const line of lines) {
    const head = line.subarray(0, 64).toString('latin1');
    if (head.startsWith('From ')) messages.push([]);
    else if (messages.length > 0) messages[messages.length - 1]!.push(/^>+From /.test(head) ? line.subarray(1) : line);
  }
  return messages.map((msgLines) => {
    // The blank line before the next From line (or at the end of the file) is the separator.
    const last = msgLines[msgLines.length - 1];
    if (last && last.length === 1 && last[0] === 0x0a) msgLines.pop();
    return Buffer.concat(msgLines);
  });
}

function mboxBox(file: string, uid: number, gid: number): Pick<RealServer, 'deliver' | 'count' | 'contents'> {
  writeFileSync(file, '');
  chownSync(file, uid, gid);
  chmodSync(file, 0o600);
  const contents = (): Buffer[] => (existsSync(file) ? parseMbox(readFileSync(file)) : []);
  return {
    deliver(content, options = {}) {
      const lines = options.keepCrlf ? content : crlfToLf(content);
      // One write with O_APPEND; the server must not be rewriting the file at that moment.
      appendFileSync(file, mboxEntry(lines, options.fromLine));
    },
    count: () => contents().length,
    contents,
  };
}

function maildirBox(maildir: string, uid: number, gid: number): Pick<RealServer, 'deliver' | 'count' | 'contents'> {
  let seq = 0;
  const files = (): string[] =>
    ['new', 'cur'].flatMap((sub) => readdirSync(path.join(maildir, sub)).sort().map((n) => path.join(maildir, sub, n)));
  return {
    deliver(content, options = {}) {
      const name = `${Date.now()}.P${process.pid}Q${String(seq++).padStart(7, '0')}.pinchmail-test`;
      const tmp = path.join(maildir, 'tmp', name);
      writeFileSync(tmp, options.keepCrlf ? content : crlfToLf(content));
      chownSync(tmp, uid, gid);
      // rename: the server must never see a half-written file.
      renameSync(tmp, path.join(maildir, 'new', name));
    },
    count: () => files().length,
    contents: () => files().map((f) => readFileSync(f)),
  };
}

async function started(
  name: RealServerName,
  dir: string,
  port: number,
  launched: Launched,
  rest: Omit<RealServer, 'name' | 'host' | 'port' | 'dir' | 'log' | 'stop'>,
): Promise<RealServer> {
  try {
    await waitForGreeting(port, launched, name);
  } catch (err) {
    await stopGroup(launched.child).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  return {
    name,
    host: '127.0.0.1',
    port,
    dir,
    ...rest,
    log: () => readLog(launched.logFile),
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopGroup(launched.child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------
// popa3d 1.0.3: inetd-style (socat forks one per connection), PAM login of a system user,
// mbox at the compiled-in /var/mail/USER, chroot to /var/lib/popa3d as user popa3d.

export async function startPopa3d(): Promise<RealServer> {
  const ids = userIds(POPA3D_USER);
  if (!ids) throw new Error(`no user ${POPA3D_USER} (${INSTALL_HINT})`);
  mkdirSync('/var/lib/popa3d', { recursive: true });
  mkdirSync('/var/mail', { recursive: true });
  const dir = makeDir('popa3d');
  const spool = path.join(dir, 'spool');
  mkdirSync(spool);
  chownSync(spool, 0, mailGid());
  chmodSync(spool, 0o2775);
  const mailbox = path.join(spool, POPA3D_USER);
  const box = mboxBox(mailbox, ids.uid, mailGid());
  const port = await freePort();
  const script = `mount --bind ${sh(spool)} /var/mail && exec socat `
    + `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr EXEC:${POPA3D},nofork`;
  const launched = launch(dir, ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script]);
  return started('popa3d', dir, port, launched, {
    user: POPA3D_USER, password: `${POPA3D_USER}-pw`, format: 'mbox', mailbox, ...box,
  });
}

// ---------------------------------------------------------------------------------------
// GNU mailutils pop3d 3.15: its own daemon in the foreground, system login, mbox anywhere.

export async function startMailutils(options: MailutilsOptions = {}): Promise<RealServer> {
  const ids = userIds(MU_USER);
  if (!ids) throw new Error(`no user ${MU_USER} (${INSTALL_HINT})`);
  const dir = makeDir('mailutils');
  const spool = path.join(dir, 'spool');
  const locks = path.join(dir, 'locks');
  for (const d of [spool, locks]) {
    mkdirSync(d);
    chmodSync(d, 0o1777);
  }
  const mailbox = path.join(spool, MU_USER);
  const box = mboxBox(mailbox, ids.uid, mailGid());
  const port = await freePort();
  const timeout = options.timeout === undefined ? '' : ` timeout ${Math.trunc(options.timeout)};`;
  const conf = path.join(dir, 'pop3d.conf');
  writeFileSync(
    conf,
    `logging { syslog false; print-severity true; };
mailbox { mailbox-pattern "mbox://${spool}/\${user}"; };
locking { type kernel; };
mandatory-locking { enable false; lock-directory ${locks}; };
mode daemon;
foreground true;
pidfile ${dir}/pop3d.pid;
max-children 50;
server 127.0.0.1:${port} {${timeout} };
`,
  );
  const launched = launch(dir, [MU_POP3D, `--config-file=${conf}`]);
  return started('mailutils', dir, port, launched, {
    user: MU_USER, password: `${MU_USER}-pw`, format: 'mbox', mailbox, ...box,
  });
}

// ---------------------------------------------------------------------------------------
// Courier POP3 1.0.16 + courier-authlib: couriertcpd -> courierpop3login -> courierpop3d,
// authdaemond with a private userdb; /etc/courier and /run/courier bind-mounted.

export async function startCourier(): Promise<RealServer> {
  const courier = userIds('courier');
  if (!courier) throw new Error(`no user courier (${INSTALL_HINT})`);
  mkdirSync('/run/courier', { recursive: true }); // /run is a tmpfs: gone after a reboot
  const dir = makeDir('courier');
  const etc = path.join(dir, 'etc');
  const run = path.join(dir, 'run');
  const home = path.join(dir, 'home');
  const maildir = path.join(home, 'Maildir');
  mkdirSync(etc);
  mkdirSync(path.join(run, 'authdaemon'), { recursive: true });
  for (const sub of ['new', 'cur', 'tmp']) mkdirSync(path.join(maildir, sub), { recursive: true });
  for (const p of [home, maildir, ...['new', 'cur', 'tmp'].map((s) => path.join(maildir, s))]) chownSync(p, COURIER_UID, COURIER_UID);
  chownSync(run, 0, courier.gid);
  chmodSync(run, 0o775);
  chownSync(path.join(run, 'authdaemon'), courier.uid, courier.gid);
  chmodSync(path.join(run, 'authdaemon'), 0o750);
  const copy = spawnSync('sh', ['-c', `cp -a /etc/courier/. ${sh(etc)}/ && cp -a ${sh(path.join(ROOT, 'courier-pop/etc/courier'))}/. ${sh(etc)}/`]);
  if (copy.status !== 0) throw new Error(`copying Courier's config failed: ${copy.stderr.toString()}`);
  const authrc = path.join(etc, 'authdaemonrc');
  writeFileSync(authrc, readFileSync(authrc, 'utf8').replace(/^authmodulelist=.*$/m, 'authmodulelist="authuserdb"'));
  const password = `${COURIER_USER}-pw-${randomBytes(4).toString('hex')}`;
  const port = await freePort();
  const script = `set -e
mount --bind ${sh(etc)} /etc/courier
mount --bind ${sh(run)} /run/courier
printf '%s\\tuid=${COURIER_UID}|gid=${COURIER_UID}|home=%s|mail=%s\\n' ${COURIER_USER} ${sh(home)} ${sh(maildir)} > /etc/courier/userdb
chmod 600 /etc/courier/userdb
echo ${sh(password)} | userdbpw -md5 | userdb ${COURIER_USER} set systempw
makeuserdb
(set -a; . /etc/courier/authdaemonrc; exec ${AUTHDAEMOND}) &
# No login before authdaemond listens (a condition, with a deadline).
n=0; while [ ! -S /run/courier/authdaemon/socket ]; do n=$((n+1)); [ $n -lt 500 ] || exit 1; sleep 0.02; done
exec env -i PATH=/usr/bin:/bin:/usr/sbin:/sbin sh -c 'set -a; . /etc/courier/pop3d; . /etc/courier/pop3d-ssl;
  exec couriertcpd -address=127.0.0.1 -maxprocs=50 -maxperip=50 -nodnslookup -noidentlookup ${port} \\
    ${COURIER_LIB}/courierpop3login ${COURIER_LIB}/courierpop3d Maildir'
`;
  writeFileSync(path.join(dir, 'start.sh'), script);
  const launched = launch(dir, ['unshare', '-m', '--propagation', 'private', 'sh', path.join(dir, 'start.sh')]);
  return started('courier', dir, port, launched, {
    user: COURIER_USER, password, format: 'maildir', mailbox: maildir, ...maildirBox(maildir, COURIER_UID, COURIER_UID),
  });
}
