/**
 * The NAT-lab client, run behind a NAT: from ONE socket it asks the reflector on two ports
 * which public address it sees, then asks for an unsolicited datagram from a third port.
 *   node udp-probe.js HOST PORT1 PORT2
 * Prints JSON: {"mapped":["ip:port","ip:port"],"unsolicitedArrived":bool}
 */
import { createSocket } from 'node:dgram';

const [host = '198.18.0.1', a = '0', b = '0'] = process.argv.slice(2);
const sock = createSocket('udp4');
const mapped: string[] = [];
let unsolicited = false;

function ask(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer from ${host}:${port}`)), 3000);
    sock.once('message', (m) => {
      clearTimeout(t);
      resolve(m.toString());
    });
    sock.send('hello', port, host);
  });
}

/** Prints the result and exits; every failure is caught and reported. */
async function probe(): Promise<void> {
  try {
    mapped.push(await ask(Number(a)));
    mapped.push(await ask(Number(b)));
    const [ip, port] = (mapped[0] as string).split(':') as [string, string];
    sock.on('message', (m) => {
      if (m.toString() === 'unsolicited') unsolicited = true;
    });
    sock.send(`poke ${ip} ${port}`, Number(a), host);
    await new Promise((r) => setTimeout(r, 700));
    process.stdout.write(JSON.stringify({ mapped, unsolicitedArrived: unsolicited }) + '\n');
    process.exit(0);
  } catch (err) {
    process.stderr.write(String(err) + '\n');
    process.exit(1);
  }
}

sock.bind(0, () => void probe());
