import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { getmailRcFiles, parseGetmailOldmail, parseGetmailrc } from '../../../src/import/getmail.js';
import { untranslatedLine, type ImportedAccount } from '../../../src/import/model.js';

const FIXTURES = path.join(import.meta.dirname, '..', '..', 'fixtures', 'import', 'getmail');
const read = (name: string): string => readFileSync(path.join(FIXTURES, name), 'utf8');
const HOME = '/home/op';
const GETMAILDIR = '/home/op/.getmail';

/** A fixture translated as `pinchmail import getmail` would, shown as ~/.getmail/NAME. */
function translate(name: string, getmaildir = GETMAILDIR): { account: ImportedAccount; lines: string[] } {
  const { accounts, untranslated } = parseGetmailrc(read(name), `~/.getmail/${name}`, HOME, getmaildir);
  expect(accounts).toHaveLength(1);
  return { account: accounts[0]!, lines: untranslated.map(untranslatedLine) };
}

/** One account of an rc file given inline. */
const one = (rc: string): { account: ImportedAccount; lines: string[] } => {
  const { accounts, untranslated } = parseGetmailrc(rc, 'rc', '/h', '/h/.getmail');
  return { account: accounts[0]!, lines: untranslated.map((u) => `${u.line}: ${u.why}`) };
};
const POP = '[retriever]\ntype = SimplePOP3SSLRetriever\nserver = h\nusername = u\npassword = p\nca_certs = /ca.pem\n';
const MAILDIR = '[destination]\ntype = Maildir\npath = /m/\n';
const QUIET = '[options]\nread_all = false\ndelivered_to = false\nreceived = false\n';

const BY_DEFAULT_DELIVERED_TO = 'by default (delivered_to), getmail adds a Delivered-To header; pinchmail delivers a message as the server holds it';
const BY_DEFAULT_RECEIVED = 'by default (received), getmail adds a Received header; pinchmail delivers a message as the server holds it';

