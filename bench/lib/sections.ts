/**
 * Parts of docs/benchmarks.md that another benchmark than bench/peers.ts writes (bench:daemon's):
 * each between two markers, replaced in place by its own benchmark and carried over whole
 * when bench:peers writes the rest of the page anew, so one page holds every row.
 */
import { existsSync, readFileSync } from 'node:fs';

const begin = (name: string): string => `<!-- bench:${name}: written by \`npm run bench:${name}\`; bench:peers keeps it -->`;
const end = (name: string): string => `<!-- /bench:${name} -->`;
const ANY = /<!-- bench:([\w-]+):[^\n]*-->\n[\s\S]*?<!-- \/bench:\1 -->\n?/g;

/** `page` (the text of the file, or '' for none) with section `name` now holding `markdown`: in its place, or at the end. */
export function withSection(page: string, name: string, markdown: string): string {
  const block = `${begin(name)}\n${markdown.trimEnd()}\n${end(name)}\n`;
  const at = page.indexOf(begin(name));
  const stop = page.indexOf(end(name), at);
  if (at < 0 || stop < 0) return `${page.trimEnd()}${page.trim() ? '\n\n' : ''}${block}`;
  const after = page.slice(stop + end(name).length).replace(/^\n/, '');
  return `${page.slice(0, at)}${block}${after}`;
}

/** Every other benchmark's section in `file`, as it stands: what a page written anew must carry over. */
export function keptSections(file: string): string[] {
  if (!existsSync(file)) return [];
  return [...readFileSync(file, 'utf8').matchAll(ANY)].map((m) => m[0].trimEnd());
}

/** A page of its own made a section of another: every heading one level lower. */
export function demoteHeadings(markdown: string): string {
  return markdown.replace(/^(#+) /gm, '#$1 ');
}
