/**
 * The client side of a TURN 5-tuple (RFC 8656 §2): how the server sends back to one client
 * over the transport it came in on. UDP links share the listener's socket; TCP and TLS links
 * own their connection, and ChannelData on them is padded to 4 bytes (§12.5).
 *
 * No send can throw: a UDP send to an address Node refuses (port 0) or on a closed socket is
 * counted and lost. A stream link holds at most `maxBuffered` bytes that the client has not
 * read yet (socket.writableLength): past that, relayed media is dropped and counted, and a
 * control answer (a STUN response or indication) closes the connection — a client that
 * does not read its answers cannot make the server hold them without bound.
 */
import type { Socket as UdpSocket } from 'node:dgram';
import type { Socket } from 'node:net';
import { sendDatagram } from '../net/udp.js';

export type TransportKind = 'udp' | 'tcp' | 'tls';

export interface LinkCounters {
  /** UDP sends Node refused (bad port, closed socket): the datagram was lost. */
  sendFailures: number;
  /** Relayed packets dropped because the client's stream was over its buffer cap. */
  slowReaderDrops: number;
  /** Stream connections closed because a control answer found them over their buffer cap. */
  slowReaderCloses: number;
}

export interface ClientLink {
  readonly kind: TransportKind;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The server address the client reached (the relay is bound on the same address). */
  readonly localAddress: string;
  /** A control message (a response, ConnectionAttempt): must arrive, or the link closes. */
  send(buf: Buffer): void;
  /** Relayed media (a Data indication): dropped when the client is not keeping up. */
  sendData(buf: Buffer): void;
  sendChannelData(channel: number, data: Buffer): void;
  /** Ends the connection (stream links); nothing for UDP. */
  close(): void;
}

/** Default cap of unread bytes toward one TCP/TLS client: ~0.4 s of 10 Mbit/s relayed media. */
export const STREAM_MAX_BUFFERED_BYTES = 512 * 1024;

const PADDING = Buffer.alloc(3);

function channelHeader(channel: number, length: number): Buffer {
  const h = Buffer.allocUnsafe(4);
  h.writeUInt16BE(channel, 0);
  h.writeUInt16BE(length, 2);
  return h;
}

export class UdpLink implements ClientLink {
  readonly kind = 'udp';

  constructor(
    private readonly socket: UdpSocket,
    readonly localAddress: string,
    readonly remoteAddress: string,
    readonly remotePort: number,
    private readonly counters: LinkCounters,
  ) {}

  send(buf: Buffer): void {
    if (!sendDatagram(this.socket, buf, this.remotePort, this.remoteAddress)) this.counters.sendFailures++;
  }

  sendData(buf: Buffer): void {
    this.send(buf);
  }

  sendChannelData(channel: number, data: Buffer): void {
    // Gathered send: no copy of the payload into a new frame.
    if (!sendDatagram(this.socket, [channelHeader(channel, data.length), data], this.remotePort, this.remoteAddress))
      this.counters.sendFailures++;
  }

  close(): void {}
}

export class StreamLink implements ClientLink {
  constructor(
    readonly kind: 'tcp' | 'tls',
    private readonly socket: Socket,
    /** Read once when the connection was accepted (later reads may be undefined once it is reset). */
    readonly remoteAddress: string,
    readonly remotePort: number,
    readonly localAddress: string,
    private readonly maxBuffered: number,
    private readonly counters: LinkCounters,
  ) {}

  send(buf: Buffer): void {
    const s = this.socket;
    if (!s.writable) return;
    if (s.writableLength > this.maxBuffered) {
      this.counters.slowReaderCloses++;
      s.destroy();
      return;
    }
    s.write(buf);
  }

  /** False (and counted) when the client is over its cap: the media is dropped. */
  private roomForMedia(): boolean {
    const s = this.socket;
    if (!s.writable) return false;
    if (s.writableLength <= this.maxBuffered) return true;
    this.counters.slowReaderDrops++;
    return false;
  }

  sendData(buf: Buffer): void {
    if (this.roomForMedia()) this.socket.write(buf);
  }

  sendChannelData(channel: number, data: Buffer): void {
    if (!this.roomForMedia()) return;
    const s = this.socket;
    const pad = (4 - (data.length % 4)) % 4;
    s.cork();
    s.write(channelHeader(channel, data.length));
    s.write(data);
    if (pad) s.write(PADDING.subarray(0, pad));
    s.uncork();
  }

  close(): void {
    this.socket.destroy();
  }
}
