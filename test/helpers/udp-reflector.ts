/**
 * A UDP reflector for NAT-lab tests, run inside the lab's "internet" namespace:
 *   node udp-reflector.js HOST PORT1 PORT2 PORT3
 * On PORT1 and PORT2 it answers every datagram with the source address it saw ("ip:port").
 * A datagram "poke IP PORT" on PORT1 makes it send "unsolicited" to IP:PORT from PORT3, to
 * check whether a NAT lets in traffic from an address it never sent to.
 * Prints "ready" once bound. Stops by itself after 60 s.
 */
import { createSocket } from 'node:dgram';

const [host = '198.18.0.1', ...ports] = process.argv.slice(2);
const [p1, p2, p3] = ports.map(Number) as [number, number, number];
const third = createSocket('udp4');
let bound = 0;
const onBound = (): void => {
  if (++bound === 3) process.stdout.write('ready\n');
};
third.bind(p3, host, onBound);
for (const port of [p1, p2]) {
  const s = createSocket('udp4');
  s.on('message', (msg, rinfo) => {
    const text = msg.toString();
    const poke = /^poke (\S+) (\d+)$/.exec(text);
    if (poke) third.send('unsolicited', Number(poke[2]), poke[1]);
    else s.send(`${rinfo.address}:${rinfo.port}`, rinfo.port, rinfo.address);
  });
  s.bind(port, host, onBound);
}
setTimeout(() => process.exit(0), 60_000).unref();
setInterval(() => undefined, 1000);
