/**
 * Which addresses the candidates carry when the port listens on a wildcard: every address
 * of the machine's non-internal interfaces of that family. IPv6 link-local addresses are left
 * out (they need a zone, which candidates cannot carry). With none, loopback stands in, so a
 * machine without a network (a test box) still gets a usable candidate.
 */
import { networkInterfaces } from 'node:os';

export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

export function defaultAnnouncedAddresses(listenAddresses: readonly string[]): string[] {
  const out: string[] = [];
  const add = (a: string): void => { if (!out.includes(a)) out.push(a); };
  for (const listen of listenAddresses) {
    if (!isWildcard(listen)) {
      add(listen);
      continue;
    }
    const family = listen === '::' ? 'IPv6' : 'IPv4';
    let found = false;
    for (const list of Object.values(networkInterfaces())) {
      for (const info of list ?? []) {
        if (info.internal || info.family !== family) continue;
        if (family === 'IPv6' && /^fe[89ab]/i.test(info.address)) continue;
        add(info.address);
        found = true;
      }
    }
    if (!found) add(family === 'IPv4' ? '127.0.0.1' : '::1');
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
  const out: string[] = [];
  for (const listen of listenAddresses) {
    if (!isWildcard(listen)) {
      if (!out.includes(listen)) out.push(listen);
      continue;
    }
    const family = listen === '::' ? 'IPv6' : 'IPv4';
    for (const list of Object.values(networkInterfaces())) {
      for (const info of list ?? []) {
        if (info.family !== family || (family === 'IPv6' && /^fe[89ab]/i.test(info.address))) continue;
        if (!out.includes(info.address)) out.push(info.address);
      }
    }
  }
  return out;
}
