import { readFileSync } from 'node:fs';
import type { AccountConfig } from '../config/types.js';
import { isLoopbackAddress } from '../util/loopback.js';
import { ConfigError, errorMessage } from '../errors.js';
import type { TraceFn } from '../pop3/client.js';
import { Pop3Session } from '../pop3/session.js';
import type { TlsSettings } from '../pop3/transport.js';

export function tlsSettingsFor(account: AccountConfig): TlsSettings {
  const { caFile, servername, fingerprint, insecure } = account.tlsOptions;
  let ca: Buffer | undefined;
  if (caFile) {
    try {
      ca = readFileSync(caFile);
    } catch (err) {
      throw new ConfigError(`${account.path}.tlsOptions.ca`, `cannot read ${caFile}: ${errorMessage(err)}`);
    }
  }
  return {
    ...(ca ? { ca } : {}),
    ...(servername ? { servername } : {}),
    ...(fingerprint ? { fingerprint } : {}),
    insecure,
  };
}

/**
 * Connects as the account says, and logs in with the given secret. `signal` ends the
 * session at once, in whatever phase, with its reason (see Pop3Session.connect).
 */
export async function connectAndLogin(
  account: AccountConfig,
  secret: string,
  options: { trace?: TraceFn; lineEnds?: 'crlf' | 'lf'; signal?: AbortSignal } = {},
): Promise<{ session: Pop3Session; method: string }> {
  const session = await Pop3Session.connect({
    host: account.host,
    port: account.port,
    tls: account.tls,
    tlsSettings: tlsSettingsFor(account),
    timeoutMs: account.timeoutMs,
    lineEnds: options.lineEnds ?? 'lf',
    trace: options.trace,
    secret,
    signal: options.signal,
  });
  try {
    const method = await session.login({
      method: account.auth,
      user: account.user,
      secret,
      // The address connected to, not the name: "x.localhost" may resolve anywhere.
      cleartextAllowed: session.secure || account.allowPlaintext || isLoopbackAddress(session.remoteAddress),
    });
    session.client.setKeepalive(account.keepaliveMs);
    return { session, method };
  } catch (err) {
    session.destroy();
    throw err;
  }
}