describe('a getmailrc translated', () => {
  it('POP3 over TLS, password_command, ca_certs, MDA_external with arguments, delete_after', () => {
    const { account, lines } = translate('getmailrc-work');
    expect(account).toEqual({
      name: 'work',
      account: {
        name: 'work',
        host: 'pop.example.com',
        user: 'jobs@example.com',
        tls: 'implicit',
        tlsOptions: { ca: '/home/op/.certs/example-ca.pem' },
        password: { command: ['/usr/bin/pass', 'show', 'mail/work'] },
        timeout: '30s',
        retention: '14d',
        maxMessagesPerRun: 500,
        // $HOME expanded, %(mailbox) empty for POP3, as getmail passes them.
        deliver: { command: ['/usr/bin/procmail', '-m', '/home/op/.procmailrc-work', 'MAILBOX='] },
      },
      seenFile: '/home/op/.getmail/oldmail-pop.example.com-995-jobs@example.com',
    });
    expect(lines).toEqual(['~/.getmail/getmailrc-work:25: message_log = ~/.getmail/log-work: pinchmail keeps no message log file; its log goes to stderr (the journal under systemd)']);
  });

  it('plain POP3 with APOP into an mbox, delete, max_message_size; "key: value", key case, no inline comments', () => {
    const { account, lines } = translate('getmailrc-home');
    expect(account).toEqual({
      name: 'home',
      account: {
        name: 'home',
        host: 'mail.example.org',
        port: 1110,
        user: 'me',
        tls: 'none',
        auth: 'apop',
        retention: '0',
        // getmail leaves a message over max_message_size on the server; with delete, delete_bigger_than adds nothing.
        route: [{ match: { sizeOver: '20971520' }, skip: true }, { match: 'all', deliver: { mbox: '/home/op/Mail/home.mbox' } }],
      },
      inlinePassword: 's3cret # not a comment',
      seenFile: '/home/op/.getmail/oldmail-mail.example.org-1110-me',
    });
    expect(lines).toEqual([
      '~/.getmail/getmailrc-home:10: use_xoauth2: false: getmail\'s SimplePOP3Retriever takes no "use_xoauth2" and ignores it',
      `~/.getmail/getmailrc-home:17: [options]: ${BY_DEFAULT_DELIVERED_TO}`,
      `~/.getmail/getmailrc-home:17: [options]: ${BY_DEFAULT_RECEIVED}`,
      '~/.getmail/getmailrc-home:21: verbose = 2: pinchmail prints one summary line per account; -q and -v set how much more',
      '~/.getmail/getmailrc-home:22: delete_olderthan = 3: not a getmail option; getmail ignores it',
    ]);
  });

  it('multidrop into a MultiDestination (a Maildir and a [section]), pinned by ssl_fingerprints, read_all by default', () => {
    const { account, lines } = translate('getmailrc-family');
    expect(account).toEqual({
      name: 'family',
      account: {
        name: 'family',
        host: 'pop.family.example',
        user: 'catchall@family.example',
        tls: 'implicit',
        tlsOptions: { fingerprint: 'sha256:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89' },
        retention: 'never',
        route: [
          { match: 'all', deliver: { maildir: '/home/op/Mail/family/' }, continue: true },
          { match: 'all', deliver: { mbox: '/var/mail/family-archive' } },
        ],
      },
      inlinePassword: 'family pass',
      seenFile: '/home/op/.getmail/oldmail-pop.family.example-995-catchall@family.example',
    });
    expect(lines).toEqual([
      '~/.getmail/getmailrc-family:2: [retriever]: by default (read_all), getmail delivers every message on the server again at each run, as nothing deletes them; pinchmail delivers each message once (none its oldmail file lists)',
      `~/.getmail/getmailrc-family:2: [retriever]: ${BY_DEFAULT_DELIVERED_TO}`,
      `~/.getmail/getmailrc-family:2: [retriever]: ${BY_DEFAULT_RECEIVED}`,
      '~/.getmail/getmailrc-family:7: envelope_recipient = delivered-to:1: pinchmail delivers every message of the mailbox alike and reads no envelope recipient (a "route" rule with a "header" matcher can sort on this header)',
      "~/.getmail/getmailrc-family:8: ssl_fingerprints = ('ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89',: pinchmail pins one certificate: it accepts the first of these only",
      '~/.getmail/getmailrc-family:18: locktype = flock: pinchmail locks an mbox with a dotlock and an fcntl lock (getmail\'s "lockf"), never flock',
    ]);
  });

  it('BrokenUIDL: no oldmail file to import; client certificate, Maildir user and mode, a filter listed', () => {
    const { account, lines } = translate('getmailrc-broken');
    expect(account).toEqual({
      name: 'broken',
      account: { name: 'broken', host: 'pop.legacy.example', user: 'old', tls: 'implicit', retention: '0', deliver: { maildir: '/home/op/Maildir/' } },
      inlinePassword: 'old-pass',
    });
    const type = '~/.getmail/getmailrc-broken:3: type = BrokenUIDLPOP3SSLRetriever';
    expect(lines).toEqual([
      `${type}: getmail checks no certificate without ca_certs; pinchmail checks the server's against the system's CAs, so a self-signed one fails its first run: pin it with "tlsOptions": { "fingerprint" }, which that error prints`,
      `${type}: getmail kept no record of what it delivered from this mailbox (no oldmail file), so there is nothing to import; pinchmail needs UIDL, which this server may lack (its first run then says so)`,
      '~/.getmail/getmailrc-broken:7: keyfile = ~/.certs/client.key: pinchmail does not log in with a client certificate',
      '~/.getmail/getmailrc-broken:8: certfile = ~/.certs/client.pem: pinchmail does not log in with a client certificate',
      '~/.getmail/getmailrc-broken:13: user = mailuser: pinchmail delivers as the user it runs as',
      '~/.getmail/getmailrc-broken:14: filemode = 0644: pinchmail writes each message mode 0600',
      '~/.getmail/getmailrc-broken:16: [filter-spam]: pinchmail runs no filter (Filter_classifier) before delivering: messages reach the delivery unfiltered; a "command" target can run the filter first',
      `~/.getmail/getmailrc-broken:21: [options]: ${BY_DEFAULT_DELIVERED_TO}`,
      `~/.getmail/getmailrc-broken:21: [options]: ${BY_DEFAULT_RECEIVED}`,
    ]);
  });

  it('an IMAP retriever: incomplete, with no UIDLs to import', () => {
    const { account, lines } = translate('getmailrc-imap');
    expect(account).toEqual({
      name: 'imap',
      account: { name: 'imap', host: 'imap.example.com', user: 'me@example.com' },
      incomplete: 'getmail reads this mailbox over IMAP, and pinchmail speaks POP3 only',
    });
    expect(lines).toEqual([
      '~/.getmail/getmailrc-imap:2: type = SimpleIMAPSSLRetriever: pinchmail speaks POP3 only; the rest of this file is not translated, and its oldmail files hold IMAP UIDs, which are no POP3 UIDLs',
    ]);
  });

  it('a MultiSorter: incomplete, its UIDLs still found; no password asks one', () => {
    const { account, lines } = translate('getmailrc-sorter');
    expect(account).toEqual({
      name: 'sorter',
      account: { name: 'sorter', host: 'pop.example.net', user: 'domain', tls: 'none', allowPlaintext: true, retention: 'never' },
      askedPassword: 'getmail asks a key ring or the terminal for its password',
      seenFile: '/home/op/.getmail/oldmail-pop.example.net-110-domain',
      incomplete: 'it has no delivery pinchmail can do',
    });
    expect(lines).toEqual([
      '~/.getmail/getmailrc-sorter:5: envelope_recipient = x-original-to: pinchmail delivers every message of the mailbox alike and reads no envelope recipient (a "route" rule with a "header" matcher can sort on this header)',
      '~/.getmail/getmailrc-sorter:8: type = MultiSorter: MultiSorter sorts by recipient with Python regular expressions; pinchmail\'s "route" (a "header", "to" or "from" matcher per rule) is to be written by hand',
    ]);
  });

  it('every complete translation is a config pinchmail loads', () => {
    const names = ['getmailrc-work', 'getmailrc-home', 'getmailrc-family', 'getmailrc-broken', 'getmailrc-sorter', 'getmailrc-imap', 'real-run/getmailrc'];
    const complete = names.map((n) => translate(n).account).filter((a) => !a.incomplete);
    expect(complete.map((a) => a.name)).toEqual(['work', 'home', 'family', 'broken', 'getmail']);
    // The password as the import places it: inline ones into the 0600 config here, asked ones from the environment.
    const accounts = complete.map((a) => ({ ...a.account, ...(a.inlinePassword !== undefined ? { password: a.inlinePassword } : a.account.password ? {} : { password: { env: 'PW' } }) }));
    const config = parseConfig(JSON.stringify({ accounts }), '/home/op/.config/pinchmail/config.json');
    expect(config.accounts.map((a) => [a.name, a.port, a.tls, a.retentionMs, a.deliver?.kind ?? a.processors?.get('root')?.rules.map((r) => r.target?.kind ?? r.unread)])).toEqual([
      ['work', 995, 'implicit', 14 * 86_400_000, 'command'],
      ['home', 1110, 'none', 0, ['skip', 'mbox']],
      ['family', 995, 'implicit', Number.POSITIVE_INFINITY, ['maildir', 'mbox']],
      ['broken', 995, 'implicit', 0, 'maildir'],
      ['getmail', 11110, 'none', Number.POSITIVE_INFINITY, 'maildir'],
    ]);
    expect(config.accounts[0]!.deliver).toMatchObject({ argv: ['/usr/bin/procmail', '-m', '/home/op/.procmailrc-work', 'MAILBOX='] });
    expect(config.accounts[0]!.perRun).toEqual({ messages: 500, bytes: Number.POSITIVE_INFINITY });
  });
});

