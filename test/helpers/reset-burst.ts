/**
 * TCP connections that connect, write, and reset (SO_LINGER 0) before the server accepts
 * them: python3 makes them while this process's event loop is blocked (spawnSync), so the
 * server in this process only accepts connections that are already reset — whose
 * remoteAddress Node then reports as undefined. Loopback only. Without python3 this throws:
 * a test that needs it must fail, not skip.
 */
import { spawnSync } from 'node:child_process';

const SCRIPT = `
import socket, struct, sys
host, port, count, payload = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), bytes.fromhex(sys.argv[4])
for _ in range(count):
    s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.settimeout(2)
    s.connect((host, port))
    s.sendall(payload)
    s.close()
`;

/** `count` (≤ 400: the listen backlog holds them) connect + write + RST to host:port, done before this returns. */
export function resetBurst(host: string, port: number, count: number, payload: Buffer): void {
  if (host !== '127.0.0.1' && host !== '::1') throw new Error(`reset bursts are for loopback only (got ${host})`);
  const r = spawnSync('python3', ['-c', SCRIPT, host, String(port), String(Math.min(count, 400)), payload.toString('hex')], {
    timeout: 20_000,
    encoding: 'utf8',
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error("python3 is required for the TCP reset burst; install python3 (add it to .ci/run's apt list)");
  }
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`python3 reset burst failed (exit ${r.status}): ${r.stderr.trim()}`);
}
