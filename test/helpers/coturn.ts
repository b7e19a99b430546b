/**
 * coturn (Debian package `coturn`) as a reference TURN server on loopback: REST-secret auth,
 * UDP only, loopback peers allowed because the test's browsers are on this machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

export interface Coturn {
  port: number;
  close(): void;
}

/** A port free for both TCP and UDP on 127.0.0.1 (TURN listens on both). */
async function freePort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer()
        .listen(0, '127.0.0.1', () => {
          const p = (s.address() as { port: number }).port;
          s.close(() => resolve(p));
        })
        .on('error', reject);
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const u = createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no free port');
}

/** One STUN Binding request (RFC 8489 §6): resolves when the server answers. */
function bindingAnswered(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const req = Buffer.alloc(20);
    req.writeUInt16BE(0x0001, 0);
    req.writeUInt32BE(0x2112a442, 4);
    randomBytes(12).copy(req, 8);
    const t = setTimeout(() => {
      sock.close();
      resolve(false);
    }, timeoutMs);
    sock.on('message', (m) => {
      if (m.length >= 20 && m.readUInt16BE(0) === 0x0101 && m.subarray(8, 20).equals(req.subarray(8, 20))) {
        clearTimeout(t);
        sock.close();
        resolve(true);
      }
    });
    sock.send(req, port, '127.0.0.1');
  });
}

export async function startCoturn(secret: string): Promise<Coturn> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'turnserver',
    [
      '-n',
      '--listening-ip=127.0.0.1',
      `--listening-port=${port}`,
      '--relay-ip=127.0.0.1',
      '--use-auth-secret',
      `--static-auth-secret=${secret}`,
      '--realm=switchboard.test',
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--allow-loopback-peers',
      '--no-multicast-peers',
      '--log-file=stdout',
      '--simple-log',
    ],
    { stdio: 'ignore' },
  );
  const close = (): void => {
    child.kill('SIGKILL');
  };
  for (let i = 0; i < 50; i++) {
    if (await bindingAnswered(port, 200)) return { port, close };
    if (child.exitCode !== null) break;
  }
  close();
  throw new Error(`coturn did not answer on 127.0.0.1:${port}`);
}
