#!/usr/bin/env node
// Writes man/pinchmail.1 and man/pinchmail.json.5 from docs/*.md with marked-man. A line
//   <!-- include: README.md "## Section" -->
// is replaced by that README section's body, so the manual and the README say the same thing.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const PAGES = [
  ['docs/pinchmail.1.md', 'man/pinchmail.1'],
  ['docs/pinchmail.json.5.md', 'man/pinchmail.json.5'],
];

function section(file, heading) {
  const lines = readFileSync(path.join(root, file), 'utf8').split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  if (start < 0) throw new Error(`${file}: no section "${heading}"`);
  const level = heading.match(/^#+/)[0].length;
  let end = lines.length;
  for (let i = start + 1; i < lines.length; i++) {
    const m = lines[i].match(/^(#+) /);
    if (m && m[1].length <= level) {
      end = i;
      break;
    }
  }
  return (
    lines
      .slice(start + 1, end)
      .join('\n')
      // Links to files in the source tree mean nothing in a manual: keep the words.
      .replace(/\[([^\]]+)\]\((?!https?:)[^)]*\)/g, '$1')
      .trim()
  );
}

function expand(text) {
  return text.replace(/^<!-- include: (\S+) "([^"]+)" -->$/gm, (_, file, heading) => section(file, heading));
}

/** marked leaves HTML entities in code spans, and gives every table column the same width. */
function tidy(roff) {
  return roff
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/^tab\(\|\) expand nowarn box;\n((?:l )*)l\.$/gm, (_, first) => `tab(|) nowarn box;\n${first.replace(/l /g, 'lB ')}lx.`);
}

const require = createRequire(import.meta.url);
const markedMan = path.join(path.dirname(require.resolve('marked-man/package.json')), 'bin', 'marked-man.js');
mkdirSync(path.join(root, 'man'), { recursive: true });
for (const [source, target] of PAGES) {
  const markdown = expand(readFileSync(path.join(root, source), 'utf8'));
  const roff = execFileSync(process.execPath, [markedMan, '--no-breaks', '--version', `pinchmail ${pkg.version}`, '--manual', 'pinchmail manual'], {
    input: markdown,
    encoding: 'utf8',
    // A reproducible page: the date is the package's, not the build's, unless SOURCE_DATE_EPOCH says.
    env: { ...process.env, SOURCE_DATE_EPOCH: process.env.SOURCE_DATE_EPOCH ?? '0' },
  });
  writeFileSync(path.join(root, target), tidy(roff));
}
