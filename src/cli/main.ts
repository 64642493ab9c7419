import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { defaultConfigPath } from '../config/paths.js';
import { MAX_PARALLEL_ACCOUNTS } from '../config/schema.js';
import { PinchmailError } from '../errors.js';
import { EXIT, describeFailure, exitCodeFor } from './exit-codes.js';
import type { InitOptions } from './init-command.js';
import type { ImportTool } from './import-command.js';
import type { Io } from './options.js';
import { terminalText } from './terminal-text.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function withCommonOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'config file (default: $PINCHMAIL_CONFIG, else $XDG_CONFIG_HOME/pinchmail/config.json)')
    .addOption(
      new Option('-a, --account <name>', 'only this account; repeatable')
        .argParser((v: string, all: string[]) => [...all, v])
        .default([] as string[], 'every account not "enabled": false'),
    )
    .option('--json', 'print one JSON document on stdout instead of text')
    .option('-n, --dry-run', 'fetch: connect and list, then show what would be fetched and deleted; change nothing')
    .option('-q, --quiet', 'fetch: print nothing unless something failed (for cron)')
    .addOption(new Option('-v, --verbose', 'fetch: more detail; twice for a protocol trace (passwords masked)').argParser((_: string, n: number) => n + 1).default(0));
}

/** `--parallel N`: accounts polled at once, overriding the config's "parallel". */
function parallelOption(): Option {
  return new Option('--parallel <n>', `poll up to n accounts at once (1-${MAX_PARALLEL_ACCOUNTS}; default: the config's "parallel", else 1)`).argParser((value: string) => {
    const n = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!(n >= 1 && n <= MAX_PARALLEL_ACCOUNTS)) throw new InvalidArgumentError(`expected an integer from 1 to ${MAX_PARALLEL_ACCOUNTS}`);
    return n;
  });
}

/** `--listen [HOST:]PORT` (an IPv6 host in brackets): loopback unless a host is named. */
function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) throw new InvalidArgumentError('expected [host:]port, such as 9177 or 127.0.0.1:9177');
  return { host: m[1]?.replace(/^\[|\]$/g, '') ?? '127.0.0.1', port };
}

/** Shown after every command's help: what the environment changes, and what the exit status means. */
const ENVIRONMENT_AND_EXIT = `
Environment:
  PINCHMAIL_CONFIG  the config file when -c is not given
  XDG_CONFIG_HOME   else the config is $XDG_CONFIG_HOME/pinchmail/config.json
                    (default ~/.config/pinchmail/config.json)
  XDG_STATE_HOME    the default state database is $XDG_STATE_HOME/pinchmail/state.sqlite
                    (default ~/.local/state/pinchmail/state.sqlite)
  PINCHMAIL_LOG     log format on stderr: "text" (readable lines), "plain" (cron),
                    "journal" (systemd) or "json" (one object a line); by default
                    chosen by where stderr goes

Exit status:
  0   every selected account was processed (including "nothing new")
  64  usage error: unknown flag, command or account name
  69  server unavailable: connect, DNS or TLS failed, STLS refused, [SYS/PERM]
  70  internal error, or a damaged state database
  73  a delivery command refused a message for good (it exited 64-68, 77 or 78);
      for init: the config file exists (--force overwrites it)
  75  temporary failure: retried at the next run (delivery, [IN-USE], timeout,
      deadline, lock held, signal)
  76  protocol error: the server does not speak POP3 as it should, sent more
      than a reply may hold, listed more than maxMessages, or lacks UIDL
  77  authentication failed
  78  configuration error: the config, a password, a state database that cannot
      be written or that others could, a delivery command or Maildir that
      cannot work as configured
  With several accounts, the status is that of the first failure in config order.

See pinchmail(1) and pinchmail.json(5).
`;

