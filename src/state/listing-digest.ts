import { createHash } from 'node:crypto';

/**
 * Names a server listing by its UIDLs in server order, so the store can tell a listing
 * it has already recorded (see StateStore.snapshot). A UIDL holds no newline (RFC 1939
 * allows 0x21-0x7E), so joining on one is unambiguous.
 */
export function listingDigest(listing: readonly { uidl: string }[]): string {
  return createHash('sha256')
    .update(listing.map((m) => m.uidl).join('\n'))
    .digest('base64');
}
