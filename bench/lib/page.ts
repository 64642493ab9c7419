/**
 * The Markdown of docs/benchmarks.md for bench/peers.ts: written for an operator choosing
 * a fetcher, so every ratio says which way round it is and every scenario says what it does.
 */
import { fmt, type Stat } from './measure.js';

export interface Scenario {
  /** How the summary finds a scenario: '1', '2', 'poll-tiny', 'poll-small', 'poll-large', '4', '5'. */
  id: string;
  title: string;
  /** The scenario in a few words, for the chart. */
  label: string;
  /** The scenario as the summary line says it: "into a Maildir", "to a command". */
  inShort: string;
  /** What every tool does here, in a sentence or two. */
  about: string;
  /** Per tool, in the order they ran; "pinchmail" with its default settings is always there. */
  stats: Map<string, Stat>;
  notes: string[];
}

/** pinchmail with "parallel": 4, beside pinchmail with its default settings. */
export const PARALLEL = 'pinchmail ("parallel": 4)';

export const seconds = (ms: number): string => fmt(ms / 1000, 3);

/**
 * "pinchmail takes 1.03x this tool's time", with the direction spelt out in every cell;
 * `who` is what is slower or faster: pinchmail, or the row named just "pinchmail" beside another way of running it.
 */
export function versus(ours: number, theirs: number, who = 'pinchmail'): string {
  const r = fmt(ours / theirs, 2);
  if (r === '1.00') return '1.00x (the same)';
  return `${r}x (${who} ${ours > theirs ? 'slower' : 'faster'})`;
}

function markdownTable(header: string[], rows: string[][], align: ('l' | 'r')[]): string[] {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(align.map((a) => (a === 'r' ? '--:' : ':--'))), ...rows.map(line)];
}

export function section(s: Scenario): string[] {
  const ours = s.stats.get('pinchmail')!;
  const runs = [...new Set([...s.stats.values()].map((t) => t.runs))].join(' or ');
  const rows = [...s.stats].map(([tool, t]) => [
    tool,
    seconds(t.wall),
    `${seconds(t.wallMin)}–${seconds(t.wallMax)}`,
    fmt(t.cpu / 1000, 2),
    fmt(t.rss, 1),
    tool === 'pinchmail' ? '—' : versus(ours.wall, t.wall, tool.startsWith('pinchmail') ? 'the pinchmail row' : 'pinchmail'),
  ]);
  return [
    `### ${s.title}`,
    '',
    s.about,
    '',
    ...markdownTable(
      ['tool', 'wall time, s (median)', `fastest–slowest of ${runs} runs, s`, 'CPU time, s (median)', 'peak memory, MB', "pinchmail's time vs this tool's"],
      rows,
      ['l', 'r', 'r', 'r', 'r', 'r'],
    ),
    ...(s.notes.length ? ['', ...s.notes] : []),
    '',
  ];
}

/** The ratios a reader wants first, as one line: pinchmail against mpop, the fastest peer, scenario by scenario. */
export function summary(scenarios: Scenario[]): string {
  const againstMpop: string[] = [];
  for (const s of scenarios) {
    const mpop = s.stats.get('mpop');
    if (!mpop) continue;
    const parallel = s.stats.get(PARALLEL);
    const withParallel = parallel ? ` (${fmt(parallel.wall / mpop.wall, 2)}x with "parallel": 4)` : '';
    againstMpop.push(`${fmt(s.stats.get('pinchmail')!.wall / mpop.wall, 2)}x ${againstMpop.length ? '' : "mpop's time "}${s.inShort}${withParallel}`);
  }
  const sentences: string[] = [];
  if (againstMpop.length) sentences.push(`pinchmail takes ${list(againstMpop)} (above 1, pinchmail is slower).`);
  const peers: string[] = [];
  for (const tool of ['getmail6', 'fetchmail']) {
    const r = ratios(scenarios, tool);
    if (r.length) peers.push(`${tool} ${peers.length ? '' : 'takes '}${range(r, 2)}x${peers.length ? '' : " pinchmail's time"}`);
  }
  if (peers.length) sentences.push(`Where they take part, ${list(peers)}.`);
  const memory = ['pinchmail', 'mpop', 'getmail6', 'fetchmail'].flatMap((tool) => {
    const rss = scenarios.flatMap((s) => [...s.stats].filter(([t]) => t === tool || (tool === 'pinchmail' && t.startsWith('pinchmail'))).map(([, st]) => st.rss));
    return rss.length ? [`${tool} ${range(rss, 0)} MB`] : [];
  });
  if (memory.length) sentences.push(`Peak memory: ${memory.join(', ')}.`);
  return `**In short:** ${sentences.join(' ')}`;
}

/** The tool's time over pinchmail's in every scenario it takes part in. */
function ratios(scenarios: Scenario[], tool: string): number[] {
  return scenarios.flatMap((s) => {
    const theirs = s.stats.get(tool);
    return theirs ? [theirs.wall / s.stats.get('pinchmail')!.wall] : [];
  });
}

function range(values: number[], digits: number): string {
  const [lo, hi] = [fmt(Math.min(...values), digits), fmt(Math.max(...values), digits)];
  return lo === hi ? lo : `${lo}–${hi}`;
}

function list(items: string[]): string {
  return items.length < 2 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
