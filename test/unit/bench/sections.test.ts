import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { demoteHeadings, keptSections, withSection } from '../../../bench/lib/sections.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-bench-sections-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('docs/benchmarks.md shared by bench:peers and bench:daemon', () => {
  it('puts a section at the end once, then replaces it in place', () => {
    const first = withSection('# Peers\n\nrows\n', 'daemon', '## Daemon\n\nold');
    expect(first).toContain('rows\n\n<!-- bench:daemon:');
    const page = `${first}\n## After\n`;
    const second = withSection(page, 'daemon', '## Daemon\n\nnew');
    expect(second).not.toContain('old');
    expect(second.indexOf('new')).toBeLessThan(second.indexOf('## After'));
    expect(second.match(/<!-- bench:daemon:/g)).toHaveLength(1);
    expect(withSection('', 'daemon', 'x')).toMatch(/^<!-- bench:daemon:.*-->\nx\n<!-- \/bench:daemon -->\n$/);
  });

  it('carries another benchmark\'s section over when bench:peers writes the page anew', () => {
    const file = path.join(dir, 'benchmarks.md');
    writeFileSync(file, withSection('# Peers\n\nold rows\n', 'daemon', '## Daemon\n\nkept'));
    const kept = keptSections(file);
    expect(kept).toHaveLength(1);
    expect(kept[0]).toContain('kept');
    expect(kept[0]).not.toContain('old rows');
    expect(keptSections(path.join(dir, 'none.md'))).toEqual([]);
  });

  it('demotes a page\'s headings to make it a section', () => {
    expect(demoteHeadings('# A\ntext # not\n## B')).toBe('## A\ntext # not\n### B');
  });
});
