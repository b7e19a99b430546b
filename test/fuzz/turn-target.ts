/**
 * Hostile STUN/TURN input at the live TURN server over UDP, TCP and TLS: signed requests with
 * random attributes (allocations are really made, peers really permitted), ChannelData, frames
 * split at random points, huge announced lengths, connections reset mid-frame.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { channelData, learnNonce, restAuth, streamFrame, turnMessage, turnScenario, type TurnAuth } from './stun-inputs.js';
import { int, type Rand } from './mutate.js';

export class TurnTarget {
  private readonly sockets: UdpSocket[] = [];
  /** Where relayed data may land: a socket of ours on loopback, which only counts. */
  private readonly sink: UdpSocket;
  received = 0;

  private constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly tlsPort: number,
    private readonly auth: TurnAuth,
    sink: UdpSocket,
  ) {
    this.sink = sink;
  }

  static async open(host: string, port: number, tlsPort: number, secret: string, realm: string): Promise<TurnTarget> {
    const sink = createSocket('udp4');
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
    const t = new TurnTarget(host, port, tlsPort, restAuth(secret, `fuzz-${process.pid}`, realm), sink);
    sink.on('message', () => {
      t.received++;
    });
    for (let i = 0; i < 4; i++) {
      const s = createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
      s.on('message', (m) => learnNonce(t.auth, m));
      t.sockets.push(s);
    }
    return t;
  }

  private get sinkAddress(): { port: number } {
    return { port: this.sink.address().port };
  }

  /** `n` datagrams from a few client 5-tuples; returns how many were sent. */
  async udpBatch(rand: Rand, n: number): Promise<number> {
    for (let i = 0; i < n; i++) {
      const s = this.sockets[int(rand, this.sockets.length)]!;
      if (rand() < 0.02 && this.auth.nonce) {
        for (const m of turnScenario(rand, this.auth, this.sinkAddress)) {
          s.send(m, this.port, this.host);
          await new Promise((r) => setTimeout(r, 2));
        }
        continue;
      }
      const msg = rand() < 0.8 ? turnMessage(rand, this.auth, this.sinkAddress) : channelData(rand);
      s.send(msg, this.port, this.host);
      // Also from a peer toward relays: whatever the sink sends arrives at a relay only if permitted.
      if (i % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    return n;
  }

  /** `connections` TCP or TLS connections, each sending up to `frames` frames in random pieces, then closing or resetting. */
  async streamBatch(rand: Rand, kind: 'tcp' | 'tls', connections: number, frames: number): Promise<number> {
    let sent = 0;
    const runs: Promise<void>[] = [];
    for (let c = 0; c < connections; c++) {
      const bytes: Buffer[] = [];
      for (let f = int(rand, frames) + 1; f > 0; f--) bytes.push(streamFrame(rand, this.auth, this.sinkAddress));
      sent += bytes.length;
      const all = Buffer.concat(bytes);
      const cut = int(rand, all.length + 1);
      const ending = int(rand, 3);
      runs.push(this.stream(kind, all, cut, ending));
    }
    await Promise.all(runs);
    return sent;
  }

  private stream(kind: 'tcp' | 'tls', data: Buffer, cut: number, ending: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const s: Socket =
        kind === 'tls' ? tlsConnect({ host: this.host, port: this.tlsPort, rejectUnauthorized: false }) : tcpConnect(this.port, this.host);
      const done = (): void => {
        clearTimeout(timer);
        s.destroy();
        resolve();
      };
      const timer = setTimeout(done, 3000);
      s.on('error', done);
      s.on('close', done);
      s.on('data', (m: Buffer) => learnNonce(this.auth, m));
      s.once(kind === 'tls' ? 'secureConnect' : 'connect', () => {
        s.write(data.subarray(0, cut));
        setTimeout(() => {
          if (s.destroyed) return;
          s.write(data.subarray(cut));
          // 0: reset at once (RST mid-stream), 1: clean end, 2: keep it until the server or the timer closes it.
          if (ending === 0) {
            if (kind === 'tcp') s.resetAndDestroy();
            else s.destroy();
          } else if (ending === 1) s.end();
        }, 5);
      });
    });
  }

  close(): void {
    for (const s of this.sockets) s.close();
    this.sink.close();
  }
}
