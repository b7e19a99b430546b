/**
 * The client side of a TURN 5-tuple (RFC 8656 §2): how the server sends back to one client
 * over the transport it came in on. UDP links share the listener's socket; TCP and TLS links
 * own their connection, and ChannelData on them is padded to 4 bytes (§12.5).
 */
import type { Socket as UdpSocket } from 'node:dgram';
import type { Socket } from 'node:net';

export type TransportKind = 'udp' | 'tcp' | 'tls';

export interface ClientLink {
  readonly kind: TransportKind;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The server address the client reached (the relay is bound on the same address). */
  readonly localAddress: string;
  send(buf: Buffer): void;
  sendChannelData(channel: number, data: Buffer): void;
  /** Ends the connection (stream links); nothing for UDP. */
  close(): void;
}

const PADDING = Buffer.alloc(3);

function channelHeader(channel: number, length: number): Buffer {
  const h = Buffer.allocUnsafe(4);
  h.writeUInt16BE(channel, 0);
  h.writeUInt16BE(length, 2);
  return h;
}

export class UdpLink implements ClientLink {
  readonly kind = 'udp';

  constructor(private readonly socket: UdpSocket, readonly localAddress: string, readonly remoteAddress: string, readonly remotePort: number) {}

  send(buf: Buffer): void {
    this.socket.send(buf, this.remotePort, this.remoteAddress);
  }

  sendChannelData(channel: number, data: Buffer): void {
    // Gathered send: no copy of the payload into a new frame.
    this.socket.send([channelHeader(channel, data.length), data], this.remotePort, this.remoteAddress);
  }

  close(): void {}
}

export class StreamLink implements ClientLink {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;

  constructor(readonly kind: 'tcp' | 'tls', private readonly socket: Socket) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = socket.localAddress ?? '';
  }

  send(buf: Buffer): void {
    if (this.socket.writable) this.socket.write(buf);
  }

  sendChannelData(channel: number, data: Buffer): void {
    if (!this.socket.writable) return;
    const pad = (4 - (data.length % 4)) % 4;
    this.socket.cork();
    this.socket.write(channelHeader(channel, data.length));
    this.socket.write(data);
    if (pad) this.socket.write(PADDING.subarray(0, pad));
    this.socket.uncork();
  }

  close(): void {
    this.socket.destroy();
  }
}
