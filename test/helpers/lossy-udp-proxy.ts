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

export async function startLossyUdpProxy(
  target: { address: string; port: number },
  loss: number,
  random: () => number,
): Promise<LossyUdpProxy> {
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

/**
 * The offer's candidates replaced by one UDP host candidate at the proxy (127.0.0.1): every
 * packet of that connection then crosses the proxy, and nothing goes to any other address.
 */
export function viaProxy(sdp: string, proxyPort: number): string {
  let placed = false;
  return sdp
    .split('\r\n')
    .flatMap((l) => {
      if (!l.startsWith('a=candidate:')) return [l];
      if (placed) return [];
      placed = true;
      return [`a=candidate:1 1 udp 2122914815 127.0.0.1 ${proxyPort} typ host`];
    })
    .join('\r\n');
}
