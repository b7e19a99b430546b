/** Listening TCP (and TLS) servers as promises. */
import type { Server } from 'node:net';

/**
 * Listens on `address`:`port` (0: the OS picks) and resolves the port it got; rejects with the
 * listen error (EADDRINUSE, EADDRNOTAVAIL, EAFNOSUPPORT), leaving nothing open. On '::' the
 * server takes IPv6 only: IPv4 addresses get servers of their own.
 */
export async function listenServer(server: Server, port: number, address: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: address, ipv6Only: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as { port: number }).port;
}

/** Closes `server` (no new connections) and resolves once it is closed; at once when it was not listening. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => server.close(() => resolve()));
}
