/** CAPA (RFC 2449): capability name (upper-cased) → its arguments. */
export type Capabilities = ReadonlyMap<string, readonly string[]>;

export function parseCapabilities(lines: readonly string[]): Capabilities {
  const caps = new Map<string, string[]>();
  for (const line of lines) {
    const [name, ...args] = line.trim().split(/[ \t]+/);
    if (name) caps.set(name.toUpperCase(), args);
  }
  return caps;
}

/** SASL mechanisms the server offers, upper-cased. */
export function saslMechanisms(caps: Capabilities): Set<string> {
  return new Set((caps.get('SASL') ?? []).map((m) => m.toUpperCase()));
}
