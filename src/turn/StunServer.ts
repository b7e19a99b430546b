/**
 * A STUN server on UDP and TCP (RFC 8489 §6.2): Binding requests answered on both. Anything
 * else is dropped and counted; nothing from the network can throw out of here. The TURN
 * methods (RFC 8656) are the next step and will share these listeners.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server as TcpServer, type Socket } from 'node:net';
import { HEADER_LENGTH, StunClass, StunMethod } from '../stun/constants.js';
import { decodeStun } from '../stun/message.js';
import { answerBinding, type Remote } from './binding.js';

export interface StunServerOptions {
  host: string;
  /** 0 picks a free port (the same number is then used for TCP). */
  port: number;
}

export interface StunCounters {
  bindingRequests: number;
  dropped: number;
}

/** Longest STUN message accepted over TCP before the connection is closed. */
const MAX_TCP_MESSAGE = 4096;

export class StunServer {
  readonly counters: StunCounters = { bindingRequests: 0, dropped: 0 };
  private udp: UdpSocket | null = null;
  private tcp: TcpServer | null = null;
  private readonly tcpSockets = new Set<Socket>();
  port = 0;

  constructor(private readonly opts: StunServerOptions) {}

  async listen(): Promise<void> {
    const family = this.opts.host.includes(':') ? 'udp6' : 'udp4';
    const udp = createSocket(family);
    udp.on('message', (msg, rinfo) => {
      const out = this.handle(msg, rinfo);
      if (out) udp.send(out, rinfo.port, rinfo.address);
    });
    udp.on('error', () => { this.counters.dropped++; });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(this.opts.port, this.opts.host, () => { udp.off('error', reject); resolve(); });
    });
    this.udp = udp;
    this.port = udp.address().port;
    const tcp = createServer((sock) => this.onTcp(sock));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(this.port, this.opts.host, () => { tcp.off('error', reject); resolve(); });
    });
    this.tcp = tcp;
  }

  /** One datagram or framed TCP message → the response to send, if any. */
  private handle(buf: Buffer, from: Remote): Buffer | undefined {
    const res = decodeStun(buf);
    if (!res.ok || res.message.method !== StunMethod.Binding || res.message.cls !== StunClass.Request) {
      this.counters.dropped++;
      return undefined;
    }
    this.counters.bindingRequests++;
    const out = answerBinding(res.message, from);
    if (!out) this.counters.dropped++;
    return out;
  }

  /** STUN over TCP: messages back to back, each framed by its own header length (§6.2.2). */
  private onTcp(sock: Socket): void {
    this.tcpSockets.add(sock);
    sock.on('close', () => this.tcpSockets.delete(sock));
    sock.on('error', () => sock.destroy());
    sock.setTimeout(30_000, () => sock.destroy());
    let pending: Buffer = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= HEADER_LENGTH) {
        const total = HEADER_LENGTH + pending.readUInt16BE(2);
        if (total > MAX_TCP_MESSAGE || ((pending[0] as number) & 0xc0) !== 0) {
          this.counters.dropped++;
          sock.destroy();
          return;
        }
        if (pending.length < total) break;
        const out = this.handle(pending.subarray(0, total), { address: sock.remoteAddress ?? '', port: sock.remotePort ?? 0 });
        if (out) sock.write(out);
        pending = pending.subarray(total);
      }
    });
  }

  async close(): Promise<void> {
    for (const s of this.tcpSockets) s.destroy();
    await Promise.all([
      new Promise<void>((r) => (this.udp ? this.udp.close(() => r()) : r())),
      new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r())),
    ]);
  }
}
