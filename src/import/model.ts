/**
 * What an import makes of another fetcher's files, before anything is written: pinchmail
 * accounts as a config file holds them, the UIDLs the other fetcher recorded, and every
 * line that has no pinchmail equivalent. Pure data: the parsers fill it, the writer
 * (which alone decides where a password goes) reads it.
 */

/** A line of the source that is not carried over, and why: "FILE:LINE: TEXT: WHY". */
export interface Untranslated {
  file: string;
  line: number;
  text: string;
  why: string;
}

export interface ImportedAccount {
  /** The account's name in pinchmail (letters, digits, . _ -). */
  name: string;
  /** The account as pinchmail's config file would hold it, password aside. */
  account: Record<string, unknown>;
  /** The password as the source spelled it inline: never written where others can read it. */
  inlinePassword?: string;
  /** Where the source keeps this account's UIDLs, when it keeps them per account. */
  seenFile?: string;
  /**
   * Why the account cannot go into the config as it stands (no host, a delivery with no
   * equivalent): it is left out and said so, its UIDLs still imported, so an account
   * added by hand later delivers nothing twice.
   */
  incomplete?: string;
  /**
   * Where the source gets the password when its file holds none (a key ring, ~/.netrc, a
   * prompt): pinchmail asks nobody, so the account reads it from an environment variable.
   */
  askedPassword?: string;
}

/** The UIDLs another fetcher recorded for one account, and the file they came from. */
export interface SeenState {
  file: string;
  uidls: SeenUidl[];
  /**
   * Other spellings the server may list some of them by, recorded as delivered as well:
   * getmail writes a UIDL's "/" as "-", so "a-b" may be the server's "a/b".
   */
  alternates?: SeenUidl[];
}

/** One account of the source with what it had seen, or why there is nothing ("FILE is not there"). */
export type SourceAccount = { imported: ImportedAccount; seen: SeenState } | { imported: ImportedAccount; seen: null; missing: string };

/** A UIDL the other fetcher recorded, with when it first saw it (ms since the epoch) when it says. */
export interface SeenUidl {
  uidl: string;
  firstSeen: number | null;
}

/**
 * `table[key]` for a key from the other fetcher's file: only the table's own entries, so a
 * word like "constructor" or "toString" is a word it does not know, not a JavaScript builtin.
 */
export const own = <T>(table: Readonly<Record<string, T>>, key: string): T | undefined => (Object.hasOwn(table, key) ? table[key] : undefined);

export const untranslatedLine = (u: Untranslated): string => `${u.file}:${u.line}: ${u.text}: ${u.why}`;

/** A name pinchmail accepts, made from another tool's (which may hold @, spaces and more). */
export function accountName(raw: string): string {
  const name = raw.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._-]+/, '');
  return name || 'account';
}
