/**
 * Addresses as the sockets give them: which interface addresses a wildcard stands for, a bound
 * socket's address, and the ends of an accepted connection.
 */
import type { Socket } from 'node:net';
import { networkInterfaces } from 'node:os';

export type IpFamily = 'IPv4' | 'IPv6';

export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/** Link-local IPv6 (fe80::/10, RFC 4291 §2.5.6) needs a zone that neither a bind nor a candidate carries. */
function isLinkLocalV6(address: string): boolean {
  return /^fe[89ab]/i.test(address);
}

/** This machine's addresses of `family`, link-local IPv6 left out; loopback ones only with `internal`. */
export function interfaceAddresses(family: IpFamily, internal: boolean): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) {
      if (info.family !== family || (info.internal && !internal) || (family === 'IPv6' && isLinkLocalV6(info.address))) continue;
      if (!out.includes(info.address)) out.push(info.address);
    }
  }
  return out;
}

/** A socket address with its IP version as a number (as STUN's TransportAddress has it). */
export interface SocketAddress {
  family: 4 | 6;
  address: string;
  port: number;
}

/** A bound socket's address (`socket.address()` of a UDP socket or a listening server). */
export function boundAddress(bound: { family: string; address: string; port: number }): SocketAddress {
  return { family: bound.family === 'IPv6' ? 6 : 4, address: bound.address, port: bound.port };
}

/** Both ends of an accepted TCP/TLS connection. */
export interface ConnectionEnds {
  remoteAddress: string;
  remotePort: number;
  /** Undefined only for a connection reset before it was read. */
  localAddress: string | undefined;
}

/**
 * Read at once when a connection is accepted: one reset before it was accepted has no remote
 * address, and later reads of a reset socket return undefined. Undefined when the remote end
 * is unknown (nothing can be answered).
 */
export function connectionEnds(sock: Socket): ConnectionEnds | undefined {
  const remoteAddress = sock.remoteAddress;
  const remotePort = sock.remotePort;
  if (!remoteAddress || !remotePort) return undefined;
  return { remoteAddress, remotePort, localAddress: sock.localAddress };
}

/** The addresses a listen address stands for: itself, or for a wildcard every address of its family (loopback included). */
export function expandWildcard(address: string): string[] {
  if (!isWildcard(address)) return [address];
  return interfaceAddresses(address === '::' ? 'IPv6' : 'IPv4', true);
}