/** Commander's "error: " becomes pinchmail's own prefix, on one line with the pointer to help. */
function usageErrorWriter(name: string, io: Io, json: boolean): (message: string) => void {
  return (message: string) => {
    const text = message.replace(/^error: /, '').trimEnd();
    io.stderr.write(terminalText(`pinchmail: ${text} (see 'pinchmail${name ? ` ${name}` : ''} --help')`) + '\n');
    if (json) io.stdout.write(JSON.stringify({ error: `usage error: ${text}`, exitCode: EXIT.USAGE }, null, 2) + '\n');
  };
}

/** The completion scripts shipped in completion/. */
const COMPLETION: Record<string, string> = { bash: 'pinchmail.bash', zsh: '_pinchmail' };

interface RawOptions {
  config?: string;
  account: string[];
  json?: boolean;
  dryRun?: boolean;
  quiet?: boolean;
  verbose: number;
  connect?: boolean;
}

function common(raw: RawOptions): { config: string; account: string[]; json: boolean } {
  return { config: raw.config ?? defaultConfigPath(), account: raw.account, json: raw.json ?? false };
}

/**
 * Parses the command line and runs one command; returns the exit status. Each
 * command's module is loaded only when that command runs, so `status` never loads
 * the POP3 client and `check` never opens SQLite.
 */
