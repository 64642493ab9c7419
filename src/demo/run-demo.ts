import type { Io } from '../cli/options.js';

export async function runDemo(io: Io): Promise<number> {
  io.stdout.write('demo: not yet\n');
  return 0;
}
