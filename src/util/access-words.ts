/**
 * The words for who, besides an entry's owner, can read or write it, and for an owner
 * pinchmail does not trust: one wording for the config and password checks
 * (config/secrets.ts) and for those of its own files and the Maildirs (private-path.ts).
 */

export const READ_BITS = 0o044;
export const WRITE_BITS = 0o022;
export const STICKY_BIT = 0o1000;

/** A mode as `ls -l` users write it for chmod: four octal digits. */
export function modeText(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** "its group", "others" or "its group and others", as `mask` (READ_BITS or WRITE_BITS, maybe narrowed) lets them in; null for nobody. */
export function whoCan(mode: number, mask: number): string | null {
  const group = (mode & mask & 0o070) !== 0;
  const others = (mode & mask & 0o007) !== 0;
  return group && others ? 'its group and others' : group ? 'its group' : others ? 'others' : null;
}

/** "owned by uid N, not by you (uid M)", with " or root" when root may own it too (and you are not root). */
export function ownedByAnother(owner: number, you: number, rootMayOwn: boolean): string {
  return `owned by uid ${owner}, not by you (uid ${you})${rootMayOwn && you !== 0 ? ' or root' : ''}`;
}
