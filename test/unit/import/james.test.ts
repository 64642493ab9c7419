/**
 * `pinchmail route --from-james`: Apache James's processors and mailets translated into
 * pinchmail's processors. The two fixtures are checked whole; the cases below them take
 * one matcher, mailet or check at a time, in files made up on the spot.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/errors.js';
import { translateJames, type JamesOptions, type JamesTranslation } from '../../../src/import/james.js';

const FIXTURES = path.join(import.meta.dirname, '..', '..', 'fixtures', 'james');
const USERS = { localUsers: ['alice', 'hogehoge'] };

function fixture(name: string, options: JamesOptions = USERS): JamesTranslation {
  return translateJames(readFileSync(path.join(FIXTURES, name), 'utf8'), { ...options, file: name });
}

/** A James 2 config.xml holding these processors, with example.com local. */
function james2(processors: string, james = '<servernames autodetect="false"><servername>example.com</servername></servernames>'): string {
  return `<?xml version="1.0"?>\n<config>\n<James>${james}</James>\n<spoolmanager>\n${processors}\n</spoolmanager>\n</config>\n`;
}

/** A James 3 mailetcontainer.xml holding these processors. */
function james3(processors: string): string {
  return `<mailetcontainer><processors>\n${processors}\n</processors></mailetcontainer>\n`;
}

/** config.xml with a root processor of these mailets. */
function root(mailets: string): string {
  return james2(`<processor name="root">${mailets}</processor>`);
}

const note = (where: string, what: string, translated: boolean) => ({ where, what, translated });
const FOLLOWS = (mailet: string) => `follows ${mailet}, left out, which ended the way of the mail it took: what reaches here goes to the account's deliver instead`;
const notice = '<notice> not carried over: James keeps it with the mail for a bounce; pinchmail sends none';
const endOf = (name: string) => `messages that reach the end of "${name}" go to the account's deliver, which the account must then have`;
const ERROR_NOTE =
  'James sends a mail to "error" as soon as a mailet fails; pinchmail retries a failed delivery and sends the message there after 5 failed runs (pinchmail\'s choice: "onFailure.after" sets it)';
const UNREACHED = 'never reached from root: no translated rule moves a message here (write the rule that leads here, and the processor)';
const CUSTOM =
  'a custom mailet: fill in the command that does its job; James passes the mail on unless the mailet ends it (remove continue if it sets the state to ghost)';
const LOCAL_DELIVERY = 'James delivers to each recipient\'s own mailbox; pinchmail delivers to this one Maildir ("Maildir"; localMaildir sets it)';

