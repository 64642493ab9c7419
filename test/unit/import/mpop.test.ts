import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMpoprc, parseMpopUidls } from '../../../src/import/mpop.js';
import { untranslatedLine } from '../../../src/import/model.js';

const FIXTURES = path.join(import.meta.dirname, '..', '..', 'fixtures', 'import', 'mpop');
const read = (name: string): string => readFileSync(path.join(FIXTURES, name), 'utf8');

describe('an mpoprc translated', () => {
  const { accounts, untranslated } = parseMpoprc(read('mpoprc'), '~/.mpoprc', '/home/op', '/home/op');

  it('carries every account over with defaults and "account A : B" applied', () => {
    expect(accounts.map((a) => a.name)).toEqual(['work', 'home', 'home2']);
    expect(accounts[0]).toEqual({
      name: 'work',
      account: {
        name: 'work',
        host: 'pop.example.com',
        tls: 'starttls',
        tlsOptions: { ca: '/etc/ssl/certs/ca-certificates.crt' },
        user: 'jobs@example.com',
        auth: 'auto',
        password: { command: ['/bin/sh', '-c', 'pass show mail/work'] },
        timeout: '30s',
        retention: 'never',
        deliver: { maildir: '/home/op/Mail/inbox' },
      },
      seenFile: '/home/op/.mpop_uidls/jobs@example.com_at_pop.example.com',
    });
    // keep off deletes at once; killsize is "at least", pinchmail's sizeOver is "more than".
    expect(accounts[1]!.account).toMatchObject({ tls: 'implicit', port: 995, retention: '0', route: [{ match: { sizeOver: String(10 * 1024 * 1024 - 1) }, kill: true }] });
    expect(accounts[1]!.inlinePassword).toBe('s3cret pass');
    expect(accounts[1]!.account).not.toHaveProperty('password');
    expect(accounts[2]!.account).toMatchObject({
      host: 'mail.example.org',
      user: 'other',
      tlsOptions: { ca: '/etc/ssl/certs/ca-certificates.crt', insecure: true },
      route: [{ match: { sizeOver: String(10 * 1024 * 1024 - 1) }, kill: true }, { match: { sizeOver: String(500 * 1024 - 1) }, skip: true }, { match: 'all', deliver: { mbox: '/home/op/Mail/home2.mbox' } }],
    });
  });

  it('lists each line it cannot translate, with the reason', () => {
    expect(untranslated.map(untranslatedLine)).toEqual([
      '~/.mpoprc:16: account home: mpop adds a Received header (its default); pinchmail delivers a message as the server holds it',
      '~/.mpoprc:23: delivery mda "/usr/bin/procmail -f %F": account home: pinchmail does not put the envelope sender (%F) into a command line; the command can read it from the Return-Path header',
      '~/.mpoprc:26: account home2 : home: mpop adds a Received header (its default); pinchmail delivers a message as the server holds it',
      '~/.mpoprc:30: proxy_host 127.0.0.1: account home2: pinchmail connects directly (no SOCKS proxy)',
    ]);
  });
});

describe('an mpop UIDLs file', () => {
  it('gives each mailbox its UIDLs, with first-seen times where mpop 1.4.23 wrote them', () => {
    const { mailboxes, problems } = parseMpopUidls(read('uidls'), 'uidls');
    expect(problems).toEqual([]);
    expect(mailboxes).toEqual([
      { host: 'pop.example.com', user: 'jobs@example.com', uidls: [{ uidl: '00000001a', firstSeen: 1764000000_000 }, { uidl: '00000002b', firstSeen: 1764003600_000 }] },
      // mpop before 1.4.23 (Debian's 1.4.18) writes no time; a UIDL may start with "#" after the first list.
      { host: 'mail.example.org', user: 'me', uidls: [{ uidl: '#not-a-comment', firstSeen: null }] },
    ]);
  });

  it('says where a file is not what mpop writes, and keeps what it could read', () => {
    const { mailboxes, problems } = parseMpopUidls(' 3 h u\na\nb\n', 'uidls');
    expect(mailboxes).toEqual([{ host: 'h', user: 'u', uidls: [{ uidl: 'a', firstSeen: null }, { uidl: 'b', firstSeen: null }] }]);
    expect(problems.map(untranslatedLine)).toEqual(['uidls:3: : fewer UIDLs than the count for u at h; those listed are imported']);
    expect(parseMpopUidls('garbage\n', 'uidls').problems).toHaveLength(1);
  });
});

