/**
 * UDP sockets for traffic (TURN listeners and relays, the RTC port): big kernel buffers, no DNS
 * lookup for the IP literals every send carries, binding as a promise, and sends that cannot
 * throw.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';

/**
 * Every address this server sends to is an IP literal (from a socket or an XOR address), so
 * "resolving" it is the identity. Node's default lookup defers each send by a tick through
 * dns.lookup; this one answers at once, which saves a tick and a closure per packet.
 */
function literalLookup4(address: string, family: unknown, callback: (err: Error | null, address: string, family: number) => void): void {
  callback(null, address, 4);
}
function literalLookup6(address: string, family: unknown, callback: (err: Error | null, address: string, family: number) => void): void {
  callback(null, address, 6);
}

/**
 * A UDP socket for `address`'s family (an IPv6 one is IPv6-only: the IPv4 addresses get sockets
 * of their own). Bursts (a keyframe, a GC pause) must wait in the kernel rather than be dropped:
 * the buffers are raised toward the system maximum (net.core.rmem_max caps what is granted;
 * coturn asks for the same).
 */
export function createUdpSocket(address: string, bufferBytes: number): UdpSocket {
  const buffers = { recvBufferSize: bufferBytes, sendBufferSize: bufferBytes };
  return isIPv6(address)
    ? createSocket({ type: 'udp6', ipv6Only: true, lookup: literalLookup6, ...buffers })
    : createSocket({ type: 'udp4', lookup: literalLookup4, ...buffers });
}

/**
 * Binds `socket` on `address`:`port` (0: the OS picks) and resolves the port it got. On failure
 * (the port is taken, the address is not ours) the socket is closed and the bind error rejected.
 */
export async function bindUdp(socket: UdpSocket, port: number, address: string): Promise<number> {
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    closeQuietly(socket);
    throw err;
  }
  return socket.address().port;
}

/**
 * Sends one datagram (or the buffers of one, gathered) without a callback: asynchronous
 * failures go to the socket's 'error' listener. False when Node refused it synchronously
 * (ERR_SOCKET_BAD_PORT, ERR_SOCKET_DGRAM_NOT_RUNNING on a closed socket): the datagram is lost,
 * never the process.
 */
export function sendDatagram(socket: UdpSocket, data: Buffer | readonly Buffer[], port: number, address: string): boolean {
  try {
    socket.send(data as Buffer, port, address);
    return true;
  } catch {
    return false;
  }
}

/** Closes `socket` and resolves once it is closed; at once when it was closed already. */
export function closeUdp(socket: UdpSocket): Promise<void> {
  return new Promise<void>((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // ERR_SOCKET_DGRAM_NOT_RUNNING: closed before
    }
  });
}

function closeQuietly(socket: UdpSocket): void {
  try {
    socket.close();
  } catch {
    // Already closed.
  }
}
