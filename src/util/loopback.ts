/**
 * Names that mean loopback for the config's check of clear-text passwords: "localhost"
 * and literal loopback addresses. Not "*.localhost": a resolver may send such a name
 * anywhere. Whatever the name, the address connected to decides in the end
 * (isLoopbackAddress).
 */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || isLoopbackAddress(h);
}

/** 127.0.0.0/8, ::1, and IPv4 loopback as an IPv6-mapped address: a connection that stays on this machine. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.toLowerCase().replace(/^::ffff:/, '');
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a) || a === '::1' || a === '0:0:0:0:0:0:0:1';
}
