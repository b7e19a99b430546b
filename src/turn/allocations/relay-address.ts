/** Where a relay is bound (RFC 8656 §7.2): on the address the client reached (or the configured one), of the asked family. */
import { isIPv6 } from 'node:net';

/**
 * `localAddress` is the server address the client reached, `served` every address the server
 * listens on, `relayIp` the configured relay address. Undefined when no address of `family`
 * can be had (440 Address Family not Supported).
 */
export function relayAddressFor(
  localAddress: string,
  family: 4 | 6,
  served: readonly string[],
  relayIp: string | undefined,
): string | undefined {
  const wanted = (ip: string): boolean => (family === 6) === isIPv6(ip);
  if (relayIp) return wanted(relayIp) ? relayIp : undefined;
  const local = localAddress.replace(/^::ffff:/, '');
  if (wanted(local)) return local;
  return served.find((a) => wanted(a) && !a.startsWith('127.') && a !== '::1') ?? served.find(wanted);
}
