/** A UDP 5-tuple on one of the shared port's sockets (RFC 8445 §5.1.1.1 host candidate). */
import type { Socket as UdpSocket } from 'node:dgram';
import { sendDatagram } from '../../net/udp.js';
import type { IceLiteSession } from '../ice/IceLiteSession.js';
import type { RtcTuple } from '../ice/RtcTuple.js';

/**
 * When the socket's kernel buffer is full, libuv queues datagrams in user space without a
 * bound. Past this many queued (every tuple of the socket together: the machine is sending
 * faster than its interface drains), new datagrams are dropped and counted instead.
 */
export const UDP_MAX_SEND_QUEUE = 1024;

export class UdpTuple implements RtcTuple {
  readonly protocol = 'udp' as const;
  readonly id: string;
  /** The session whose valid check bound this tuple; null until then. */
  owner: IceLiteSession | null = null;
  /** `drops.sendQueueFull` counts datagrams dropped because the socket's user-space send queue was full (shared by the port). */
  constructor(
    private readonly socket: UdpSocket,
    readonly remoteAddress: string,
    readonly remotePort: number,
    private readonly drops: { sendQueueFull: number },
  ) {
    this.id = remoteAddress.includes(':') ? `udp:[${remoteAddress}]:${remotePort}` : `udp:${remoteAddress}:${remotePort}`;
  }

  sendControl(buf: Buffer): void {
    this.send(buf);
  }

  send(buf: Buffer): void {
    if (this.socket.getSendQueueCount() > UDP_MAX_SEND_QUEUE) {
      this.drops.sendQueueFull++;
      return;
    }
    // A refused send (the socket is closed) simply loses the datagram.
    sendDatagram(this.socket, buf, this.remotePort, this.remoteAddress);
  }
}
