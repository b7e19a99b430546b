/**
 * A lossy UDP hop on loopback: datagrams from a client to `target` and back cross this proxy,
 * which drops each one with probability `loss` in either direction — a real lossy path between
 * a peer and the server (each packet is a real datagram on real sockets), without network
 * namespaces. One upstream socket per client source address, so the target sees one 5-tuple
 * per client, as behind a NAT. Loopback only.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

export interface LossyUdpProxy {
  readonly port: number;
  /** Datagrams offered in each direction, and how many of them were dropped. */
  readonly counts: { up: number; upDropped: number; down: number; downDropped: number };
  close(): void;
}

export async function startLossyUdpProxy(target: { address: string; port: number }, loss: number, random: () => number): Promise<LossyUdpProxy> {
  if (target.address !== '127.0.0.1') throw new Error('loopback targets only');
  const counts = { up: 0, upDropped: 0, down: 0, downDropped: 0 };
  const front = createSocket('udp4');
  const upstreams = new Map<string, Socket>();
  const upstreamFor = (client: RemoteInfo): Socket => {
    const key = `${client.address}:${client.port}`;
    let up = upstreams.get(key);
    if (up) return up;
    up = createSocket('udp4');
    up.on('message', (msg) => {
      counts.down++;
      if (random() < loss) counts.downDropped++;
      else front.send(msg, client.port, client.address);
    });
    up.on('error', () => undefined);
    up.bind(0, '127.0.0.1');
    upstreams.set(key, up);
    return up;
  };
  front.on('message', (msg, client) => {
    counts.up++;
    const up = upstreamFor(client);
    if (random() < loss) counts.upDropped++;
    else up.send(msg, target.port, target.address);
  });
  front.on('error', () => undefined);
  await new Promise<void>((resolve) => front.bind(0, '127.0.0.1', resolve));
  return {
    port: front.address().port,
    counts,
    close() {
      front.close();
      for (const s of upstreams.values()) s.close();
    },
  };
}

/** The server's UDP host candidates on `rtcPort` moved to the proxy's port; TCP candidates removed. */
export function viaProxy(sdp: string, rtcPort: number, proxyPort: number): string {
  return sdp
    .split('\r\n')
    .filter((l) => !(l.startsWith('a=candidate:') && / tcp /i.test(l)))
    .map((l) => (l.startsWith('a=candidate:') ? l.replace(new RegExp(` 127\\.0\\.0\\.1 ${rtcPort} typ host`), ` 127.0.0.1 ${proxyPort} typ host`) : l))
    .join('\r\n');
}
