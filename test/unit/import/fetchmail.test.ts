import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFetchids, parseFetchmailrc } from '../../../src/import/fetchmail.js';
import { untranslatedLine } from '../../../src/import/model.js';
import { planImport } from '../../../src/import/plan-import.js';
import { parseConfig } from '../../../src/config/load.js';

const FIXTURES = path.join(import.meta.dirname, '..', '..', 'fixtures', 'import', 'fetchmail');
const read = (name: string): string => readFileSync(path.join(FIXTURES, name), 'utf8');
const parse = (text: string, localUser?: string): ReturnType<typeof parseFetchmailrc> => parseFetchmailrc(text, '/home/op/.fetchmailrc', '/home/op', localUser);
const lines = (text: string, localUser?: string): string[] => parse(text, localUser).untranslated.map(untranslatedLine);

/** fetchmail adds these to every message; pinchmail does not (one line per account, at its user). */
const HEADERS = 'fetchmail adds a Received header and qualifies server-local addresses in To, From, Cc, Bcc and Reply-To (rewrite, its default); pinchmail delivers a message as the server holds it';

describe('a fetchmailrc translated', () => {
  const { accounts, untranslated, idfile } = parseFetchmailrc(read('fetchmailrc'), '~/.fetchmailrc', '/home/op');

  it('makes each user of each entry an account, with the defaults entry filling in what it leaves unset', () => {
    expect(accounts.map((a) => a.name)).toEqual(['pop.example.com', 'alice_mail.example.org', 'bob_mail.example.org', 'imap.example.net', 'legacy.example.com', 'old.example.com']);
    expect(accounts[0]).toEqual({
      name: 'pop.example.com',
      account: {
        name: 'pop.example.com',
        host: 'pop.example.com',
        port: 995,
        timeout: '45s',
        tls: 'implicit',
        // Relative to the rc file's directory, as fetchmail's prependdir has it.
        tlsOptions: { ca: '/home/op/certs/ca.pem' },
        user: 'jobs@example.com',
        retention: 'never',
        maxMessagesPerRun: 200,
        // limit is "larger than": sizeOver, not one byte less; %T is the one local name, quoted as fetchmail quotes it.
        route: [{ match: { sizeOver: '5000000' }, skip: true }, { match: 'all', deliver: { command: "/usr/bin/procmail -d 'op'" } }],
      },
      // '...' keeps the double quotes; \x21 is fetchmail's hex escape.
      inlinePassword: 's3cret "pass"!',
    });
  });

  it('forwards by SMTP as fetchmail does: to localhost:25 by default, RCPT TO the local name at the smtphost or smtpaddress', () => {
    expect(accounts[1]).toEqual({
      name: 'alice_mail.example.org',
      // via is the server; auth password is USER/PASS; no ssl is STARTTLS (sslcertck, 6.4's default, requires it); nokeep beats the defaults' keep.
      account: { name: 'alice_mail.example.org', host: 'pop.mail.example.org', auth: 'user', timeout: '45s', tls: 'starttls', user: 'alice', retention: '0', deliver: { smtp: 'localhost:25', to: 'alice@localhost' } },
      inlinePassword: 'a1',
    });
    // The first of the hunt list; a local name with @ is sent as it is.
    expect(accounts[2]!.account).toEqual({ name: 'bob_mail.example.org', host: 'pop.mail.example.org', auth: 'user', timeout: '45s', tls: 'starttls', user: 'bob', retention: 'never', deliver: { smtp: 'relay.example.org:2525', to: 'bob@example.org' } });
    expect(accounts[2]!.inlinePassword).toBe('b2');
    for (const a of accounts) expect(a.account).not.toHaveProperty('password');
  });

  it('turns off STARTTLS for sslproto \'\', checks for no sslcertck only with TLS, and LMTP to a socket for "localhost"', () => {
    expect(accounts[4]).toEqual({
      name: 'legacy.example.com',
      account: {
        name: 'legacy.example.com',
        host: 'legacy.example.com',
        auth: 'cram-md5',
        timeout: '45s',
        tls: 'none',
        user: 'dave',
        retention: 'never',
        // limitflush deletes an oversized message unread.
        route: [{ match: { sizeOver: '1000' }, kill: true }, { match: 'all', deliver: { lmtp: 'unix:/run/dovecot/lmtp', to: 'dave@localhost' } }],
      },
      inlinePassword: 'd4',
    });
  });

  it('leaves out, saying why, an account pinchmail cannot poll or deliver for; skip is "enabled": false', () => {
    expect(accounts[3]).toMatchObject({ account: { enabled: false, host: 'imap.example.net' }, incomplete: 'pinchmail speaks POP3 only; fetchmail polls this with IMAP' });
    expect(accounts[5]).toEqual({
      name: 'old.example.com',
      account: { name: 'old.example.com', host: 'old.example.com', timeout: '45s', tls: 'starttls', user: 'erin', retention: 'never' },
      inlinePassword: 'e5',
      incomplete: 'its mda takes the envelope sender (%F), which pinchmail does not put into a command line; the command can read it from the Return-Path header',
    });
    expect(idfile).toBeUndefined();
  });

  it('lists each option it cannot translate, with the reason, in the file\'s order', () => {
    expect(untranslated.map(untranslatedLine)).toEqual([
      '~/.fetchmailrc:2: set daemon 300: pinchmail daemon polls each account every "every" (default 5m); fetchmail\'s interval is "every": "300s"',
      '~/.fetchmailrc:3: set logfile "~/fetchmail.log": pinchmail logs to stderr (the journal, under systemd)',
      '~/.fetchmailrc:4: set postmaster "op": pinchmail sends no mail of its own (bounces, warnings)',
      `~/.fetchmailrc:11: user "jobs@example.com": account pop.example.com: ${HEADERS}`,
      '~/.fetchmailrc:14: fetchall: account pop.example.com: pinchmail fetches only the messages it has not delivered, never all of them again',
      `~/.fetchmailrc:18: user alice: account alice_mail.example.org: ${HEADERS}`,
      '~/.fetchmailrc:19: user bob: account bob_mail.example.org: fetchmail adds a Received header; pinchmail delivers a message as the server holds it',
      '~/.fetchmailrc:20: smtphost relay.example.org/2525 localhost: account bob_mail.example.org: pinchmail delivers to one server, relay.example.org/2525; fetchmail tried localhost when it was down',
      '~/.fetchmailrc:20: smtphost relay.example.org/2525 localhost: account bob_mail.example.org: fetchmail speaks plain SMTP to relay.example.org; pinchmail requires STARTTLS to a host that is not loopback (add "tls": "none" to the target if it offers none)',
      `~/.fetchmailrc:24: user carol: account imap.example.net: ${HEADERS}`,
      '~/.fetchmailrc:25: folder INBOX,Archive: account imap.example.net: POP3 has one mailbox; folders are for IMAP',
      '~/.fetchmailrc:28: aka legacy.example: account legacy.example.com: used only to find the recipients of a multidrop mailbox; pinchmail delivers each message to one target',
      `~/.fetchmailrc:29: user dave: account legacy.example.com: ${HEADERS}`,
      '~/.fetchmailrc:32: antispam 571 550: account legacy.example.com: pinchmail reads no SMTP spam-block codes: a refusal is a failed delivery',
      `~/.fetchmailrc:34: user erin: account old.example.com: ${HEADERS}`,
    ]);
    expect(untranslated.map(untranslatedLine).join('\n')).not.toMatch(/s3cret|a1|b2|d4|e5/);
  });

  it('writes only accounts pinchmail\'s own config accepts', () => {
    const plan = planImport({ accounts: accounts.map((imported) => ({ imported, seen: null, missing: 'none' })), place: 'inline', configDir: '/cfg', allNew: true, refusal: () => null, database: '/cfg/state.sqlite' });
    const config = parseConfig(JSON.stringify(plan.config), '/cfg/config.json');
    expect(config.accounts.map((a) => `${a.name} ${a.host}:${a.port} ${a.tls}`)).toEqual([
      'pop.example.com pop.example.com:995 implicit',
      'alice_mail.example.org pop.mail.example.org:110 starttls',
      'bob_mail.example.org pop.mail.example.org:110 starttls',
      'legacy.example.com legacy.example.com:110 none',
    ]);
  });
});

