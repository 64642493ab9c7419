import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BIN, Workspace, runCli } from '../support/cli.js';
import { describeIf } from '../support/dovecot-suite.js';

/**
 * The shell completion scripts, loaded as a user loads them (`pinchmail completion zsh`
 * into a directory in $fpath, or sourced; `source <(pinchmail completion bash)`), asked
 * for completions on command lines. What they must offer is taken from the CLI itself:
 * the commands `pinchmail --help` lists, each command's flags from its --help, and the
 * account names of the config the line names (else the default config).
 *
 * zsh runs its real completion system (compinit, _arguments, _describe) on a
 * pseudo-terminal (zsh/zpty), with compadd wrapped to print what would be offered.
 * bash gets COMP_WORDS split as bash splits a line (COMP_WORDBREAKS: "--config=FILE" is
 * three words), and the function the script registers with `complete -F`.
 */

let ws: Workspace;
/** Offered by the help of the program and of each command: what the scripts must offer. */
let commands: string[];
const flags = new Map<string, { long: string[]; short: string[] }>();
/** The commands whose flags are compared (completion and help take a word, not flags). */
const FLAGGED = ['fetch', 'daemon', 'status', 'check', 'init', 'import', 'route', 'demo'];

const account = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name,
  host: 'pop.example.org',
  user: name,
  password: { env: 'PW' },
  deliver: { maildir: ws.path('Maildir') },
  ...extra,
});

beforeAll(async () => {
  ws = new Workspace();
  mkdirSync(ws.path('bin'));
  symlinkSync(BIN, ws.path('bin', 'pinchmail'));
  // The default config (XDG_CONFIG_HOME), and another one, in a directory with a space in its name.
  mkdirSync(ws.path('xdg', 'pinchmail'), { recursive: true });
  ws.config({ accounts: [account('jobs'), account('home', { enabled: false })] }, path.join('xdg', 'pinchmail', 'config.json'));
  mkdirSync(ws.path('my configs'));
  ws.config({ accounts: [account('work'), account('play')] }, path.join('my configs', 'other.json'));
  ws.config({ accounts: [account('spare')] }, 'plain.json');
  // The directory completions run in: one directory, one file.
  mkdirSync(ws.path('cwd', 'Mail'), { recursive: true });
  writeFileSync(ws.path('cwd', 'notes.txt'), '');

  const help = await runCli(['--help']);
  const section = help.stdout.split('\nCommands:\n')[1]!.split('\n\n')[0]!;
  commands = [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!);
  for (const command of FLAGGED) {
    const r = await runCli([command, '--help']);
    const lines = [...r.stdout.matchAll(/^ {2}(?:(-\w), )?(--[\w-]+)/gm)];
    flags.set(command, { long: lines.map((m) => m[2]!).sort(), short: lines.flatMap((m) => (m[1] ? [m[1]] : [])).sort() });
  }
});
afterAll(() => ws.remove());

const sorted = (words: string[]): string[] => [...new Set(words)].sort();

/** Exactly what the case says, or (not `exactly`) at least that. */
function offersRight(c: { offers: string[]; exactly?: boolean }, got: string[]): boolean {
  const have = new Set(got);
  return c.offers.every((o) => have.has(o)) && (!c.exactly || sorted(got).length === sorted(c.offers).length);
}
const OTHER = (): string => ws.path('my configs', 'other.json');
const PLAIN = (): string => ws.path('plain.json');

/** The environment the shells run in: our pinchmail on PATH, and a default config of our own. */
const shellEnv = (): NodeJS.ProcessEnv => ({
  PATH: `${ws.path('bin')}:${path.dirname(process.execPath)}:${process.env.PATH}`,
  HOME: ws.path('cwd'),
  LANG: 'C.UTF-8',
  TERM: 'dumb',
  XDG_CONFIG_HOME: ws.path('xdg'),
  XDG_STATE_HOME: ws.path('state'),
});

/**
 * The cases both shells must get right: a command line ending where TAB is pressed, and
 * what must be offered there (exactly, unless `includes`). Paths are typed quoted, as
 * zsh's and bash's own file completion would insert them.
 */
