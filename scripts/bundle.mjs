#!/usr/bin/env node
// Bundles what tsc wrote to dist/ into dist/app/: the CLI's entry and a chunk for each part
// loaded on demand (a command, the PostgreSQL store, the routing code), so that a run
// loads a handful of files instead of ninety. Node's loader costs about half a millisecond
// a module before any of it runs: a poll with nothing new took 8 to 9% less time (issue 21;
// bench/versions.ts measures it). Packages stay outside, loaded by Node as they are.
// dist/app/ sits beside dist/cli/, so every path the code makes from import.meta.url
// (../../package.json, ../../completion/) means the same in the bundle.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = path.join(root, 'dist', 'app');
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [path.join(root, 'dist', 'cli', 'main.js')],
  outdir,
  bundle: true,
  // Code loaded with import() stays out of the entry, in chunks loaded when asked for.
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});
