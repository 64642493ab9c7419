import { PinchmailError } from '../errors.js';
import { Pop3Error } from '../pop3/errors.js';

/** sysexits.h, as SPEC.md uses them. */
export const EXIT = {
  OK: 0,
  USAGE: 64,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  CANTCREAT: 73,
  TEMPFAIL: 75,
  PROTOCOL: 76,
  NOPERM: 77,
  CONFIG: 78,
} as const;

/** The one place where a typed failure becomes an exit status. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof Pop3Error) {
    switch (err.code) {
      case 'DNS':
      case 'CONNECT':
      case 'TLS':
      case 'SYS_PERM':
        return EXIT.UNAVAILABLE;
      case 'TIMEOUT':
      case 'CLOSED':
      case 'IN_USE':
      case 'LOGIN_DELAY':
      case 'SYS_TEMP':
      case 'ABORTED':
        return EXIT.TEMPFAIL;
      case 'PROTOCOL':
      case 'REFUSED':
      case 'UNSUPPORTED':
        return EXIT.PROTOCOL;
      case 'AUTH':
        return EXIT.NOPERM;
      case 'INSECURE':
        return EXIT.CONFIG;
    }
  }
  if (err instanceof PinchmailError) {
    switch (err.code) {
      case 'USAGE':
        return EXIT.USAGE;
      case 'CONFIG':
      case 'STATE_ACCESS':
      case 'DELIVERY_UNUSABLE':
        return EXIT.CONFIG;
      case 'DELIVERY_PERMANENT':
        return EXIT.CANTCREAT;
      case 'LOCKED':
      case 'STATE_BUSY':
      case 'DISK_FULL':
      case 'DELIVERY':
      case 'INTERRUPTED':
        return EXIT.TEMPFAIL;
      case 'STATE_CORRUPT':
      case 'INTERNAL':
        return EXIT.SOFTWARE;
    }
  }
  return EXIT.SOFTWARE;
}

const KIND: Record<number, string> = {
  [EXIT.USAGE]: 'usage error',
  [EXIT.UNAVAILABLE]: 'server unavailable',
  [EXIT.SOFTWARE]: 'internal error',
  [EXIT.CANTCREAT]: 'delivery refused for good',
  [EXIT.TEMPFAIL]: 'temporary failure',
  [EXIT.PROTOCOL]: 'protocol error',
  [EXIT.NOPERM]: 'authentication failed',
  [EXIT.CONFIG]: 'configuration error',
};

/** One readable line for a failure: what kind, what exactly. */
export function describeFailure(err: unknown): string {
  const code = exitCodeFor(err);
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof PinchmailError && err.code === 'LOCKED') return message;
  const kind = KIND[code] ?? 'failed';
  return message.startsWith(kind) ? message : `${kind}: ${message}`;
}
