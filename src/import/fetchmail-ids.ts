/** .fetchids: uid.c's initialize_saved_lists. */
import type { SeenUidl, Untranslated } from './model.js';

/**
 * A .fetchids file: one "USER@HOST UIDL" line per message fetchmail saw and left on the
 * server (HOST is the entry's via, else its poll name). As uid.c splits it: the user@host
 * part ends at the first space after the first @, and splits at its last @ (a user may
 * hold @ and spaces, a UIDL @); the UIDL ends at a blank. fetchmail matches user and host
 * case-insensitively, so lines differing only in case are one mailbox, spelled as first seen.
 */
export function parseFetchids(text: string, file: string): { entries: { user: string; host: string; uidls: SeenUidl[] }[]; problems: Untranslated[] } {
  const byKey = new Map<string, { user: string; host: string; uidls: SeenUidl[]; seen: Set<string> }>();
  const problems: Untranslated[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const [i, raw] of lines.entries()) {
    const line = raw.replace(/\r$/, '');
    const parsed = fetchidsLine(line);
    if (!parsed) {
      // fetchmail skips a line it cannot split; so does the import, saying so (a blank line it never writes, so says nothing).
      if (line.trim() !== '') problems.push({ file, line: i + 1, text: line, why: 'not a "USER@HOST UIDL" line; fetchmail ignores it too' });
      continue;
    }
    const key = `${parsed.user.toLowerCase()}@${parsed.host.toLowerCase()}`;
    const box = byKey.get(key) ?? { user: parsed.user, host: parsed.host, uidls: [], seen: new Set<string>() };
    byKey.set(key, box);
    if (box.seen.has(parsed.uidl)) continue;
    box.seen.add(parsed.uidl);
    // .fetchids records no times: each UIDL counts from the import.
    box.uidls.push({ uidl: parsed.uidl, firstSeen: null });
  }
  return { entries: [...byKey.values()].map(({ user, host, uidls }) => ({ user, host, uidls })), problems };
}

function fetchidsLine(line: string): { user: string; host: string; uidl: string } | null {
  const start = line.length - line.replace(/^[ \t]+/, '').length;
  const firstAt = line.indexOf('@', start);
  const space = firstAt < 0 ? -1 : line.indexOf(' ', firstAt);
  if (space < 0) return null;
  const userHost = line.slice(start, space).replace(/[ \t]+$/, '');
  const uidl = line.slice(space).replace(/^ +/, '').split(/[ \t]/)[0]!;
  const lastAt = userHost.lastIndexOf('@');
  const user = userHost.slice(0, lastAt);
  const host = userHost.slice(lastAt + 1);
  if (!uidl || !host) return null;
  return { user, host, uidl };
}