describe('fetchmail\'s rc syntax, as its lexer and parser read it', () => {
  it('reads a word after user, pass, is and to as a name, keywords included, and a word longer than a quoted string as the word', () => {
    const [a] = parse('poll h user keep password "a\\"b" is me here mda cat').accounts;
    expect(a!.account.user).toBe('keep');
    // flex takes the longest match: "a\"b" is one unquoted word, quotes and all.
    expect(a!.inlinePassword).toBe('"a"b"');
  });

  it('does fetchmail\'s escapes (decimal \\ddd, octal \\0ooo, hex \\xhh) and lets a quoted string run over lines', () => {
    // As fetchmail 6.4.37's --configdump shows them.
    expect(parse("poll h user u password 'a\\tb\\x41\\101\\0101' mda cat").accounts[0]!.inlinePassword).toBe('a\tbAe\b1');
    expect(parse('poll h user u password "a\nb\\\nc" mda cat').accounts[0]!.inlinePassword).toBe('a\nbc');
  });

  it('ignores noise words, punctuation, comments and newlines', () => {
    const { accounts } = parse('poll h, with proto pop3; # a comment\n user u: and has password p wants keep options mda cat');
    expect(accounts[0]).toMatchObject({ account: { host: 'h', user: 'u', retention: 'never', deliver: { command: 'cat' } }, inlinePassword: 'p' });
  });

  it('reads "user LOCAL here is REMOTE there" and %s as %T', () => {
    expect(parse('poll h user me here is them there password x mda "deliver %s"').accounts[0]!.account).toMatchObject({ user: 'them', deliver: { command: "deliver 'me'" } });
  });

  it('says each place where fetchmail would refuse the file (the import then refuses it whole)', () => {
    const text = 'poll a user u password x keep proto pop3 mda cat\npoll b user v password y mda cat\npoll c user w password z #c';
    const { syntaxErrors } = parse(text);
    expect(syntaxErrors.map(untranslatedLine)).toEqual([
      '/home/op/.fetchmailrc:1: proto: a server option after user options: a syntax error, at which fetchmail refuses the whole file',
      // A comment needs its newline: at the very end of the file "#c" is a word (fetchmail: "syntax error at #c"),
      // one right after a password, so maybe a piece of it ("password z #c" for "z #c"): not shown.
      '/home/op/.fetchmailrc:3: ********: not an option fetchmail knows here: a syntax error, at which fetchmail refuses the whole file',
    ]);
  });

  it('quotes the file as it is written, a word fetchmail splits ("noenvelope") included', () => {
    expect(lines('poll h noenvelope user u password x mda cat')).toContain(
      '/home/op/.fetchmailrc:1: noenvelope: account h: used only to find the recipients of a multidrop mailbox; pinchmail delivers each message to one target',
    );
  });

  it('applies a defaults entry only when it is the first, as fetchmail does', () => {
    expect(lines('poll a user u password x mda cat\ndefaults keep')).toContain('/home/op/.fetchmailrc:2: defaults: fetchmail refuses a "defaults" entry that is not the first; its options are not applied');
  });
});

