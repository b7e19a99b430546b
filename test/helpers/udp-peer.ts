/** A UDP socket on loopback (or `host`) that keeps every datagram it receives: a TURN peer in tests. */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';

export async function udpPeer(host = '127.0.0.1'): Promise<{ sock: UdpSocket; port: number; got: Buffer[] }> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, host, r));
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  return { sock, port: sock.address().port, got };
}
