import { readFileSync } from 'node:fs';
import { PinchmailError, fileProblem } from '../errors.js';
import { translateJames, type JamesNote } from '../import/james.js';
import { EXIT } from './exit-codes.js';
import type { Io } from './options.js';
import { terminalText } from './terminal-text.js';

export interface FromJamesOptions {
  file: string;
  localUsers: string[];
  localDomains: string[];
  localMaildir?: string;
  json: boolean;
}

/**
 * `pinchmail route --from-james config.xml`: James's processors as pinchmail's, on
 * stdout, ready to paste into an account; what could not be translated on stderr, a
 * line each (in the document itself with --json).
 */
export function routeFromJames(options: FromJamesOptions, io: Io): number {
  let xml: string;
  try {
    xml = readFileSync(options.file, 'utf8');
  } catch (err) {
    throw new PinchmailError('USAGE', `route --from-james: cannot read ${options.file}: ${fileProblem(err)}`);
  }
  const { processors, onFailure, notes } = translateJames(xml, {
    file: options.file,
    ...(options.localUsers.length ? { localUsers: options.localUsers } : {}),
    ...(options.localDomains.length ? { localDomains: options.localDomains } : {}),
    ...(options.localMaildir !== undefined ? { localMaildir: options.localMaildir } : {}),
  });
  const routing = { processors, ...(onFailure ? { onFailure } : {}) };
  if (options.json) {
    io.stdout.write(`${JSON.stringify({ ...routing, notes }, null, 2)}\n`);
    return EXIT.OK;
  }
  io.stdout.write(`${JSON.stringify(routing, null, 2)}\n`);
  // The notes quote the file, which may hold anything.
  for (const note of notes) io.stderr.write(`${terminalText(noteLine(note))}\n`);
  return EXIT.OK;
}

function noteLine(note: JamesNote): string {
  return `pinchmail: ${note.translated ? 'note' : 'left out'}: ${note.where}: ${note.what}`;
}