describe("getmail's oldmail files", () => {
  it('finds the file a real getmail run wrote, and reads it ("/" in a UIDL is stored as "-")', () => {
    const dir = path.join(FIXTURES, 'real-run');
    const { account } = translate('real-run/getmailrc', dir);
    expect(account.seenFile).toBe(path.join(dir, 'oldmail-127.0.0.1-11110-me@example.com'));
    expect(existsSync(account.seenFile!)).toBe(true);
    const { uidls, problems } = parseGetmailOldmail(readFileSync(account.seenFile!, 'utf8'), account.seenFile!);
    expect(problems).toEqual([]);
    // Written by getmail 6.18.11 on 2026-12-03 (the machine's clock), in no particular order.
    expect(uidls.sort((a, b) => a.uidl.localeCompare(b.uidl))).toEqual([
      { uidl: '000001a', firstSeen: 1796304226_000 },
      { uidl: '000003c', firstSeen: 1796304226_000 },
      { uidl: 'slash-in-uidl', firstSeen: 1796304226_000 },
    ]);
  });

  it("finds the file getmail's own code names and writes for an SSL retriever (make-oldmail.py)", () => {
    const { account } = translate('getmailrc-work', FIXTURES);
    expect(account.seenFile).toBe(path.join(FIXTURES, 'oldmail-pop.example.com-995-jobs@example.com'));
    const { uidls, problems } = parseGetmailOldmail(readFileSync(account.seenFile!, 'utf8'), account.seenFile!);
    expect(problems).toEqual([]);
    expect(uidls).toEqual([
      { uidl: 'AAAA0001', firstSeen: 1764000000_000 },
      { uidl: 'AAAA0002', firstSeen: 1764086400_000 },
      { uidl: 'AAAA0003', firstSeen: 1764172800_000 },
    ]);
  });

  it('lists lines getmail would skip as problems, reads the rest, and keeps the last time of a UIDL given twice', () => {
    const text = 'a\x001700000000\r\n\nno-nul-here\nb\x00soon\n\x001700000001\nc\x00 +1_700_000_002 \na\x001700000009\n';
    const { uidls, problems } = parseGetmailOldmail(text, 'oldmail-h-110-u');
    expect(uidls).toEqual([
      { uidl: 'a', firstSeen: 1700000009_000 },
      { uidl: 'c', firstSeen: 1700000002_000 },
    ]);
    expect(problems.map(untranslatedLine)).toEqual([
      'oldmail-h-110-u:3: no-nul-here: not "UIDL\\0SECONDS" as getmail writes it; getmail skips it too',
      'oldmail-h-110-u:4: b\\0soon: not "UIDL\\0SECONDS" as getmail writes it; getmail skips it too',
      'oldmail-h-110-u:5: \\01700000001: not "UIDL\\0SECONDS" as getmail writes it; getmail skips it too',
    ]);
    expect(parseGetmailOldmail('', 'f')).toEqual({ uidls: [], problems: [] });
  });

  it('is named as getmail names it: runs of / : ; < > | become one "-", the default port per retriever, [retriever] getmaildir', () => {
    const seen = (retriever: string): string | undefined => one(`[retriever]\n${retriever}\n${MAILDIR}`).account.seenFile;
    // As getmail 6.18.11's RetrieverSkeleton.initialize computed them here for the same parameters.
    expect(seen('type = SimplePOP3SSLRetriever\nserver = pop.example.com\nusername = a/b:c;;d<e>|f g')).toBe('/h/.getmail/oldmail-pop.example.com-995-a-b-c-d-e-f g');
    expect(seen('type = SimplePOP3Retriever\nserver = [::1]\nport = 1_10\nusername = u')).toBe('/h/.getmail/oldmail-[-1]-110-u');
    expect(seen('type = MultidropPOP3Retriever\nserver = h:x\nusername = u\nenvelope_recipient = to')).toBe('/h/.getmail/oldmail-h-x-110-u');
    expect(seen('type = SimplePOP3Retriever\nserver = h\nusername = u\ngetmaildir = ~/mail-state/')).toBe('/h/mail-state/oldmail-h-110-u');
  });
});