describe('mpop semantics an adversarial review found the import getting wrong', () => {
  const one = (rc: string, name = 'a') => parseMpoprc(rc, 'rc', '/h', '/cwd').accounts.find((a) => a.name === name)!;
  const base = 'host h\nuser u\ndelivery maildir /m\n';

  it('with keep, killsize only skips (mpop deletes nothing), and a size of 0 is one rule', () => {
    expect(one(`defaults\nkeep on\naccount a\n${base}killsize 1k\n`).account.route).toEqual([{ match: { sizeOver: '1023' }, skip: true }, { match: 'all', deliver: { maildir: '/m' } }]);
    expect(one(`account a\n${base}killsize 0\n`).account.route).toEqual([{ match: 'all', kill: true }]);
  });

  it('"account a : b" takes what b set itself, not the defaults b was made with', () => {
    const a = one(`defaults\nkeep off\naccount b\n${base}\ndefaults\nkeep on\naccount a : b\n`);
    expect(a.account.retention).toBe('never');
  });

  it('a password wins over passwordeval, as mpop runs passwordeval only without one', () => {
    const a = one(`defaults\npasswordeval "echo x"\naccount a\n${base}password pw\n`);
    expect(a.inlinePassword).toBe('pw');
    expect(a.account).not.toHaveProperty('password');
  });
});

describe('ordinary mpoprc files the first import refused whole', () => {
  const translated = (rc: string) => parseMpoprc(`account a\nhost pop.example.net\nuser u\ndelivery maildir /m\n${rc}`, 'rc', '/h', '/cwd');
  const one = (rc: string) => translated(rc).accounts[0]!;

  it('an account with no password says mpop asks for it, so the import can name a variable instead', () => {
    expect(one('').askedPassword).toBe('mpop asks a key ring, ~/.netrc or the terminal for its password');
    expect(one('passwordeval "pass x"\n').askedPassword).toBeUndefined();
    expect(one('password pw\n').askedPassword).toBeUndefined();
  });

  it("mpop's SHA-256 fingerprint becomes pinchmail's pin; a SHA-1 one is listed, not written", () => {
    const sha256 = Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0').toUpperCase()).join(':');
    expect(one(`tls on\ntls_fingerprint ${sha256}\n`).account.tlsOptions).toEqual({ fingerprint: `sha256:${sha256}` });
    const sha1 = sha256.slice(0, 59);
    const r = translated(`tls on\ntls_fingerprint ${sha1}\n`);
    expect(r.accounts[0]!.account).not.toHaveProperty('tlsOptions');
    expect(r.untranslated.map(untranslatedLine)).toContainEqual(expect.stringMatching(/^rc:6: tls_fingerprint .*: account a: not a SHA-256 fingerprint/));
  });

  it('"auth user" over "tls off" is carried over as mpop does it: the clear-text login allowed in so many words', () => {
    expect(one('tls off\nauth user\n').account).toMatchObject({ tls: 'none', auth: 'user', allowPlaintext: true });
    // To loopback pinchmail sends it without being told.
    expect(parseMpoprc('account a\nhost localhost\nuser u\ntls off\nauth user\n', 'rc', '/h', '/cwd').accounts[0]!.account).not.toHaveProperty('allowPlaintext');
    expect(one('tls off\nauth on\n').account).not.toHaveProperty('allowPlaintext');
    expect(one('tls on\nauth user\n').account).not.toHaveProperty('allowPlaintext');
  });

  it('a relative path is taken from the directory the import runs in, as mpop takes it from where it runs, and said so', () => {
    const r = parseMpoprc('account a\nhost h\nuser u\ndelivery maildir Mail\nuidls_file uidls/%U\n', 'rc', '/h', '/cwd');
    expect(r.accounts[0]!.account.deliver).toEqual({ maildir: '/cwd/Mail' });
    expect(r.accounts[0]!.seenFile).toBe('/cwd/uidls/u');
    expect(r.untranslated.map(untranslatedLine)).toEqual([
      'rc:1: account a: mpop adds a Received header (its default); pinchmail delivers a message as the server holds it',
      'rc:4: delivery maildir Mail: account a: mpop takes a relative path from the directory it runs in; pinchmail was given /cwd/Mail, from the directory of this import: check it is the one mpop ran in',
      'rc:5: uidls_file uidls/%U: account a: mpop takes a relative path from the directory it runs in; pinchmail was given /cwd/uidls/u, from the directory of this import: check it is the one mpop ran in',
    ]);
  });
});

