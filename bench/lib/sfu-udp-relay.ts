/**
 * The reference for bench/sfu-forward.ts: a plain UDP relay doing the SFU's fan-out without
 * ICE, DTLS, SRTP or RTP parsing — every datagram that arrives is sent, unchanged, to each of
 * N destinations from the same socket. Same runtime (Node), same socket setup as the SFU's RTC
 * port (createUdpSocket: 4 MiB buffers, synchronous sends for IP literals), so the ratio
 * between the two isolates what the SFU adds per forwarded packet.
 *
 *   node dist/bench/lib/sfu-udp-relay.js 127.0.0.1:P1,127.0.0.1:P2,…
 *
 * Prints "relay listening on udp 127.0.0.1:PORT"; exits on SIGTERM or when stdin-less parent dies.
 */
import { createUdpSocket } from '../../src/net/udp.js';

const UDP_BUFFER_BYTES = 4 << 20;

const destinations = (process.argv[2] ?? '')
  .split(',')
  .filter(Boolean)
  .map((d) => {
    const i = d.lastIndexOf(':');
    const port = Number(d.slice(i + 1));
    if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`bad destination ${d}`);
    return { host: d.slice(0, i), port };
  });
if (destinations.length === 0) throw new Error('usage: sfu-udp-relay HOST:PORT[,HOST:PORT…]');

const socket = createUdpSocket('127.0.0.1', UDP_BUFFER_BYTES);
let received = 0;
socket.on('message', (msg) => {
  received++;
  for (const d of destinations) socket.send(msg, d.port, d.host);
});
socket.bind(0, '127.0.0.1', () => console.log(`relay listening on udp 127.0.0.1:${socket.address().port}`));
process.on('SIGTERM', () => {
  console.log(`relay received ${received}`);
  process.exit(0);
});