/** What translating throws, as the ConfigError it must be. */
function failure(xml: string, options: JamesOptions = {}): ConfigError {
  try {
    translateJames(xml, { file: 'config.xml', ...options });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('translateJames did not throw');
}

describe('the James 2.3 config.xml fixture', () => {
  it('translates whole', () => {
    expect(fixture('config.xml')).toEqual({
      processors: {
        root: [
          { match: { relayLimit: 30 }, drop: true },
          { match: { inSpammerBlacklist: 'sbl.spamhaus.org' }, processor: 'spam' },
          { match: 'all', processor: 'transport' },
        ],
        error: [{ match: 'all', deliver: { maildir: 'var/mail/error' } }],
        transport: [
          { match: { userIs: ['hogehoge'] }, deliver: { command: ['/usr/local/bin/HogehogeMailet'] }, continue: true },
          { match: { recipientIs: ['alice@example.com', 'hogehoge@example.com'] }, deliver: { maildir: 'Maildir' } },
          { match: { hostIs: ['example.com'] }, processor: 'local-address-error' },
        ],
        spam: [{ match: 'all', deliver: { maildir: 'var/mail/spam' } }],
        'local-address-error': [{ match: 'all', deliver: { maildir: 'var/mail/address-error' } }],
      },
      onFailure: { after: 5, processor: 'error' },
      notes: [
        note('processor "root", mailet 1 (PostmasterAlias)', 'pinchmail does not rewrite recipients: each rule names where its messages go', false),
        note('processor "root", mailet 3 (ToProcessor)', notice, true),
        note('processor "transport", mailet 1 (HogehogeMailet)', CUSTOM, true),
        note('processor "transport", mailet 2 (LocalDelivery)', LOCAL_DELIVERY, true),
        note('processor "transport", mailet 3 (ToProcessor)', notice, true),
        note(
          'processor "transport", mailet 4 (ToProcessor)',
          'match="RemoteAddrNotInNetwork=127.0.0.1": a fetcher does not see the SMTP session that brought the mail (client address, authentication)',
          false,
        ),
        note('processor "transport", mailet 5 (RemoteDelivery)', 'pinchmail does not relay mail; it delivers what it fetches', false),
        note('processor "transport"', endOf('transport'), true),
        note('processor "relay-denied"', UNREACHED, false),
        note('processor "error"', ERROR_NOTE, true),
        note(
          'repositories',
          'var/mail/error, var/mail/spam, var/mail/address-error, var/mail/relay-denied: relative paths, kept as James wrote them; James read them from its own directory, pinchmail reads them from its config file\'s directory',
          true,
        ),
      ],
    });
  });

  it('loads as an account\'s routing, given the deliver that transport\'s end needs', () => {
    const { processors, onFailure } = fixture('config.xml');
    const account = { name: 'james', host: 'pop.example.com', user: 'u', password: 'p', processors, onFailure, deliver: { maildir: '/m/relay-denied' } };
    const loaded = parseConfig(JSON.stringify({ accounts: [account] }), '/etc/pinchmail/config.json').accounts[0]!;
    expect([...loaded.processors!.keys()]).toEqual(['root', 'error', 'transport', 'spam', 'local-address-error']);
    expect(loaded.onFailure).toMatchObject({ after: 5, processor: 'error' });
  });

  it('keeps the processors in the file\'s order, and the result prints as JSON', () => {
    const result = fixture('config.xml');
    expect(Object.keys(result.processors)).toEqual(['root', 'error', 'transport', 'spam', 'local-address-error']);
    expect(JSON.parse(JSON.stringify(result))).toEqual({ ...result, processors: { ...result.processors } });
  });
});

describe('the James 3 mailetcontainer.xml fixture', () => {
  const big = { match: { sizeOver: '20M' }, deliver: { maildir: '/var/mail/big' }, continue: true };
  const rootRules = [
    { match: { relayLimit: 30 }, drop: true },
    big,
    { match: { hasHeader: 'X-Spam-Flag', value: 'YES' }, processor: 'spam' },
    { match: 'all', processor: 'transport' },
  ];
  const common = {
    error: [{ match: 'all', deliver: { maildir: '/var/mail/error' } }],
    spam: [{ match: 'all', deliver: { maildir: '/var/mail/spam' } }],
    'local-address-error': [{ match: 'all', deliver: { maildir: '/var/mail/address-error' } }],
  };
  const archiver = { match: { subjectStartsWith: '[list]' }, deliver: { command: ['/usr/local/bin/ListArchiver'] }, continue: true };

  it('translates whole; without localDomains the local matchers are left out', () => {
    expect(fixture('mailetcontainer.xml')).toEqual({
      processors: {
        root: rootRules,
        error: common.error,
        transport: [archiver],
        spam: common.spam,
      },
      onFailure: { after: 5, processor: 'error' },
      notes: [
        note('processor "root", mailet 1 (PostmasterAlias)', 'pinchmail does not rewrite recipients: each rule names where its messages go', false),
        note('processor "error", mailet 1 (Bounce)', 'pinchmail never sends mail back', false),
        note('processor "transport", mailet 1 (RemoveMimeHeader)', 'pinchmail delivers the message as fetched, unchanged; a "command" target can change it', false),
        note('processor "transport", mailet 2 (ListArchiver)', `${CUSTOM}; its parameters: archive=/srv/lists`, true),
        note(
          'processor "transport", mailet 3 (LocalDelivery)',
          'match="org.apache.james.transport.matchers.RecipientIsLocal": this file names no local domains (James 3 keeps them in domainlist.xml): give localDomains',
          false,
        ),
        note(
          'processor "transport", mailet 4 (ToProcessor)',
          'match="org.apache.james.transport.matchers.HostIsLocal": this file names no local domains (James 3 keeps them in domainlist.xml): give localDomains',
          false,
        ),
        note('processor "transport", mailet 5 (RemoteDelivery)', 'pinchmail does not relay mail; it delivers what it fetches', false),
        note('processor "transport", mailet 6 (ToProcessor)', FOLLOWS('mailet 3'), false),
        note('processor "transport"', endOf('transport'), true),
        note('processor "local-address-error"', UNREACHED, false),
        note('processor "error"', ERROR_NOTE, true),
      ],
    });
  });

  it('with localDomains, RecipientIsLocal and HostIsLocal carry over', () => {
    const result = fixture('mailetcontainer.xml', { ...USERS, localDomains: ['example.org'], localMaildir: '/home/op/Maildir' });
    expect(result.processors.transport).toEqual([
      archiver,
      { match: { recipientIs: ['alice@example.org', 'hogehoge@example.org'] }, deliver: { maildir: '/home/op/Maildir' } },
      { match: { hostIs: ['example.org'] }, processor: 'local-address-error' },
    ]);
    // RemoteDelivery, left out, ended the way of the mail it took: the drop after it would now take that mail.
    expect(result.notes).toContainEqual(note('processor "transport", mailet 6 (ToProcessor)', FOLLOWS('mailet 5'), false));
    expect(result.notes.map((n) => n.where)).not.toContain('processor "local-address-error"');
  });
});

describe('matchers', () => {
  /** The matcher a root mailet with match="..." becomes. */
  function matcherOf(match: string, options: JamesOptions = {}): unknown {
    const result = translateJames(root(`<mailet match="${match}" class="Null"/>`), options);
    expect(result.processors.root, JSON.stringify(result.notes)).toHaveLength(1);
    return (result.processors.root![0] as { match: unknown }).match;
  }

  it.each([
    ['All', 'all'],
    ['RelayLimit=30', { relayLimit: 30 }],
    ['RelayLimit= 5 ', { relayLimit: 5 }],
    ['UserIs=hogehoge', { userIs: ['hogehoge'] }],
    ['UserIs=alice, bob,,carol ', { userIs: ['alice', 'bob', 'carol'] }],
    ['RecipientIs=a@b.example,c@d.example', { recipientIs: ['a@b.example', 'c@d.example'] }],
    ['SenderIs=boss@example.com', { senderIs: ['boss@example.com'] }],
    ['HostIs=example.com, example.net', { hostIs: ['example.com', 'example.net'] }],
    ['SubjectIs=Hello World', { subjectIs: 'Hello World' }],
    ['SubjectStartsWith=[SPAM]', { subjectStartsWith: '[SPAM]' }],
    ['HasHeader=X-Spam-Flag', { hasHeader: 'X-Spam-Flag' }],
    ['HasHeader=X-Spam-Flag=YES', { hasHeader: 'X-Spam-Flag', value: 'YES' }],
    ['HasHeader=X-A+X-B=1', { and: [{ hasHeader: 'X-A' }, { hasHeader: 'X-B', value: '1' }] }],
    ['SizeGreaterThan=1m', { sizeOver: '1M' }],
    ['SizeGreaterThan=500K', { sizeOver: '500K' }],
    ['SizeGreaterThan=2000', { sizeOver: '2000' }],
    ['SizeGreaterThan=2g', { sizeOver: '2G' }],
    ['InSpammerBlacklist=sbl.spamhaus.org.', { inSpammerBlacklist: 'sbl.spamhaus.org' }],
    ['InSpammerBlacklist=zen.spamhaus.org', { inSpammerBlacklist: 'zen.spamhaus.org' }],
    ['HostIsLocal', { hostIs: ['example.com'] }],
    ['org.apache.james.transport.matchers.HostIs=example.org', { hostIs: ['example.org'] }],
    ['org.apache.james.transport.matchers.SubjectIs=a=b', { subjectIs: 'a=b' }],
  ])('%s', (match, expected) => {
    expect(matcherOf(match)).toEqual(expected);
  });

  it('RecipientIsLocal is the local domains and localUsers', () => {
    expect(matcherOf('RecipientIsLocal', { localUsers: ['Alice', 'bob'], localDomains: ['example.com', 'example.net'] })).toEqual({
      recipientIs: ['alice@example.com', 'alice@example.net', 'bob@example.com', 'bob@example.net'],
    });
  });

  it('localDomains takes the place of <servernames>', () => {
    expect(matcherOf('HostIsLocal', { localDomains: ['example.net'] })).toEqual({ hostIs: ['example.net'] });
  });

  it('RecipientIsLocal without localUsers is left out, saying which option to give', () => {
    const result = translateJames(root('<mailet match="RecipientIsLocal" class="LocalDelivery"/><mailet match="All" class="Null"/>'));
    // Not the drop after it: that would take the local mail James delivered.
    expect(result.processors.root).toEqual([]);
    expect(result.notes.slice(0, 2)).toEqual([
      note(
        'processor "root", mailet 1 (LocalDelivery)',
        'match="RecipientIsLocal": James keeps its users in its users repository, not in this file: give localUsers (the user names, the part before "@")',
        false,
      ),
      note('processor "root", mailet 2 (Null)', FOLLOWS('mailet 1'), false),
    ]);
  });

  it('HostIsLocal with servernames autodetect="true" says James had more local names', () => {
    const xml = james2('<processor name="root"><mailet match="HostIsLocal" class="Null"/></processor>', '<servernames autodetect="true"><servername>localhost</servername></servernames>');
    const result = translateJames(xml);
    expect(result.processors.root).toEqual([{ match: { hostIs: ['localhost'] }, drop: true }]);
    expect(result.notes[0]).toEqual(
      note('processor "root", mailet 1 (Null)', 'James also took this host\'s own names as local (servernames autodetect="true"): add them with localDomains', true),
    );
  });

  it('HostIsLocal in a config.xml without servernames is left out', () => {
    const result = translateJames(james2('<processor name="root"><mailet match="HostIsLocal" class="Null"/></processor>', '<postmaster>p@example.com</postmaster>'));
    expect(result.processors.root).toEqual([]);
    expect(result.notes[0]!.what).toContain('give localDomains');
  });

  it.each([
    ['RelayLimit=abc', 'expected a number of Received headers, got "abc"'],
    ['RelayLimit=0', 'expected a number of Received headers, got "0"'],
    ['SizeGreaterThan=big', 'expected a size like 1m, 500k or 2000 (bytes), got "big"'],
    ['RecipientIs=nobody', '"nobody" is not an address'],
    ['HostIs=', 'expected a list of domains'],
    ['SubjectIs=', 'expected a text after "="'],
    ['HasHeader=', 'expected a header field name, got ""'],
    ['InSpammerBlacklist=not a zone', 'expected a DNSBL zone like "sbl.spamhaus.org.", got "not a zone"'],
  ])('invalid argument %s: left out and listed', (match, reason) => {
    const result = translateJames(root(`<mailet match="${match}" class="Null"/>`));
    expect(result.processors.root).toEqual([]);
    expect(result.notes[0]).toEqual(note('processor "root", mailet 1 (Null)', `match="${match}": ${reason}`, false));
  });

  it.each([
    ['SMTPAuthSuccessful', 'a fetcher does not see the SMTP session that brought the mail (client address, authentication)'],
    ['RemoteAddrNotInNetwork=127.0.0.1', 'a fetcher does not see the SMTP session that brought the mail (client address, authentication)'],
    ['HasMailAttribute=org.apache.james.x', 'mail attributes live inside James; a fetched message has none'],
    ['IsSingleRecipient', 'a fetcher does not see James\'s envelope (its sender and recipient list), only the message'],
    ['com.example.matchers.IsHogehoge', 'not a matcher pinchmail knows (one of your own?): write its test with pinchmail\'s matchers by hand'],
    ['__proto__', 'not a matcher pinchmail knows (one of your own?): write its test with pinchmail\'s matchers by hand'],
  ])('%s is left out with its reason', (match, reason) => {
    const result = translateJames(root(`<mailet match="${match}" class="Null"/>`));
    expect(result.processors.root).toEqual([]);
    expect(result.notes[0]).toEqual(note('processor "root", mailet 1 (Null)', `match="${match}": ${reason}`, false));
  });

  it('James 3 composite matchers become and, or and not', () => {
    const xml = james3(`<processor state="root">
      <matcher name="both" match="org.apache.james.mailetcontainer.impl.matchers.And">
        <matcher match="HostIs=example.com"/><matcher match="SubjectStartsWith=[x]"/>
      </matcher>
      <matcher name="either" match="Or"><matcher match="UserIs=a"/><matcher match="UserIs=b"/></matcher>
      <matcher name="neither" match="Not"><matcher match="UserIs=a"/><matcher match="UserIs=b"/></matcher>
      <matcher name="odd" match="Xor"><matcher match="UserIs=a"/><matcher match="UserIs=b"/></matcher>
      <mailet match="both" class="Null"/>
      <mailet match="either" class="Null"/>
      <mailet match="neither" class="Null"/>
      <mailet match="odd" class="Null"/>
    </processor>`);
    const result = translateJames(xml);
    expect(result.processors.root!.map((r) => (r as { match: unknown }).match)).toEqual([
      { and: [{ hostIs: ['example.com'] }, { subjectStartsWith: '[x]' }] },
      { or: [{ userIs: ['a'] }, { userIs: ['b'] }] },
      { not: { or: [{ userIs: ['a'] }, { userIs: ['b'] }] } },
    ]);
    expect(result.notes[0]).toEqual(
      note('processor "root", mailet 4 (Null)', 'match="odd": a composite matcher "Xor": pinchmail combines matchers with and, or and not only', false),
    );
  });
});

describe('mailets', () => {
  it('a mailet of the user\'s own becomes a command to fill in, with continue', () => {
    const result = translateJames(root('<mailet match="UserIs=hogehoge" class="com.example.HogehogeMailet"><level>2</level></mailet>'));
    expect(result.processors.root).toEqual([{ match: { userIs: ['hogehoge'] }, deliver: { command: ['/usr/local/bin/HogehogeMailet'] }, continue: true }]);
    expect(result.notes[0]).toEqual(note('processor "root", mailet 1 (HogehogeMailet)', `${CUSTOM}; its parameters: level=2`, true));
  });

  it.each([
    ['Bounce', 'pinchmail never sends mail back'],
    ['NotifyPostmaster', 'pinchmail never sends mail back'],
    ['org.apache.james.transport.mailets.RemoteDelivery', 'pinchmail does not relay mail; it delivers what it fetches'],
    ['SetMailAttribute', 'mail attributes live inside James; pinchmail has none to set'],
    ['AddHeader', 'pinchmail delivers the message as fetched, unchanged; a "command" target can change it'],
    ['org.apache.james.transport.mailets.SomethingNew', 'a James mailet pinchmail does not know'],
  ])('standard mailet %s is left out with its reason', (className, reason) => {
    const result = translateJames(root(`<mailet match="All" class="${className}"/>`));
    expect(result.processors.root).toEqual([]);
    expect(result.notes[0]).toEqual(note(`processor "root", mailet 1 (${className.slice(className.lastIndexOf('.') + 1)})`, reason, false));
  });

  it('ToProcessor to ghost drops the message', () => {
    const result = translateJames(root('<mailet match="SubjectIs=x" class="ToProcessor"><processor>ghost</processor></mailet>'));
    expect(result.processors.root).toEqual([{ match: { subjectIs: 'x' }, drop: true }]);
  });

  it('ToRepository with passThrough true goes on; without it ends', () => {
    const result = translateJames(
      root(`<mailet match="UserIs=a" class="ToRepository"><repositoryPath>file:///var/mail/copy/</repositoryPath><passThrough> TRUE </passThrough></mailet>
            <mailet match="UserIs=b" class="ToRepository"><repositoryPath>file:///var/mail/b</repositoryPath><passThrough>false</passThrough></mailet>`),
    );
    expect(result.processors.root).toEqual([
      { match: { userIs: ['a'] }, deliver: { maildir: '/var/mail/copy' }, continue: true },
      { match: { userIs: ['b'] }, deliver: { maildir: '/var/mail/b' } },
    ]);
  });

  it.each([
    ['db://maildb/deadletter/error', 'db://maildb/deadletter/error is a database repository: pinchmail delivers to a Maildir or a command'],
    ['dbfile://maildb/spam', 'dbfile://maildb/spam is a database repository: pinchmail delivers to a Maildir or a command'],
  ])('ToRepository to %s is left out', (url, reason) => {
    const result = translateJames(root(`<mailet match="All" class="ToRepository"><repositoryPath>${url}</repositoryPath></mailet>`));
    expect(result.notes[0]).toEqual(note('processor "root", mailet 1 (ToRepository)', reason, false));
  });

  it('ToRecipientFolder goes on unless consume is true', () => {
    const result = translateJames(
      root('<mailet match="UserIs=a" class="ToRecipientFolder"><folder>Junk</folder></mailet><mailet match="UserIs=b" class="ToRecipientFolder"><consume>true</consume></mailet>'),
      { localMaildir: '/srv/Maildir' },
    );
    expect(result.processors.root).toEqual([
      { match: { userIs: ['a'] }, deliver: { maildir: '/srv/Maildir' }, continue: true },
      { match: { userIs: ['b'] }, deliver: { maildir: '/srv/Maildir' } },
    ]);
  });

  it('keeps the order of the mailets, past comments', () => {
    const result = translateJames(root('<mailet match="UserIs=c" class="Null"/><!-- one --><mailet match="UserIs=a" class="Null"/><!-- two --><mailet match="UserIs=b" class="Null"/>'));
    expect(result.processors.root!.map((r) => (r as { match: unknown }).match)).toEqual([{ userIs: ['c'] }, { userIs: ['a'] }, { userIs: ['b'] }]);
  });

  it('leaves out what comes after a rule that takes every message', () => {
    const result = translateJames(root('<mailet match="All" class="Null"/><mailet match="UserIs=a" class="Null"/>'));
    expect(result.processors.root).toEqual([{ match: 'all', drop: true }]);
    expect(result.notes).toEqual([note('processor "root", mailet 2 (Null)', 'never reached: mailet 1 takes every message first', false)]);
  });
});

describe('checks on the translation', () => {
  it('leaves out a processor never reached from root, saying so', () => {
    const result = translateJames(james2('<processor name="root"><mailet match="All" class="Null"/></processor><processor name="lost"><mailet match="All" class="Null"/></processor>'));
    expect(Object.keys(result.processors)).toEqual(['root']);
    expect(result.notes).toEqual([note('processor "lost"', UNREACHED, false)]);
  });

  it('lists a reference to a processor the file does not have', () => {
    const result = translateJames(root('<mailet match="All" class="ToProcessor"><processor>nowhere</processor></mailet>'));
    expect(result.processors.root).toEqual([{ match: 'all', processor: 'nowhere' }]);
    expect(result.notes).toEqual([
      note('processor "root", mailet 1 (ToProcessor)', 'moves messages to processor "nowhere", which the file does not have: pinchmail refuses that; add the processor or change the rule', true),
    ]);
  });

  it('lists a processor that does not end with a rule taking every message', () => {
    const result = translateJames(root('<mailet match="UserIs=a" class="Null"/>'));
    expect(result.notes).toEqual([note('processor "root"', endOf('root'), true)]);
    expect(result.onFailure).toBeUndefined();
  });

  it('a processor named __proto__ is a processor like any other', () => {
    const xml = james2(`<processor name="root"><mailet match="All" class="ToProcessor"><processor>__proto__</processor></mailet></processor>
      <processor name="__proto__"><mailet match="All" class="ToProcessor"><processor>constructor</processor></mailet></processor>`);
    const result = translateJames(xml);
    expect(Object.getPrototypeOf(result.processors)).toBeNull();
    expect(Object.keys(result.processors)).toEqual(['root', '__proto__']);
    expect(Object.hasOwn(result.processors, '__proto__')).toBe(true);
    expect(result.processors['__proto__']).toEqual([{ match: 'all', processor: 'constructor' }]);
    expect(JSON.stringify(result.processors)).toContain('"__proto__":[{"match":"all","processor":"constructor"}]');
    expect(result.notes).toEqual([
      note('processor "__proto__", mailet 1 (ToProcessor)', 'moves messages to processor "constructor", which the file does not have: pinchmail refuses that; add the processor or change the rule', true),
      note('processor "__proto__"', 'pinchmail takes processor names of letters, digits, ".", "_" and "-" (not "ghost"): rename it and the rules that name it', true),
    ]);
  });

  it('points out mailets a DOCTYPE entity brings in from another file', () => {
    const xml = `<!DOCTYPE config [\n<!ENTITY listserverConfig SYSTEM "../conf/james-listmanager.xml">\n]>\n${root('&listserverConfig;<mailet match="All" class="Null"/>').replace(/^<\?xml[^>]*>\n/, '')}`;
    const result = translateJames(xml);
    expect(result.processors.root).toEqual([{ match: 'all', drop: true }]);
    expect(result.notes).toEqual([
      note('processor "root"', '&listserverConfig; includes the mailets of ../conf/james-listmanager.xml, which were not read: translate them by hand', false),
    ]);
  });
});

describe('files it refuses', () => {
  it('not XML: one line, with the line and column', () => {
    const err = failure('<config>\n  <spoolmanager attr="x></spoolmanager>\n</config>');
    expect(err.message).toMatch(/^config\.xml: not XML \(line 2, column \d+\): .+$/);
    expect(err.message).not.toContain('\n');
  });

  it('plain text is not XML', () => {
    expect(failure('processors: root').message).toBe("config.xml: not XML (line 1, column 1): char 'p' is not expected.");
  });

  it('no spoolmanager or processors block', () => {
    expect(failure('<config><James/></config>').message).toBe(
      'config.xml: holds no <spoolmanager> (James 2 config.xml) or <processors> (James 3 mailetcontainer.xml) block',
    );
  });

  it('a processor without a name', () => {
    expect(failure(james2('<processor name="root"/><processor><mailet match="All" class="Null"/></processor>')).message).toBe(
      'config.xml: processor 2 has no name (James 2 names a processor with name="...", James 3 with state="...")',
    );
  });

  it('no root processor', () => {
    expect(failure(james3('<processor state="transport"><mailet match="All" class="Null"/></processor>')).message).toBe(
      'config.xml: no processor "root": James starts every mail there',
    );
  });

  it('names the file it was given, or says "James config"', () => {
    expect(() => translateJames('<x/>')).toThrow(/^James config: holds no/);
  });
});

describe('loops', () => {
  it('a branch back to root is translated, with a note that pinchmail refuses the loop', () => {
    const result = translateJames(
      james2('<processor name="root"><mailet match="All" class="ToProcessor"><processor>transport</processor></mailet></processor><processor name="transport"><mailet match="SubjectIs=again" class="ToProcessor"><processor>root</processor></mailet><mailet match="All" class="Null"/></processor>'),
    );
    expect(result.notes).toContainEqual(note('processor "root"', 'a loop: root -> transport -> root; James lets a mail go round, pinchmail refuses it: change one of these rules', true));
  });
});

describe('which left-out mailets end the way', () => {
  it('Forward ends it unless passThrough is true; ToSenderFolder only with consume', () => {
    const forward = translateJames(root('<mailet match="RecipientIs=boss@example.com" class="Forward"><forwardto>a@b.c</forwardto></mailet><mailet match="All" class="Null"/>'));
    expect(forward.processors.root).toEqual([]);
    const passing = translateJames(root('<mailet match="RecipientIs=boss@example.com" class="Forward"><passThrough>true</passThrough></mailet><mailet match="All" class="Null"/>'));
    expect(passing.processors.root).toEqual([{ match: 'all', drop: true }]);
    const folder = translateJames(root('<mailet match="All" class="ToSenderFolder"/><mailet match="All" class="Null"/>'));
    expect(folder.processors.root).toEqual([{ match: 'all', drop: true }]);
  });

  it('an And of two recipient conditions is left out: James matches them per recipient', () => {
    const xml = james3('<processor state="root"><matcher name="local-alice" match="And"><matcher match="HostIs=example.com"/><matcher match="UserIs=alice"/></matcher><mailet match="local-alice" class="Null"/><mailet match="All" class="ToRepository"><repositoryPath>file:///m</repositoryPath></mailet></processor>');
    const result = translateJames(xml);
    expect(result.notes[0]).toMatchObject({ translated: false, what: expect.stringContaining('an And of several recipient conditions') });
  });
});