export async function main(argv: readonly string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let exitCode: number = EXIT.OK;
  // Whether stdout should carry a JSON document even for a failure before any account ran.
  const json = argv.slice(2).includes('--json');
  const program = new Command('pinchmail')
    .description('Fetch POP3 mail into commands or Maildirs, with several hosts sharing one mailbox as a work queue.')
    .version(version(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .exitOverride()
    // Commander's errors quote the command line back, and a pasted argument may hold controls.
    .configureOutput({
      writeOut: (s) => void io.stdout.write(terminalText(s)),
      writeErr: (s) => void io.stderr.write(terminalText(s)),
      outputError: usageErrorWriter('', io, json),
    })
    .configureHelp({ showGlobalOptions: true });

  // The common options belong to the program, so they may stand before or after the command name.
  withCommonOptions(program);
  const merged = (command: Command): RawOptions => command.optsWithGlobals<RawOptions>();

  program
    .command('fetch', { isDefault: true })
    .description('fetch, deliver, and delete what is due (the default command); takes -n, -q, -v')
    .addOption(parallelOption())
    .option('--metrics <file>', 'after the run, write every account\'s metrics to this file (Prometheus text format, replaced atomically)')
    .action(async (opts: { parallel?: number; metrics?: string }, command: Command) => {
      const raw = merged(command);
      const { fetchCommand } = await import('./fetch-command.js');
      exitCode = await fetchCommand({ ...common(raw), dryRun: raw.dryRun ?? false, quiet: raw.quiet ?? false, verbose: raw.verbose, parallel: opts.parallel, metrics: opts.metrics }, io);
    });

  program
    .command('daemon')
    .description('stay running: poll each account on its own "every" interval; SIGHUP reloads the config, SIGTERM stops')
    .addOption(parallelOption())
    .option('--metrics <file>', 'after every poll, write every account\'s metrics to this file (Prometheus text format, replaced atomically)')
    .addOption(new Option('--listen <[host:]port>', 'serve the metrics at http://host:port/metrics (host default 127.0.0.1)').argParser(parseListen))
    .action(async (opts: { parallel?: number; metrics?: string; listen?: { host: string; port: number } }, command: Command) => {
      const raw = merged(command);
      const { daemonCommand } = await import('./daemon-command.js');
      exitCode = await daemonCommand({ ...common(raw), quiet: raw.quiet ?? false, verbose: raw.verbose, ...opts }, io);
    });

  program
    .command('status')
    .description('offline: what the state database knows, per account')
    .option('--check', 'monitoring mode: one line, exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN')
    .option('--warn-failing <n>', 'with --check: WARNING from this many failing messages in an account (default 1)')
    .option('--crit-failing <n>', 'with --check: CRITICAL from this many failing messages in an account (default never)')
    .option('--max-age <duration>', 'with --check: CRITICAL when the last successful run is older (e.g. "2h"), or there is none')
    .action(async (opts: { check?: boolean; warnFailing?: string; critFailing?: string; maxAge?: string }, command: Command) => {
      const { statusCommand } = await import('./status-command.js');
      exitCode = await statusCommand({ ...common(merged(command)), ...opts }, io);
    });

  program
    .command('check')
    .description('validate the config and show it resolved, secrets masked')
    .option('--connect', 'also log in to each server and show its capabilities')
    .action(async (_opts: unknown, command: Command) => {
      const raw = merged(command);
      const { checkCommand } = await import('./check-command.js');
      exitCode = await checkCommand({ ...common(raw), connect: raw.connect ?? false }, io);
    });

  program
    .command('init')
    .description('write a starter config for one account (asks on a terminal), after logging in to the server once')
    .option('--host <host>', 'the POP3 server')
    .option('--port <port>', 'its port (default 995 for implicit TLS, else 110)')
    .option('--user <name>', 'the login name')
    .addOption(new Option('--tls <mode>', 'default: try implicit (995), then STLS (110)').choices(['implicit', 'starttls', 'none']))
    .option('--password-env <var>', 'the password comes from this environment variable')
    .option('--password-file <file>', 'the password is the first line of this file')
    .option('--password-command <cmd>', 'the password is the first line this shell command prints')
    .option('--maildir <dir>', 'deliver into this Maildir')
    .option('--command <cmd>', 'deliver to this shell command, one message on its stdin')
    .option('--force', 'overwrite the config file if it exists')
    .action(async (opts: Omit<InitOptions, 'config' | 'force'> & { force?: boolean }, command: Command) => {
      const { initCommand } = await import('./init-command.js');
      exitCode = await initCommand({ ...opts, config: common(merged(command)).config, force: opts.force ?? false }, io);
    });

  program
    .command('import')
    .description("switch from another fetcher: its accounts become a config, the UIDLs it recorded count as delivered")
    .addArgument(new Argument('<tool>', 'the fetcher to import from').choices(['mpop', 'fetchmail', 'getmail']))
    .option('--from <file>', "its config file (default: where it looks: ~/.mpoprc, ~/.fetchmailrc, ~/.getmail/getmailrc*)")
    .addOption(new Option('--passwords <where>', 'an inline password goes to a 0600 file beside the config, an environment variable to set, or inline in the 0600 config').choices(['file', 'env', 'inline']).default('file'))
    .option('--all-new', 'take an account that keeps mail but has no UIDLs file as having delivered nothing (else it is left out)')
    .option('--force', 'overwrite the config file (and password files) if they exist')
    .action(async (tool: ImportTool, opts: { from?: string; passwords: 'file' | 'env' | 'inline'; allNew?: boolean; force?: boolean }, command: Command) => {
      const { importCommand } = await import('./import-command.js');
      exitCode = await importCommand({ config: common(merged(command)).config, tool, from: opts.from, passwords: opts.passwords, allNew: opts.allNew ?? false, force: opts.force ?? false }, io);
    });

  program
    .command('route')
    .description('show which rules a saved message would take, and where it would go; or translate an Apache James pipeline')
    .option('--test <file>', 'the message, as a file (an .eml, a Maildir file)')
    .option('--from-james <file>', 'print the pinchmail "processors" for the spoolmanager of a James config.xml (or mailetcontainer.xml)')
    .option('--local-users <names>', 'with --from-james: the users RecipientIsLocal stands for, comma-separated (James keeps them outside config.xml)', commaList)
    .option('--local-domains <domains>', 'with --from-james: the domains HostIsLocal stands for (default: config.xml\'s servernames)', commaList)
    .option('--local-maildir <dir>', 'with --from-james: the Maildir LocalDelivery becomes (default "Maildir")')
    .action(async (opts: { test?: string; fromJames?: string; localUsers?: string[]; localDomains?: string[]; localMaildir?: string }, command: Command) => {
      if ((opts.test === undefined) === (opts.fromJames === undefined)) throw new PinchmailError('USAGE', 'route: give --test FILE or --from-james FILE');
      if (opts.fromJames !== undefined) {
        const { routeFromJames } = await import('./route-from-james.js');
        const { json } = common(merged(command));
        exitCode = routeFromJames({ file: opts.fromJames, localUsers: opts.localUsers ?? [], localDomains: opts.localDomains ?? [], localMaildir: opts.localMaildir, json }, io);
        return;
      }
      const { routeCommand } = await import('./route-command.js');
      exitCode = await routeCommand({ ...common(merged(command)), test: opts.test! }, io);
    });

  program
    .command('demo')
    .description('run the peer-hosts demo against a loopback POP3 server it starts itself')
    .option('--keep', 'keep the demo files (configs, databases, Maildir) and print where they are')
    .action(async (opts: { keep?: boolean }) => {
      const { runDemo } = await import('../demo/run-demo.js');
      exitCode = await runDemo(io, { keep: opts.keep ?? false });
    });

  program
    .command('completion')
    .description('print the bash or zsh completion script (e.g. source <(pinchmail completion bash))')
    .argument('<shell>', 'bash or zsh')
    .action((shell: string, _opts: unknown, command: Command) => {
      const file = COMPLETION[shell];
      if (!file) command.error(`unknown shell '${shell}' (shells: ${Object.keys(COMPLETION).join(', ')})`, { exitCode: EXIT.USAGE, code: 'pinchmail.usage' });
      io.stdout.write(readFileSync(fileURLToPath(new URL(`../../completion/${file}`, import.meta.url)), 'utf8'));
    });

  // For the completion scripts: the account names in the config, one a line; silent when it does not load.
  program
    .command('completion-accounts', { hidden: true })
    .action(async (_opts: unknown, command: Command) => {
      try {
        const { loadConfig } = await import('../config/load.js');
        for (const account of loadConfig(common(merged(command)).config).accounts) io.stdout.write(`${terminalText(account.name)}\n`);
      } catch {
        // nothing to offer
      }
    });

  for (const command of program.commands) {
    // An error in the default command, not named, points to the program's help.
    const named = command.name() !== 'fetch' || argv.slice(2).includes('fetch');
    command.configureOutput({ outputError: usageErrorWriter(named ? command.name() : '', io, json) }).addHelpText('after', ENVIRONMENT_AND_EXIT);
  }
  program.addHelpText('after', ENVIRONMENT_AND_EXIT);
  // -n, -q and -v are global so that `pinchmail -q fetch` works as `pinchmail fetch -q` does; they mean something to fetch only.
  program.hook('preAction', (_program, action) => {
    const raw = merged(action);
    if (action.name() !== 'fetch' && raw.dryRun) action.error(`-n, --dry-run applies to fetch only, not to ${action.name()}`, { exitCode: EXIT.USAGE, code: 'pinchmail.usage' });
  });

  // With fetch as the default command, commander would call a mistyped command name
  // "too many arguments for 'fetch'"; say what it is.
  const first = argv[2];
  const known = ['fetch', 'daemon', 'status', 'check', 'init', 'import', 'route', 'demo', 'completion', 'help'];
  if (first !== undefined && !first.startsWith('-') && !known.includes(first) && first !== 'completion-accounts') {
    usageErrorWriter('', io, json)(`unknown command '${first}' (commands: ${known.join(', ')})`);
    return EXIT.USAGE;
  }

  try {
    await program.parseAsync(argv, { from: 'node' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      return ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code) ? EXIT.OK : EXIT.USAGE;
    }
    // The failure may quote a server, a command or a file name: for a person, as text.
    io.stderr.write(`pinchmail: ${terminalText(describeFailure(err))}\n`);
    const code = exitCodeFor(err);
    // A failure before any account ran: --json still gets a document to parse.
    if (json) io.stdout.write(JSON.stringify({ error: describeFailure(err), exitCode: code }, null, 2) + '\n');
    if (code === EXIT.SOFTWARE && err instanceof Error && err.stack && !('code' in err)) io.stderr.write(`${terminalText(err.stack)}\n`);
    return code;
  }
}

/** "a, b,c" as a list, for options that take several (given once or more). */
function commaList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}