describe('what needs the local user, and what cannot be translated', () => {
  it('delivers to the user who runs fetchmail, when told who that is; without, the account is left out', () => {
    const rc = 'poll pop.example.com proto pop3 password x\npoll mail.example.com proto pop3 user joe password y mda "procmail -d %T"';
    expect(parse(rc).accounts.map((a) => a.incomplete)).toEqual([
      'it names no user (fetchmail logs in as whoever runs it); it forwards by SMTP, and fetchmail delivers to whoever runs it, whom the file does not name: add "is NAME here"',
      'its mda takes the recipient (%T), and fetchmail delivers to whoever runs it, whom the file does not name: add "is NAME here"',
    ]);
    const [plain, mda] = parse(rc, 'op').accounts;
    expect(plain).toMatchObject({ account: { user: 'op', deliver: { smtp: 'localhost:25', to: 'op@localhost' } } });
    expect(plain!.incomplete).toBeUndefined();
    expect(mda!.account.deliver).toEqual({ command: "procmail -d 'op'" });
  });

  it('leaves out a multidrop mailbox delivered by SMTP and a KPOP one; one with no password says where fetchmail gets it', () => {
    const { accounts } = parse('poll m user a password x is b c here\npoll k proto KPOP user k password x is k here\npoll n user n is n here', 'op');
    expect(accounts.map((a) => a.incomplete)).toEqual([
      'it forwards by SMTP, and it is a multidrop mailbox (several local names, or "*"): pinchmail delivers each message to one recipient',
      'pinchmail has no KPOP login',
      undefined,
    ]);
    expect(accounts[2]!.askedPassword).toBe('fetchmail reads its password from ~/.netrc or asks for it');
  });

  it('warns that AUTO may have kept the mail over IMAP, where .fetchids records nothing', () => {
    expect(lines('poll h user u password x keep mda cat')).toContain(
      "/home/op/.fetchmailrc:1: poll h: account h: fetchmail's protocol AUTO tries IMAP first; if it kept this mailbox's mail over IMAP, .fetchids has no UIDLs for it and pinchmail delivers what is on the server again",
    );
  });

  it('keeps checking certificates where fetchmail pinned an MD5 fingerprint, and never prints a password', () => {
    const { accounts, untranslated } = parse('poll h esmtppassword "smtp-secret" user u password x no sslcertck sslfingerprint "AB:CD" sslcommonname mail.example.com mda cat');
    expect(accounts[0]!.account.tlsOptions).toEqual({ servername: 'mail.example.com' });
    const text = untranslated.map(untranslatedLine);
    expect(text).toContain('/home/op/.fetchmailrc:1: no sslcertck: account h: with sslfingerprint, fetchmail accepted only the pinned certificate; pinchmail checks the certificate until its SHA-256 pin is written');
    expect(text).toContain('/home/op/.fetchmailrc:1: esmtppassword ********: account h: pinchmail logs in to an SMTP server only with an smtp target\'s "auth" (user and password), to write by hand');
    expect(text.join('\n')).not.toContain('smtp-secret');
  });

  it('leaves out what fetchmail itself would refuse to run: LMTP to the SMTP port, on any smtphost of the list', () => {
    expect(parse('poll h user u password x is u here lmtp smtphost mx.example.org/2424 localhost mda cat').accounts[0]!.incomplete).toBe('fetchmail itself refuses it: LMTP to localhost, on the SMTP port');
  });

  it('reads timeout 0 as fetchmail\'s default and a negative one as none', () => {
    const text = lines('poll a timeout 0 user u password x mda cat\npoll b timeout -5 user u password x mda cat');
    expect(text).toContain("/home/op/.fetchmailrc:1: timeout 0: account a: fetchmail reads it as its default, 300 seconds; pinchmail's default is 60s");
    expect(text).toContain('/home/op/.fetchmailrc:2: timeout -5: account b: fetchmail then has no timeout; pinchmail always has one (default 60s)');
  });

  it('returns the UIDLs file "set idfile" names, relative to the rc file', () => {
    expect(parse('set idfile "state/fetchids"\npoll h user u password x mda cat').idfile).toBe('/home/op/state/fetchids');
  });
});