describe('getmail semantics the translation follows', () => {
  it('retention: never by default, "0" with delete, N days with delete_after (delete wins over it)', () => {
    expect(one(`${POP}${MAILDIR}${QUIET}`).account.account.retention).toBe('never');
    expect(one(`${POP}${MAILDIR}${QUIET}delete = yes\n`).account.account.retention).toBe('0');
    expect(one(`${POP}${MAILDIR}${QUIET}delete_after = 7\n`).account.account.retention).toBe('7d');
    const both = one(`${POP}${MAILDIR}${QUIET}delete = on\ndelete_after = 7\n`);
    expect(both.account.account.retention).toBe('0');
    expect(both.lines).toEqual(['15: delete deletes every message once delivered, before this']);
  });

  it('read_all true without delete is said on its line; delete_bigger_than without delete is not carried over', () => {
    const { lines } = one(`${POP}${MAILDIR}[options]\nread_all = True\ndelivered_to = 0\nreceived = off\ndelete_bigger_than = 1000\n`);
    expect(lines).toEqual([
      '11: getmail delivers every message on the server again at each run, as nothing deletes them; pinchmail delivers each message once (none its oldmail file lists)',
      '14: getmail deletes a message over 1000 bytes once delivered; pinchmail keeps it as long as the others ("retention"), and a "kill" rule would delete it unread',
    ]);
  });

  it('limits per run and per message', () => {
    const { account } = one(`${POP}${MAILDIR}${QUIET}max_messages_per_session = 20\nmax_bytes_per_session = 5000000\nmax_message_size = 0\n`);
    expect(account.account).toMatchObject({ maxMessagesPerRun: 20, maxBytesPerRun: '5000000', deliver: { maildir: '/m/' } });
    expect(account.account).not.toHaveProperty('route');
  });

  it('a password wins over password_command; an empty tuple or none asks, use_netrc says from where', () => {
    const both = one(`${POP}password_command = ('pass', 'x')\n${MAILDIR}${QUIET}`);
    expect(both.account.inlinePassword).toBe('p');
    expect(both.account.account).not.toHaveProperty('password');
    expect(both.lines).toEqual(['7: a password is given, so getmail never runs password_command']);
    const noPassword = POP.replace('password = p\n', 'password_command = ()\n');
    expect(one(`${noPassword}${MAILDIR}${QUIET}`).account.askedPassword).toBe('getmail asks a key ring or the terminal for its password');
    expect(one(`${noPassword}${MAILDIR}${QUIET}use_netrc = true\n`).account.askedPassword).toBe('getmail read its password from ~/.netrc (use_netrc)');
  });

  it('plain POP3 sends USER/PASS in clear text, as getmail did; APOP does not', () => {
    const plain = '[retriever]\ntype = SimplePOP3Retriever\nserver = h\nusername = u\npassword = p\n';
    expect(one(`${plain}${MAILDIR}${QUIET}`).account.account).toMatchObject({ tls: 'none', allowPlaintext: true });
    expect(one(`${plain}use_apop = 1\n${MAILDIR}${QUIET}`).account.account).not.toHaveProperty('allowPlaintext');
  });

  it('MDA_external: %(sender) is left out; %(recipient) only with multidrop; a relative or $VAR path is left out', () => {
    const external = (args: string, type = 'SimplePOP3SSLRetriever'): ImportedAccount =>
      one(`${POP.replace('SimplePOP3SSLRetriever', type)}envelope_recipient = to\n[destination]\ntype = MDA_external\npath = /bin/mda\narguments = ${args}\n${QUIET}`).account;
    expect(external("('-f', '%(sender)')").incomplete).toBe('it has no delivery pinchmail can do');
    // Without an envelope, getmail passes the text as it is.
    expect(external("('%(recipient)',)").account.deliver).toEqual({ command: ['/bin/mda', '%(recipient)'] });
    expect(external("('%(recipient)',)", 'MultidropPOP3SSLRetriever').incomplete).toBe('it has no delivery pinchmail can do');
    expect(external("('$MAILDIR',)").incomplete).toBe('it has no delivery pinchmail can do');
    expect(external("('~other/x',)").incomplete).toBe('it has no delivery pinchmail can do');
    expect(one(`${POP}[destination]\ntype = Maildir\npath = Maildir/\n${QUIET}`).account.incomplete).toBe('its "path" is a path this import cannot make absolute');
  });

  it('MDA_lmtp to its override recipient, with no added headers to mention; without one it is left out', () => {
    const lmtp = (rest: string): { account: ImportedAccount; lines: string[] } => one(`${POP}[destination]\ntype = MDA_lmtp\n${rest}`);
    expect(lmtp('host = /run/dovecot/lmtp\noverride = me@example.com\n')).toEqual({ account: expect.objectContaining({ account: expect.objectContaining({ deliver: { lmtp: 'unix:/run/dovecot/lmtp', to: 'me@example.com' } }) }), lines: [expect.stringContaining('by default (read_all)')] });
    expect(lmtp('host = localhost\nport = 24\noverride = me\n').account.account.deliver).toEqual({ lmtp: 'localhost:24', to: 'me' });
    expect(lmtp('host = localhost\n').account.incomplete).toBe('it has no delivery pinchmail can do');
  });

  it('destination parameters: flags noted only when set, an unknown lock type or a missing [section] refused', () => {
    const external = one(`${POP}[destination]\ntype = MDA_external\npath = /bin/mda\nunixfrom = false\npipe_stdout = true\nignore_stderr = no\n${QUIET}`);
    expect(external.account.account.deliver).toEqual({ command: ['/bin/mda'] });
    expect(external.lines).toEqual(['11: pinchmail discards what the command prints on stdout']);
    expect(one(`${POP}[destination]\ntype = Mboxrd\npath = /mbox\nlocktype = dotlock\n${QUIET}`).account.incomplete).toBe('getmail itself refuses this file (line 10: no mbox lock type "dotlock" (lockf or flock))');
    expect(one(`${POP}[destination]\ntype = MultiDestination\ndestinations = ('/m/', '[gone]')\n${QUIET}`).account.incomplete).toBe('getmail itself refuses this file (line 9: no section [gone])');
  });

  it('configparser: continuations after blank lines and comments, duplicates refused, %(x)s kept, [DEFAULT] only with [options]', () => {
    const continued = one(`${POP.replace('password = p', 'password = p\n\n# still the password\n  %(x)s')}${MAILDIR}${QUIET}`);
    expect(continued.account.inlinePassword).toBe('p\n\n%(x)s');
    const twice = one(`${POP}server = other\n${MAILDIR}${QUIET}`);
    expect(twice.account.incomplete).toBe('getmail itself refuses this file (line 7: "server" a second time in [retriever] (configparser\'s DuplicateOptionError))');
    expect(one(`junk\n${POP}${MAILDIR}${QUIET}`).account.incomplete).toMatch(/^getmail itself refuses this file \(line 1: a line before the first \[section\]/);
    // [DEFAULT] feeds [options] when there is one, and nothing else.
    expect(one(`[DEFAULT]\ndelete = true\n${POP}${MAILDIR}${QUIET}`).account.account.retention).toBe('0');
    const noOptions = one(`[DEFAULT]\ndelete = true\n${POP}${MAILDIR}`);
    expect(noOptions.account.account.retention).toBe('never');
    expect(noOptions.lines).toContain("2: getmail reads [DEFAULT] for [options] only, and this is no option there");
  });

  it('values getmail cannot read make it refuse the file; an unknown type, section or parameter is said', () => {
    expect(one(`${POP}${MAILDIR}${QUIET}delete = maybe\n`).account.incomplete).toBe('getmail itself refuses this file (line 14: option delete must be a boolean)');
    expect(one(`${POP}port = 0995\n${MAILDIR}${QUIET}`).account.incomplete).toBe('getmail itself refuses this file (line 7: not an integer)');
    expect(one(`${POP.replace('SimplePOP3SSLRetriever', 'SimplePop3Retriever')}${MAILDIR}`).account.incomplete).toBe('getmail itself refuses this file (line 2: getmail has no retriever "SimplePop3Retriever")');
    expect(one(`${POP}${MAILDIR}${QUIET}[notes]\nk = v\n`).lines).toEqual(['14: getmail does not read this section']);
  });
});

describe('where getmail looks', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const touch = (...names: string[]): void => names.forEach((n) => writeFileSync(path.join(dir, n), ''));

  it('~/.getmail: every getmailrc*, sorted; without one, every file but oldmail-*, *.json and dot files', () => {
    const home = (dir = mkdtempSync(path.join(os.tmpdir(), 'getmail-home-')));
    mkdirSync(path.join(home, '.getmail'));
    mkdirSync(path.join(home, '.getmail', 'getmailrc-dir'));
    const gm = path.join(home, '.getmail');
    touch('.getmail/getmailrc-work', '.getmail/getmailrc', '.getmail/getmailrc~', '.getmail/oldmail-h-110-u', '.getmail/notes.json', '.getmail/.swp', '.getmail/other');
    expect(getmailRcFiles(home, {})).toEqual({ getmaildir: gm, files: [path.join(gm, 'getmailrc'), path.join(gm, 'getmailrc-work')] });
    rmSync(path.join(gm, 'getmailrc'));
    rmSync(path.join(gm, 'getmailrc-work'));
    rmSync(path.join(gm, 'getmailrc~'));
    expect(getmailRcFiles(home, {}).files).toEqual([path.join(gm, 'other')]);
  });

  it('$XDG_CONFIG_HOME/getmail (~/.config/getmail) first when it exists; nothing when neither does', () => {
    const home = (dir = mkdtempSync(path.join(os.tmpdir(), 'getmail-home-')));
    expect(getmailRcFiles(home, {})).toEqual({ getmaildir: path.join(home, '.getmail'), files: [] });
    mkdirSync(path.join(home, '.getmail'));
    mkdirSync(path.join(home, '.config', 'getmail'), { recursive: true });
    touch('.config/getmail/getmailrc');
    expect(getmailRcFiles(home, {})).toEqual({ getmaildir: path.join(home, '.config', 'getmail'), files: [path.join(home, '.config', 'getmail', 'getmailrc')] });
    mkdirSync(path.join(home, 'xdg', 'getmail'), { recursive: true });
    expect(getmailRcFiles(home, { XDG_CONFIG_HOME: path.join(home, 'xdg') }).getmaildir).toBe(path.join(home, 'xdg', 'getmail'));
  });
});