function cases(quote: (p: string) => string): { line: string; offers: string[]; exactly?: boolean }[] {
  const other = quote(OTHER());
  const fl = (command: string): string[] => flags.get(command)!.long;
  return [
    { line: 'pinchmail ', offers: commands, exactly: true },
    { line: 'pinchmail st', offers: ['status'], exactly: true },
    { line: 'pinchmail help ', offers: commands.filter((c) => c !== 'help'), exactly: false },
    ...FLAGGED.map((c) => ({ line: `pinchmail ${c} --`, offers: fl(c), exactly: true })),
    // Before a command, the program's own flags (fetch is the default command).
    { line: 'pinchmail --', offers: fl('fetch'), exactly: true },
    { line: 'pinchmail completion ', offers: ['bash', 'zsh'], exactly: true },
    { line: 'pinchmail init --tls ', offers: ['implicit', 'starttls', 'none'], exactly: true },
    { line: 'pinchmail init --tls=', offers: ['implicit', 'starttls', 'none'], exactly: true },
    { line: 'pinchmail route --test ', offers: ['Mail', 'notes.txt'], exactly: false },
    { line: 'pinchmail init --maildir ', offers: ['Mail'], exactly: true },
    // Account names: of the default config, of the one -c names (before or after the command), and of --config=FILE.
    { line: 'pinchmail -a ', offers: ['jobs', 'home'], exactly: true },
    { line: 'pinchmail status --account ', offers: ['jobs', 'home'], exactly: true },
    { line: `pinchmail -c ${other} -a `, offers: ['work', 'play'], exactly: true },
    { line: `pinchmail -c ${other} check -a `, offers: ['work', 'play'], exactly: true },
    { line: `pinchmail fetch --config ${other} -a `, offers: ['work', 'play'], exactly: true },
    { line: `pinchmail --config=${PLAIN()} status -a `, offers: ['spare'], exactly: true },
    { line: `pinchmail -c${PLAIN()} -a `, offers: ['spare'], exactly: true },
    { line: `pinchmail -a jobs -a h`, offers: ['home'], exactly: true },
  ];
}

// ---------------------------------------------------------------------------------------
// zsh

function zshMissing(): string | null {
  const r = spawnSync('zsh', ['-fc', 'zmodload zsh/zpty'], { stdio: 'ignore' });
  return r.status === 0 ? null : 'zsh (with its zpty module) is not installed (apt-get install zsh)';
}

/**
 * Sourced by the interactive zsh on the pty: the completion system, the script loaded
 * the way `how` says, and compadd wrapped to print each match (after zsh's own matching
 * against what is typed) as it adds it; the shell exits once a completion is done. (The
 * matches are still added: otherwise the completion system would go on to its fallbacks,
 * all files, say, and print those too.)
 */
function zshSetup(how: 'fpath' | 'source', script: string): string {
  return `
PROMPT='' RPROMPT='' PS2=''
${how === 'fpath' ? `fpath=(${JSON.stringify(path.dirname(script))} $fpath)` : ''}
autoload -U compinit && compinit -u -D
${how === 'source' ? `source ${JSON.stringify(script)}` : ''}
bindkey '^I' complete-word
zstyle ':completion:*' insert-tab false
compadd() {
  # Calls that only ask zsh to match (-O, -A, -D) are the completion system's own.
  if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then builtin compadd "$@"; return; fi
  local -a __hits
  builtin compadd -A __hits "$@"
  (( $#__hits )) && print -rl -- "<<OFFER>>"\${^__hits}
  builtin compadd "$@"
}
__done() { print -r -- '<<END>>'; exit }
comppostfuncs=(__done)
print -r -- '<<READY>> '$_comps[pinchmail]
`;
}

