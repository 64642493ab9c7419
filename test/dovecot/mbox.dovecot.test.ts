import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, beforeEach, expect, it } from 'vitest';
import { quoteMboxrd } from '../../src/deliver/mboxrd.js';
import { Workspace, runCli } from '../support/cli.js';
import { crlfToLf } from '../support/corpus.js';
import { dovecotServes, type Dovecot } from '../support/dovecot.js';
import { describeWithDovecot, privateDovecotAndWorkspace } from '../support/dovecot-suite.js';
import { readMbox } from '../support/mbox.js';

const MAIL_UID = 5000;

/**
 * The mbox target end to end: pinchmail fetches from Dovecot's POP3 into mbox files (as
 * the account's deliver, from a route, and as onFailure), procmail appends to the same
 * file between runs, and Dovecot's own mbox driver reads the result (doveadm fetch), as a
 * user's mail client would through IMAP.
 */
describeWithDovecot('delivering to an mbox, read back by Dovecot', () => {
  const suite = privateDovecotAndWorkspace(['source', 'reader']);
  let dovecot: Dovecot;
  let ws: Workspace;
  beforeAll(() => void (dovecot = suite.dovecot()));
  beforeEach(() => void (ws = suite.ws()));

  /** The bodies Dovecot's mbox driver gives for each message of `file`, in order. */
  function dovecotReads(dir: string, file: string): string[] {
    const run = spawnSync('doveadm', ['-c', `${dovecot.dir}/dovecot.conf`, '-o', `mail_location=mbox:${dir}:INBOX=${file}:INDEX=MEMORY`, '-f', 'json', 'fetch', '-u', 'reader', 'text', 'mailbox', 'INBOX'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    return (JSON.parse(run.stdout) as { text: string }[]).map((m) => m.text);
  }

  it('as deliver, from a route and as onFailure: Dovecot reads every message whole, procmail appends in between, nothing is left on the server', async () => {
    const messages = {
      plain: Buffer.from('Return-Path: <jobs@example.org>\nSubject: plain\n\nFrom the top\n>From quoted\n>>From twice\n.dot line\n'),
      archived: Buffer.from('Subject: archive this\nTo: team@example.com\n\nΚαλημέρα\n'),
      poison: Buffer.from('Subject: broken job\n\nno command takes it\n'),
    };
    for (const m of Object.values(messages)) dovecot.deliver('source', m);
    // The reader's mail directory: Dovecot reads it as uid 5000; pinchmail (root here) gives the mbox files it creates to that owner.
    // (In Dovecot's directory: the workspace is 0700.)
    const dir = mkdtempSync(path.join(dovecot.dir, 'mbox-'));
    chmodSync(dir, 0o755);
    chownSync(dir, MAIL_UID, MAIL_UID);
    const inbox = `${dir}/inbox`;
    const archive = `${dir}/archive`;
    const quarantine = `${dir}/quarantine`;
    const config = ws.config({
      accounts: [
        {
          name: 'source',
          host: '127.0.0.1',
          port: dovecot.port,
          tls: 'starttls',
          tlsOptions: { ca: dovecot.caFile },
          user: 'source',
          password: dovecot.users.get('source')!.password,
          retention: '0',
          route: [
            { match: { subject: '^broken' }, deliver: { command: ['/bin/false'] } },
            { match: { subject: '^archive' }, deliver: { mbox: archive }, continue: true },
          ],
          deliver: { mbox: inbox },
          onFailure: { after: 1, deliver: { mbox: quarantine } },
        },
      ],
    });
    const first = await runCli(['-c', config, '--json']);
    expect(first.code, first.stderr).toBe(75);
    expect(JSON.parse(first.stdout).accounts[0]).toMatchObject({ delivered: 2, failed: 1 });

    // procmail, locking as it does (":0:" takes inbox.lock), appends its own message between runs.
    const rc = ws.path('procmailrc');
    writeFileSync(rc, `:0:\n${inbox}\n`);
    const procmail = spawnSync('/usr/bin/procmail', ['-m', rc], { input: 'From procmail@example.org Wed Dec  2 10:00:00 2026\nSubject: by procmail\n\nhello\n' });
    expect(procmail.status, procmail.stderr.toString()).toBe(0);

    const second = await runCli(['-c', config, '--json']);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout).accounts[0]).toMatchObject({ delivered: 1 });
    expect(dovecot.stored('source')).toEqual([]);

    const served = (m: Buffer): Buffer => crlfToLf(dovecotServes(m));
    // A mboxrd reader gets every byte back, the quoting undone (read first: Dovecot adds its own headers, X-UID and such, to what it reads).
    expect(readMbox(inbox).map((m) => m.message)).toEqual([served(messages.plain), served(messages.archived), Buffer.from('Subject: by procmail\n\nhello\n')]);
    expect(readMbox(inbox)[0]!.fromLine).toMatch(/^From jobs@example\.org [A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$/);
    // Dovecot leaves mboxrd's quoting in place (it reads ">From" lines as they are), so it gives the quoted form.
    expect(dovecotReads(dir, inbox)).toEqual([
      quoteMboxrd(served(messages.plain)).toString(),
      quoteMboxrd(served(messages.archived)).toString(),
      'Subject: by procmail\n\nhello\n',
    ]);
    expect(dovecotReads(dir, archive)).toEqual([served(messages.archived).toString()]);
    expect(dovecotReads(dir, quarantine)).toEqual([served(messages.poison).toString()]);
    for (const file of [inbox, archive, quarantine]) {
      expect(statSync(file).uid).toBe(MAIL_UID);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    }
  });
});