describe("a command named like one of JavaScript's own object keys", () => {
  it('is a command mpop does not know, never one of the tables the translation reads', () => {
    const r = parseMpoprc('account a\nhost h\nuser u\ndelivery maildir /m\nauth constructor\ntoString x\n', 'rc', '/h', '/cwd');
    expect(r.accounts[0]!.account).not.toHaveProperty('auth');
    expect(r.untranslated.map(untranslatedLine)).toEqual([
      'rc:1: account a: mpop adds a Received header (its default); pinchmail delivers a message as the server holds it',
      'rc:5: auth constructor: account a: pinchmail has no "constructor" login; it chooses the strongest the server offers ("auth": "auto")',
      'rc:6: toString x: account a: not an mpop command pinchmail knows (mpop 1.4 refuses a file with a command it does not know)',
    ]);
  });
});

describe('mpop semantics the corpus review found the import getting wrong', () => {
  const one = (rc: string) => parseMpoprc(`account a\nhost h\nuser u\npassword pw\ndelivery maildir /m\n${rc}`, 'rc', '/h', '/cwd').accounts[0]!;

  it('leaves out an account that goes through a SOCKS proxy or a socket, or logs in without a password', () => {
    expect(one('proxy_host 127.0.0.1\nproxy_port 9050\n').incomplete).toMatch(/^it connects through a SOCKS proxy/);
    expect(one('socket /run/pop.sock\n').incomplete).toMatch(/^it connects through a local socket/);
    expect(one('auth gssapi\n').incomplete).toBe('it logs in with gssapi, without a password, which pinchmail cannot');
  });

  it('reads mpop 1.4.23 durations, and with one, killsize deletes unread once the time has passed: a drop by size', () => {
    expect(one('keep 36h\n').account.retention).toBe('1d12h');
    expect(one('keep 1d 11h 60m\n').account.retention).toBe('1d12h');
    expect(one('keep 7d\nkillsize 1k\n').account.route).toEqual([{ match: { sizeOver: '1023' }, drop: true }, { match: 'all', deliver: { maildir: '/m' } }]);
  });

  it('says what "keep on" with "killsize 0" is for (a UIDL resync, which the import does), and never prints a misspelt password', () => {
    expect(one('keep on\nkillsize 0\n').incomplete).toMatch(/^with "keep on", "killsize 0" marks every message as retrieved and delivers none/);
    const r = parseMpoprc('passwd Sup3rSecret\naccount a\nhost h\nuser u\npasswd TypoSecret\n', 'rc', '/h', '/cwd');
    expect(r.untranslated.map(untranslatedLine).join('\n')).not.toMatch(/Sup3rSecret|TypoSecret/);
  });
});
