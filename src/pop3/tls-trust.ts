import type tls from 'node:tls';

/**
 * Words a person can act on for what goes wrong in a TLS handshake: the reason a
 * certificate is not trusted, with its fingerprint ready for `tlsOptions.fingerprint`
 * (as `mpop -S` shows it), and a server that answered in plain text.
 */

/** OpenSSL's ways of saying the first bytes were no TLS record (a POP3 greeting, say). */
const PLAIN_TEXT_CODES = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_HTTP_REQUEST', 'ERR_SSL_RECORD_LAYER_FAILURE']);

export function answeredInPlainText(err: Error): boolean {
  return PLAIN_TEXT_CODES.has(String((err as NodeJS.ErrnoException).code));
}

/** OpenSSL's and Node's verification codes, in a few words. */
const REASONS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'its chain ends in a self-signed certificate that is not trusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'signed by an authority that is not trusted',
  UNABLE_TO_GET_ISSUER_CERT: 'signed by an authority that is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'signed by an authority that is not trusted',
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not valid yet',
  CERT_REVOKED: 'revoked',
  ERR_TLS_CERT_ALTNAME_INVALID: 'issued for another name',
};

/** Why `socket`'s certificate is not trusted, its SHA-256 fingerprint, and the pin that would accept exactly it. */
export function untrustedCertificate(host: string, socket: tls.TLSSocket): string {
  const code = String(socket.authorizationError ?? 'not verified');
  const reason = REASONS[code] ?? code;
  const names = code === 'ERR_TLS_CERT_ALTNAME_INVALID' ? `: ${certificateNames(socket)}` : '';
  const pin = `sha256:${socket.getPeerCertificate()?.fingerprint256 ?? '(none shown)'}`;
  return (
    `the certificate of ${host} is not trusted (${reason}${names}); if you know it is the server's own, ` +
    `accept exactly it with "tlsOptions": { "fingerprint": "${pin}" }, or trust its issuer with "tlsOptions": { "ca": FILE }`
  );
}

function certificateNames(socket: tls.TLSSocket): string {
  const cert = socket.getPeerCertificate() ?? {};
  return cert.subjectaltname ? `it names ${cert.subjectaltname}` : `it names ${cert.subject?.CN ?? 'no one'}`;
}
