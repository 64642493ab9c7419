/** sysexits.h's names, for saying what a delivery command's status means. */
export const SYSEXIT_NAMES: Readonly<Record<number, string>> = {
  64: 'EX_USAGE',
  65: 'EX_DATAERR',
  66: 'EX_NOINPUT',
  67: 'EX_NOUSER',
  68: 'EX_NOHOST',
  69: 'EX_UNAVAILABLE',
  70: 'EX_SOFTWARE',
  71: 'EX_OSERR',
  72: 'EX_OSFILE',
  73: 'EX_CANTCREAT',
  74: 'EX_IOERR',
  75: 'EX_TEMPFAIL',
  76: 'EX_PROTOCOL',
  77: 'EX_NOPERM',
  78: 'EX_CONFIG',
};

/**
 * The statuses an MDA uses to say the message will never be taken as it is (procmail,
 * maildrop, dovecot-lda, sendmail's mailers): retrying cannot help. Anything else (75
 * EX_TEMPFAIL, 1, 69-74, a signal, a timeout) may pass by itself.
 */
export const PERMANENT_SYSEXITS: readonly number[] = [64, 65, 66, 67, 68, 77, 78];