describe('a .fetchids file', () => {
  it('gives each mailbox its UIDLs, split as fetchmail\'s uid.c splits a line', () => {
    const { entries, problems } = parseFetchids(read('fetchids'), 'fetchids');
    expect(entries).toEqual([
      { user: 'jobs@example.com', host: 'pop.example.com', uidls: [{ uidl: '<20250101.a1@pop.example.com>', firstSeen: null }, { uidl: '00000002b', firstSeen: null }] },
      // fetchmail matches user and host case-blind: one mailbox, spelled as first written.
      { user: 'alice', host: 'pop.mail.example.org', uidls: [{ uidl: '1a2b3c', firstSeen: null }, { uidl: '4d5e6f', firstSeen: null }] },
      // A user may hold spaces (Lotus Notes), a UIDL @; the UIDL ends at a blank.
      { user: 'lotus notes user', host: 'mail.example.org', uidls: [{ uidl: 'uidl@with@ats', firstSeen: null }] },
      { user: 'bob', host: 'pop.mail.example.org', uidls: [{ uidl: '000003', firstSeen: null }] },
    ]);
    expect(problems.map(untranslatedLine)).toEqual(['fetchids:6: garbage-without-an-at-sign: not a "USER@HOST UIDL" line; fetchmail ignores it too']);
  });

  it('reads the file as fetchmail 6.4.37 wrote it after a keep run against Dovecot', () => {
    const written = 'alice@localhost 000000016b115f99\nalice@localhost 000000026b115f99\nalice@localhost 000000036b115f99\n';
    expect(parseFetchids(written, '.fetchids')).toEqual({
      entries: [{ user: 'alice', host: 'localhost', uidls: ['000000016b115f99', '000000026b115f99', '000000036b115f99'].map((uidl) => ({ uidl, firstSeen: null })) }],
      problems: [],
    });
  });
});

describe('what a review of the split found', () => {
  it('never prints a piece of a password the lexer split, even in a syntax error', () => {
    const { syntaxErrors } = parse('poll h user u password s3cr:et99 mda cat\npoll other user v password "x" mda cat\n');
    const lines = syntaxErrors.map(untranslatedLine).join('\n');
    expect(lines).toContain('a syntax error');
    expect(lines).not.toMatch(/s3cr|et99/);
  });

  it("reads a word that names one of JavaScript's own object keys as the word it is", () => {
    const proto = parse('poll h user u password p sslproto constructor mda cat\n');
    expect(proto.untranslated.map(untranslatedLine).join('\n')).not.toContain('native code');
    const smtp = parse('poll h user u password p smtphost localhost/toString\n');
    expect(JSON.stringify(smtp.accounts[0]!.account)).not.toContain('native code');
    const auth = parse('poll h user u password p auth toString mda cat\n');
    expect(JSON.stringify(auth)).not.toContain('native code');
  });
});

describe('a password fetchmail sends in clear text', () => {
  it('is allowed in so many words, as pinchmail wants, to a host that is not loopback', () => {
    expect(parse("poll pop.example.net user u password p sslproto '' mda cat\n").accounts[0]!.account).toMatchObject({ tls: 'none', allowPlaintext: true });
    expect(parse("poll 127.0.0.1 user u password p sslproto '' mda cat\n").accounts[0]!.account).not.toHaveProperty('allowPlaintext');
    expect(parse("poll pop.example.net auth cram-md5 user u password p sslproto '' mda cat\n").accounts[0]!.account).not.toHaveProperty('allowPlaintext');
  });
});
