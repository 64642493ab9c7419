import { readFileSync } from 'node:fs';
import type { AccountConfig } from '../config/load.js';
import { isLoopback } from '../config/paths.js';
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

/** Connects as the account says, and logs in with the given secret. */
export async function connectAndLogin(
  account: AccountConfig,
  secret: string,
  options: { trace?: TraceFn; lineEnds?: 'crlf' | 'lf' } = {},
): Promise<{ session: Pop3Session; method: string }> {
  const session = await Pop3Session.connect({
    host: account.host,
    port: account.port,
    tls: account.tls,
    tlsSettings: tlsSettingsFor(account),
    timeoutMs: account.timeoutMs,
    lineEnds: options.lineEnds ?? 'lf',
    trace: options.trace,
  });
  try {
    const method = await session.login({
      method: account.auth,
      user: account.user,
      secret,
      cleartextAllowed: session.secure || account.allowPlaintext || isLoopback(account.host),
    });
    session.client.setKeepalive(account.keepaliveMs);
    return { session, method };
  } catch (err) {
    session.destroy();
    throw err;
  }
}