/** Reads command lines from the file $1, one a line; completes each in a fresh interactive zsh. */
const ZSH_DRIVER = `
zmodload zsh/zpty
local setup=$2 line out
for line in "\${(@f)$(<$1)}"; do
  print -r -- "<<CASE>>$line"
  zpty z zsh -f -i
  zpty -w z "source \${(q)setup}"
  while zpty -r z out; do [[ $out == *'<<READY>>'* ]] && { print -r -- "\${\${out//$'\\r'/}%$'\\n'}"; break }; done
  zpty -n -w z "$line"$'\\t'
  while zpty -r z out; do
    out=\${\${out//$'\\r'/}%$'\\n'}
    [[ $out == *'<<END>>'* ]] && break
    print -r -- "$out"
  done
  zpty -d z
done
print -r -- '<<DONE>>'
`;

interface Completed {
  offers: string[];
  /** Everything else the shell showed: errors from the script land here. */
  noise: string[];
  loaded: string;
}

function zshComplete(lines: string[], how: 'fpath' | 'source'): Map<string, Completed> {
  const dir = ws.path(`zsh-${how}`);
  mkdirSync(path.join(dir, 'functions'), { recursive: true });
  // What a user installs: the script as `pinchmail completion zsh` prints it.
  const script = path.join(dir, 'functions', '_pinchmail');
  writeFileSync(script, execFileSync(process.execPath, [BIN, 'completion', 'zsh'], { encoding: 'utf8' }));
  writeFileSync(path.join(dir, 'setup.zsh'), zshSetup(how, script));
  writeFileSync(path.join(dir, 'lines'), `${lines.join('\n')}\n`);
  writeFileSync(path.join(dir, 'driver.zsh'), ZSH_DRIVER);
  const r = spawnSync('zsh', ['-f', path.join(dir, 'driver.zsh'), path.join(dir, 'lines'), path.join(dir, 'setup.zsh')], {
    cwd: ws.path('cwd'),
    env: shellEnv(),
    encoding: 'utf8',
    // A deadline, not a wait: a completion that never finishes would leave its zpty reading forever.
    timeout: 90_000,
  });
  expect(r.error, `zsh: ${r.error?.message}; it printed ${r.stdout}`).toBeUndefined();
  expect(r.stdout).toContain('<<DONE>>');
  const results = new Map<string, Completed>();
  let current: Completed | null = null;
  for (const out of r.stdout.split('\n')) {
    if (out.startsWith('<<CASE>>')) results.set(out.slice('<<CASE>>'.length), (current = { offers: [], noise: [], loaded: '' }));
    else if (!current || out === '<<DONE>>') continue;
    else if (out.includes('<<READY>>')) current.loaded = out.split('<<READY>> ')[1] ?? '';
    else if (out.includes('<<OFFER>>')) current.offers.push(out.split('<<OFFER>>')[1]!);
    else if (out.trim()) current.noise.push(out);
  }
  return results;
}

describeIf('zsh completion', 'completion tests', zshMissing(), () => {
  // zsh's file completion would insert "my\ configs".
  const quote = (p: string): string => p.replace(/ /g, '\\ ');

  for (const how of ['fpath', 'source'] as const) {
    it(`offers commands, each command's flags and values, and the config's account names (installed by ${how === 'fpath' ? '$fpath' : 'source'})`, () => {
      const all = cases(quote);
      const results = zshComplete(
        all.map((c) => c.line),
        how,
      );
      const wrong = all.flatMap((c) => {
        const got = results.get(c.line);
        if (!got) return [`${JSON.stringify(c.line)}: not completed`];
        if (got.loaded !== '_pinchmail') return [`${JSON.stringify(c.line)}: completed by ${JSON.stringify(got.loaded)}, not _pinchmail`];
        // The script's own errors (an _arguments spec it rejects, a command not found) show as noise.
        const errors = got.noise.filter((n) => /_pinchmail|_arguments|not found|error/i.test(n));
        return errors.length || !offersRight(c, got.offers)
          ? [`${JSON.stringify(c.line)} offered ${JSON.stringify(sorted(got.offers))}, not ${JSON.stringify(sorted(c.offers))}${errors.length ? `; the shell said ${JSON.stringify(errors)}` : ''}`]
          : [];
      });
      expect(wrong).toEqual([]);
    });
  }

  it('the short flags too', () => {
    const lines = FLAGGED.map((c) => `pinchmail ${c} -`);
    const results = zshComplete(lines, 'fpath');
    for (const [i, c] of FLAGGED.entries()) {
      const got = results.get(lines[i]!)!;
      expect(got.offers, lines[i]).toEqual(expect.arrayContaining(flags.get(c)!.short));
    }
  });
});

