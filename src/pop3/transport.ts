import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { Pop3Error, abortReason } from './errors.js';
import { answeredInPlainText, untrustedCertificate } from './tls-trust.js';

export interface TlsSettings {
  /** PEM certificates to trust instead of the system store. */
  ca?: string | Buffer;
  /** Name to send as SNI and to check the certificate against, instead of the host. */
  servername?: string;
  /** "sha256:HEX": accept exactly this certificate, whoever signed it. */
  fingerprint?: string;
  /** Accept any certificate. Only ever set by an explicit config switch. */
  insecure?: boolean;
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME']);

function errnoText(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
}

/**
 * Calls `onAbort` when `signal` fires (at once if it has); returns the function that stops
 * listening, for when the work is done.
 */
function whenAborted(signal: AbortSignal | undefined, onAbort: (reason: Pop3Error) => void): () => void {
  if (!signal) return () => {};
  const listener = (): void => onAbort(abortReason(signal));
  if (signal.aborted) {
    queueMicrotask(listener);
    return () => {};
  }
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}

/** Opens a TCP connection, mapping every failure to DNS, CONNECT or TIMEOUT; `signal` abandons it. */
export function openTcp(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      stopListening();
      socket.destroy();
      reject(new Pop3Error('TIMEOUT', `connecting to ${host}:${port} timed out after ${Math.round(timeoutMs / 1000)}s`));
    }, timeoutMs);
    const stopListening = whenAborted(signal, (reason) => {
      clearTimeout(timer);
      socket.destroy();
      reject(reason);
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      stopListening();
      socket.off('error', onError);
      socket.setNoDelay(true);
      resolve(socket);
    });
    const onError = (err: Error): void => {
      clearTimeout(timer);
      stopListening();
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (DNS_CODES.has(code)) {
        reject(new Pop3Error('DNS', `cannot resolve ${host}: ${code}`, { cause: err }));
      } else {
        reject(new Pop3Error('CONNECT', `cannot connect to ${host}:${port}: ${errnoText(err)}`, { cause: err }));
      }
    };
    socket.once('error', onError);
  });
}

/** "sha256:AB:CD..." or "AB CD..." → "ABCD...". */
export function normaliseFingerprint(pin: string): string {
  return pin.replace(/^sha256:/i, '').replace(/[^0-9a-f]/gi, '').toUpperCase();
}

export interface TlsStart {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** POP3S on connect (a plain-text answer then means the port speaks POP3 in clear), not STLS. */
  implicitOnPort?: number;
}

/**
 * Runs a TLS handshake over `raw` (a fresh TCP socket for POP3S, or the plain
 * connection after STLS). Certificates are verified unless the settings pin a
 * fingerprint (then exactly that certificate is accepted) or say insecure.
 *
 * The verdict is taken here, once the handshake is done and before a byte of POP3 is
 * sent (Node still checks the chain and the name, and says why in authorizationError):
 * so a refusal can name the certificate's fingerprint, ready to pin.
 */
export function startTlsOn(raw: Duplex, host: string, settings: TlsSettings, start: TlsStart): Promise<tls.TLSSocket> {
  const { timeoutMs, signal } = start;
  const pin = settings.fingerprint ? normaliseFingerprint(settings.fingerprint) : null;
  const name = settings.servername ?? host;
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      socket: raw,
      host: name,
      // SNI carries names only; for an IP address the certificate is still checked against it.
      ...(net.isIP(name) === 0 ? { servername: name } : {}),
      ...(settings.ca !== undefined ? { ca: settings.ca } : {}),
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    });
    const timer = setTimeout(() => {
      stopListening();
      socket.destroy();
      reject(new Pop3Error('TIMEOUT', `TLS handshake with ${host} timed out after ${Math.round(timeoutMs / 1000)}s`));
    }, timeoutMs);
    const stopListening = whenAborted(signal, (reason) => {
      clearTimeout(timer);
      socket.destroy();
      raw.destroy();
      reject(reason);
    });
    const onError = (err: Error): void => {
      clearTimeout(timer);
      stopListening();
      socket.destroy();
      if (start.implicitOnPort !== undefined && answeredInPlainText(err)) {
        const where = `${host}:${start.implicitOnPort}`;
        reject(new Pop3Error('TLS', `${where} answered in plain text, not TLS: try "tls": "starttls" (or "none" where clear text is safe)`, { cause: err }));
        return;
      }
      reject(new Pop3Error('TLS', `TLS handshake with ${host} failed: ${errnoText(err)}`, { cause: err }));
    };
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      stopListening();
      socket.off('error', onError);
      // Read before the socket is destroyed: after, it has no certificate to show.
      const refusal = refusalOf(socket, host, pin, settings.insecure === true);
      if (refusal) {
        socket.destroy();
        reject(new Pop3Error('TLS', refusal));
      } else {
        resolve(socket);
      }
    });
  });
}

/** Why a finished handshake must not be used, or null: a pin not matched, or (unless insecure) a certificate not trusted. */
function refusalOf(socket: tls.TLSSocket, host: string, pin: string | null, insecure: boolean): string | null {
  if (pin) {
    const seen = normaliseFingerprint(socket.getPeerCertificate().fingerprint256 ?? '');
    return seen === pin ? null : `certificate of ${host} does not match the pinned fingerprint (got sha256:${seen})`;
  }
  return insecure || socket.authorized ? null : untrustedCertificate(host, socket);
}
