/**
 * docs/benchmarks.svg: wall time and peak memory per scenario and tool, as grouped
 * horizontal bars in plain SVG, so it needs no dependency and shows the same in a browser
 * and on GitHub (which shows an SVG as an image: no scripts, no web fonts, a white
 * background of its own for dark themes).
 */
import { fmt } from './measure.js';
import { seconds, type Scenario } from './page.js';

/** Okabe–Ito colours, told apart with every common colour blindness. */
const COLOURS: Record<string, string> = { mpop: '#E69F00', fetchmail: '#009E73', getmail6: '#CC79A7' };
const colour = (tool: string): string => (tool === 'pinchmail' ? '#0072B2' : tool.startsWith('pinchmail') ? '#56B4E9' : (COLOURS[tool] ?? '#999999'));

const WIDTH = 980;
const NAMES = 230; // the tool names, right-aligned against the bars
const PANEL = 340;
const GAP = 50;
const ROOM = 95; // past the longest bar, for its value
const ROW = 16;
const STEP = 21;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${fmt(x, 1)}" y="${fmt(y, 1)}"${attrs ? ` ${attrs}` : ''}>${esc(s)}</text>`;
}

/** A round step for the memory axis: 1, 2 or 5 times a power of ten, giving four to eight ticks. */
function tickStep(max: number): number {
  const raw = max / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
}

export function chart(scenarios: Scenario[], notes: string[]): string {
  const timeX = NAMES;
  const memX = NAMES + PANEL + GAP;
  const plot = PANEL - ROOM;
  const rssMax = Math.max(...scenarios.flatMap((s) => [...s.stats.values()].map((t) => t.rss)));
  const step = tickStep(rssMax);
  const rssTop = Math.ceil(rssMax / step) * step;
  const out: string[] = [];
  out.push(text(16, 26, 'Wall time and peak memory per scenario and tool', 'font-size="16" font-weight="bold"'));
  notes.forEach((n, i) => out.push(text(16, 46 + i * 16, n, 'fill="#555555"')));
  const head = 46 + notes.length * 16 + 14;
  out.push(text(timeX, head, 'Wall time, s: median; whisker: fastest to slowest run', 'font-weight="bold"'));
  out.push(text(memX, head, 'Peak memory (RSS), MB: highest run', 'font-weight="bold"'));
  const top = head + 12;
  let y = top;
  for (const s of scenarios) {
    y += 18;
    out.push(text(16, y, s.label, 'font-weight="bold"'));
    y += 8;
    // Each scenario's times on a scale of their own: a poll and a cold fetch differ a hundredfold.
    const timeMax = Math.max(...[...s.stats.values()].map((t) => t.wallMax));
    for (const [tool, t] of s.stats) {
      const mid = y + ROW / 2;
      const at = (ms: number): number => timeX + (ms / timeMax) * plot;
      const rssWidth = (t.rss / rssTop) * plot;
      out.push(`<g><title>${esc(`${tool}: median ${seconds(t.wall)} s, ${seconds(t.wallMin)}–${seconds(t.wallMax)} s over ${t.runs} runs; peak memory ${fmt(t.rss, 1)} MB`)}</title>`);
      out.push(text(NAMES - 8, mid + 4, tool, 'text-anchor="end"'));
      out.push(`<rect x="${timeX}" y="${y}" width="${fmt(at(t.wall) - timeX, 1)}" height="${ROW}" fill="${colour(tool)}"/>`);
      out.push(`<path d="M${fmt(at(t.wallMin), 1)} ${mid}H${fmt(at(t.wallMax), 1)}M${fmt(at(t.wallMin), 1)} ${mid - 4}v8M${fmt(at(t.wallMax), 1)} ${mid - 4}v8" stroke="#222222" stroke-width="1.2" fill="none"/>`);
      out.push(text(at(t.wallMax) + 6, mid + 4, `${seconds(t.wall)} s`));
      out.push(`<rect x="${memX}" y="${y}" width="${fmt(rssWidth, 1)}" height="${ROW}" fill="${colour(tool)}"/>`);
      out.push(text(memX + rssWidth + 6, mid + 4, `${fmt(t.rss, 1)} MB`));
      out.push('</g>');
      y += STEP;
    }
  }
  const bottom = y + 4;
  // One memory scale for every scenario, with its grid behind the bars.
  const grid: string[] = [];
  for (let v = 0; v <= rssTop; v += step) {
    const x = memX + (v / rssTop) * plot;
    grid.push(`<path d="M${fmt(x, 1)} ${top}V${bottom}" stroke="#dddddd"/>`);
    grid.push(text(x, bottom + 14, fmt(v), 'text-anchor="middle" fill="#555555"'));
  }
  const height = bottom + 30;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12" fill="#222222">`,
    '<title>Wall time and peak memory per scenario and tool</title>',
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    ...grid,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}
