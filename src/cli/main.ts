import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { defaultConfigPath } from '../config/paths.js';
import { EXIT, describeFailure, exitCodeFor } from './exit-codes.js';
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
    .option('--json', 'print one JSON document on stdout instead of text');
}

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
  const program = new Command('pinchmail')
    .description('Fetch POP3 mail into commands or Maildirs, with several hosts sharing one mailbox as a work queue.')
    .version(version(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .exitOverride()
    // Commander's errors quote the command line back, and a pasted argument may hold controls.
    .configureOutput({ writeOut: (s) => void io.stdout.write(terminalText(s)), writeErr: (s) => void io.stderr.write(terminalText(s)) })
    .showHelpAfterError('(pinchmail --help for usage)');

  // The common options belong to the program, so they may stand before or after the command name.
  withCommonOptions(program);
  const merged = (command: Command): RawOptions => command.optsWithGlobals<RawOptions>();

  program
    .command('fetch', { isDefault: true })
    .description('fetch, deliver, and delete what is due (the default command)')
    .option('-n, --dry-run', 'connect and list, then show what would be fetched and deleted; change nothing')
    .option('-q, --quiet', 'print nothing unless something failed (for cron)')
    .addOption(new Option('-v, --verbose', 'more detail; twice for a protocol trace (passwords masked)').argParser((_: string, n: number) => n + 1).default(0))
    .action(async (_opts: unknown, command: Command) => {
      const raw = merged(command);
      const { fetchCommand } = await import('./fetch-command.js');
      exitCode = await fetchCommand({ ...common(raw), dryRun: raw.dryRun ?? false, quiet: raw.quiet ?? false, verbose: raw.verbose }, io);
    });

  program
    .command('status')
    .description('offline: what the state database knows, per account')
    .action(async (_opts: unknown, command: Command) => {
      const { statusCommand } = await import('./status-command.js');
      exitCode = statusCommand(common(merged(command)), io);
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
    .command('route')
    .description('show which route rules a saved message would take, and where it would go')
    .requiredOption('--test <file>', 'the message, as a file (an .eml, a Maildir file)')
    .action(async (opts: { test: string }, command: Command) => {
      const { routeCommand } = await import('./route-command.js');
      exitCode = routeCommand({ ...common(merged(command)), test: opts.test }, io);
    });

  program
    .command('demo')
    .description('run the peer-hosts demo against a loopback POP3 server it starts itself')
    .option('--keep', 'keep the demo files (configs, databases, Maildir) and print where they are')
    .action(async (opts: { keep?: boolean }) => {
      const { runDemo } = await import('../demo/run-demo.js');
      exitCode = await runDemo(io, { keep: opts.keep ?? false });
    });

  // With fetch as the default command, commander would call a mistyped command name
  // "too many arguments for 'fetch'"; say what it is.
  const first = argv[2];
  const known = ['fetch', 'status', 'check', 'route', 'demo', 'help'];
  if (first !== undefined && !first.startsWith('-') && !known.includes(first)) {
    io.stderr.write(`pinchmail: unknown command '${terminalText(first)}' (commands: ${known.join(', ')})\n`);
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
    if (code === EXIT.SOFTWARE && err instanceof Error && err.stack && !('code' in err)) io.stderr.write(`${terminalText(err.stack)}\n`);
    return code;
  }
}
