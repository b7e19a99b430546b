/** Bridges a DtlsTransport to a UDP socket on loopback, and pairs transports in process. */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { DatagramLink } from '../../src/rtc/dtls/index.js';

export interface UdpBridge {
  socket: Socket;
  port: number;
  /** The link a DtlsTransport sends on; goes to `peer` once known. */
  link: DatagramLink;
  setPeer(port: number): void;
  close(): Promise<void>;
}

/**
 * A UDP socket on 127.0.0.1. Datagrams from 127.0.0.1 go to `onDatagram`; the first
 * sender becomes the peer if none was set (server side).
 */
export async function openUdpBridge(onDatagram: (buf: Buffer) => void): Promise<UdpBridge> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  let peerPort: number | undefined;
  socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    if (rinfo.address !== '127.0.0.1') return;
    peerPort ??= rinfo.port;
    if (rinfo.port === peerPort) onDatagram(msg);
  });
  return {
    socket,
    port: socket.address().port,
    link: {
      send: (buf) => {
        if (peerPort !== undefined) socket.send(buf, peerPort, '127.0.0.1');
      },
    },
    setPeer: (port) => {
      peerPort = port;
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A free UDP port on 127.0.0.1 (bound, read, released; a small race is acceptable in tests). */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** An in-process lossless link: delivery on a later macrotask, as a network would. */
export function pairLinks(): {
  a: DatagramLink;
  b: DatagramLink;
  connect(toA: (buf: Buffer) => void, toB: (buf: Buffer) => void): void;
  counts: { aToB: number; bToA: number };
} {
  let deliverToA: (buf: Buffer) => void = () => undefined;
  let deliverToB: (buf: Buffer) => void = () => undefined;
  const counts = { aToB: 0, bToA: 0 };
  return {
    a: {
      send: (buf) => {
        counts.aToB++;
        const copy = Buffer.from(buf);
        setImmediate(() => deliverToB(copy));
      },
    },
    b: {
      send: (buf) => {
        counts.bToA++;
        const copy = Buffer.from(buf);
        setImmediate(() => deliverToA(copy));
      },
    },
    connect: (toA, toB) => {
      deliverToA = toA;
      deliverToB = toB;
    },
    counts,
  };
}