// ---------------------------------------------------------------------------------------
// bash

function bashMissing(): string | null {
  return spawnSync('bash', ['-c', 'complete -F true x'], { stdio: 'ignore' }).status === 0 ? null : 'bash is not installed';
}

/** COMP_WORDS as bash makes them from a line: split at blanks (a backslash keeps one), then around COMP_WORDBREAKS. */
function bashWords(line: string): string[] {
  const words: string[] = [];
  for (const word of line.match(/(?:\\.|[^\s\\])+|(?<=\s)$/g) ?? []) {
    words.push(...word.split(/([=:])/).filter((w, i, all) => w !== '' || all.length === 1));
  }
  if (/\s$/.test(line) && words[words.length - 1] !== '') words.push('');
  return words;
}

function bashComplete(lines: string[]): Map<string, string[]> {
  const script = ws.path('pinchmail.bash');
  writeFileSync(script, execFileSync(process.execPath, [BIN, 'completion', 'bash'], { encoding: 'utf8' }));
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const body = lines
    .map((line) => {
      const words = bashWords(line);
      return `COMP_WORDS=(${words.map(q).join(' ')}); COMP_CWORD=${words.length - 1}; COMP_LINE=${q(line)}; COMP_POINT=${line.length}; COMPREPLY=()
$(complete -p pinchmail | sed -E 's/.*-F ([^ ]+).*/\\1/') pinchmail ${q(words[words.length - 1]!)} ${q(words[words.length - 2]!)}
echo "<<CASE>>"${q(line)}; printf '<<OFFER>>%s\\n' "\${COMPREPLY[@]}"`;
    })
    .join('\n');
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', `source ${q(script)}\n${body}\necho '<<DONE>>'`], {
    cwd: ws.path('cwd'),
    env: shellEnv(),
    encoding: 'utf8',
    timeout: 90_000,
  });
  expect(r.stderr).toBe('');
  expect(r.stdout).toContain('<<DONE>>');
  const results = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const out of r.stdout.split('\n')) {
    if (out.startsWith('<<CASE>>')) results.set(out.slice('<<CASE>>'.length), (current = []));
    else if (out.startsWith('<<OFFER>>') && current && out !== '<<OFFER>>') current.push(out.slice('<<OFFER>>'.length).replace(/\/$/, ''));
  }
  return results;
}

describeIf('bash completion', 'completion tests', bashMissing(), () => {
  it('splits a line as bash does', () => {
    expect(bashWords('pinchmail ')).toEqual(['pinchmail', '']);
    expect(bashWords('pinchmail --config=/a/b -a ')).toEqual(['pinchmail', '--config', '=', '/a/b', '-a', '']);
    expect(bashWords('pinchmail -c /my\\ configs/x -a jo')).toEqual(['pinchmail', '-c', '/my\\ configs/x', '-a', 'jo']);
  });

  it("offers commands, each command's flags and values, and the config's account names", () => {
    const quote = (p: string): string => p.replace(/ /g, '\\ ');
    const all = cases(quote);
    const results = bashComplete(all.map((c) => c.line));
    const wrong = all.flatMap((c) => {
      const got = results.get(c.line);
      if (!got) return [`${JSON.stringify(c.line)}: not completed`];
      return offersRight(c, got) ? [] : [`${JSON.stringify(c.line)} offered ${JSON.stringify(sorted(got))}, not ${JSON.stringify(sorted(c.offers))}`];
    });
    expect(wrong).toEqual([]);
  });

  it('the short flags too', () => {
    const lines = FLAGGED.map((c) => `pinchmail ${c} -`);
    const results = bashComplete(lines);
    for (const [i, c] of FLAGGED.entries()) expect(results.get(lines[i]!), lines[i]).toEqual(expect.arrayContaining(flags.get(c)!.short));
  });
});
