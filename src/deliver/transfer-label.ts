import type { MailTransferTarget } from '../config/types.js';

/**
 * What logs and errors call an LMTP or SMTP target. In a file of its own so that naming
 * one does not load nodemailer's client (src/deliver/smtp.ts).
 */
export function mailTransferLabel(config: MailTransferTarget): string {
  const where = 'path' in config.address ? `unix:${config.address.path}` : `${config.address.host}:${config.address.port}`;
  return `${config.kind.toUpperCase()} ${where} to ${config.to}`;
}
