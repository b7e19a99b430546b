/**
 * Which addresses the port binds and announces when it listens on a wildcard.
 */
import { expandWildcard, interfaceAddresses, isWildcard } from '../../net/address.js';

/**
 * The addresses candidates carry: every address of the machine's non-internal interfaces of
 * the wildcard's family. IPv6 link-local addresses are left out (they need a zone, which
 * candidates cannot carry). With none, loopback stands in, so a machine without a network (a
 * test box) still gets a usable candidate.
 */
export function defaultAnnouncedAddresses(listenAddresses: readonly string[]): string[] {
  const out: string[] = [];
  const add = (a: string): void => {
    if (!out.includes(a)) out.push(a);
  };
  for (const listen of listenAddresses) {
    if (!isWildcard(listen)) {
      add(listen);
      continue;
    }
    const v6 = listen === '::';
    const found = interfaceAddresses(v6 ? 'IPv6' : 'IPv4', false);
    for (const a of found) add(a);
    if (found.length === 0) add(v6 ? '::1' : '127.0.0.1');
  }
  return out;
}

/**
 * The addresses to bind UDP sockets on: a wildcard becomes every address of its family
 * (loopback included). A wildcard UDP socket answers from whatever source address the kernel
 * picks for the route back, which on a machine with several addresses may not be the address
 * the browser checked — and ICE drops a response from any other address (RFC 8445 §7.2.5.2.1).
 */
export function udpBindAddresses(listenAddresses: readonly string[]): string[] {
  return [...new Set(listenAddresses.flatMap(expandWildcard))];
}
