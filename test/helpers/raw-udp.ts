/**
 * Sends UDP datagrams with any source port (0 included) to loopback, which Node's dgram cannot:
 * python3 builds the IPv4 and UDP headers and writes them on a raw socket (needs root, as the
 * test machines run). Loopback only. Without python3 this throws: a test that needs it must
 * fail, not skip (`.ci/run` installs python3).
 */
import { spawn } from 'node:child_process';

const SCRIPT = `
import socket, struct, sys
src, dst = sys.argv[1], sys.argv[2]
sport, dport, count = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
payload = bytes.fromhex(sys.argv[6])
def csum(b):
    if len(b) % 2: b += b'\\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
ulen = 8 + len(payload)
pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 17, ulen)
c = csum(pseudo + struct.pack('!HHHH', sport, dport, ulen, 0) + payload) or 0xffff
udp = struct.pack('!HHHH', sport, dport, ulen, c) + payload
ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + ulen, 0, 0x4000, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for _ in range(count): s.sendto(ip + udp, (dst, 0))
`;

export interface RawUdp {
  /** Source port; 0 is the point. */
  sourcePort: number;
  destinationPort: number;
  payload: Buffer;
  /** How many copies; default 1. */
  count?: number;
  /** Loopback only: 127.0.0.0/8. Default 127.0.0.1 both ways. */
  source?: string;
  destination?: string;
}

export async function sendRawUdp(o: RawUdp): Promise<void> {
  const source = o.source ?? '127.0.0.1';
  const destination = o.destination ?? '127.0.0.1';
  for (const a of [source, destination]) if (!/^127\.\d+\.\d+\.\d+$/.test(a)) throw new Error(`raw UDP is for loopback only (got ${a})`);
  const count = Math.min(Math.max(o.count ?? 1, 1), 10_000);
  const args = [
    '-c',
    SCRIPT,
    source,
    destination,
    String(o.sourcePort),
    String(o.destinationPort),
    String(count),
    o.payload.toString('hex'),
  ];
  await new Promise<void>((resolve, reject) => {
    const child = spawn('python3', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('python3 raw UDP sender took over 10 s'));
    }, 10_000);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        err.code === 'ENOENT'
          ? new Error("python3 is required to send UDP from source port 0 (raw socket); install python3 (add it to .ci/run's apt list)")
          : err,
      );
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`python3 raw UDP sender failed (exit ${code}; it needs root for a raw socket): ${stderr.trim()}`));
    });
  });
}
