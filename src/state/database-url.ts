/** In a file of its own so that showing a PostgreSQL URL does not load the pg client. */

/** The URL as messages show it: its password, if it has one, never. */
export function redacted(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'a PostgreSQL database (its URL does not parse)';
  }
}
