/** A UDP 5-tuple on one of the shared port's sockets (RFC 8445 §5.1.1.1 host candidate). */
import type { Socket as UdpSocket } from 'node:dgram';
import type { IceLiteSession } from '../ice/IceLiteSession.js';
import type { RtcTuple } from '../ice/RtcTuple.js';

export class UdpTuple implements RtcTuple {
  readonly protocol = 'udp' as const;
  readonly id: string;
  /** The session whose valid check bound this tuple; null until then. */
  owner: IceLiteSession | null = null;

  constructor(private readonly socket: UdpSocket, readonly remoteAddress: string, readonly remotePort: number) {
    this.id = remoteAddress.includes(':') ? `udp:[${remoteAddress}]:${remotePort}` : `udp:${remoteAddress}:${remotePort}`;
  }

  sendControl(buf: Buffer): void {
    this.send(buf);
  }

  send(buf: Buffer): void {
    try {
      // No callback: asynchronous failures go to the socket's 'error' listener.
      this.socket.send(buf, this.remotePort, this.remoteAddress);
    } catch {
      // The socket is closed (ERR_SOCKET_DGRAM_NOT_RUNNING): the datagram is simply lost.
    }
  }
}
