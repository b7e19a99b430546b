/**
 * Hostile input at the live RTC port. Outside any session: random and mutated datagrams (STUN,
 * DTLS, RTP-looking) and ICE-TCP frames. Inside one: a publisher and a subscriber made with our
 * own client-side ICE/DTLS/SRTP (bench/lib/sfu-peer.ts) join an SFU room through signaling, then
 * the publisher sends mutated RTP and RTCP, correctly encrypted so it reaches the producer, the
 * RTCP parsers and the forwarding path, plus raw garbage and DTLS records on its bound 5-tuple.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect as tcpConnect } from 'node:net';
import { DtlsCertificate } from '../../src/rtc/dtls/index.js';
import { frameRfc4571 } from '../../src/rtc/port/rfc4571-framer.js';
import { HeadlessPeer } from '../../bench/lib/sfu-peer.js';
import { publishOffer, serverEndpoint, subscribeAnswer } from '../../bench/lib/sfu-sdp.js';
import { TestClient } from '../helpers/ws-client.js';
import { int, mutate, pick, randomBytes, type Rand } from './mutate.js';

const VIDEO_SSRC = 0x1234_5678;
const RTX_SSRC = 0x1234_5679;

/** A plausible VP8 RTP packet (RFC 7741 descriptor) that mutations then bend. */
function rtpPacket(rand: Rand, seq: number): Buffer {
  const payload = randomBytes(rand, 20 + int(rand, 900));
  const h = Buffer.alloc(12 + 4);
  h[0] = rand() < 0.2 ? 0x90 | int(rand, 16) : 0x80; // X bit and CSRC counts now and then
  h[1] = (rand() < 0.1 ? 0x80 : 0) | pick(rand, [96, 97, 96, 96, 111, int(rand, 128)]);
  h.writeUInt16BE(seq & 0xffff, 2);
  h.writeUInt32BE((seq * 3000) >>> 0, 4);
  h.writeUInt32BE(pick(rand, [VIDEO_SSRC, VIDEO_SSRC, RTX_SSRC, int(rand, 2 ** 32)]), 8);
  h[12] = pick(rand, [0x90, 0x10, 0x80, int(rand, 256)]); // VP8 X/S bits
  h[13] = int(rand, 256);
  h[14] = int(rand, 256);
  h[15] = int(rand, 256);
  if (rand() < 0.3) payload[0] = (payload[0] as number) & 0xfe; // a "keyframe"
  return Buffer.concat([h, payload]);
}

/** An RTCP packet of a type the SFU parses, with random counts and a length that may lie. */
function rtcpPacket(rand: Rand): Buffer {
  const pt = pick(rand, [200, 201, 202, 203, 204, 205, 206, 207]);
  const body = randomBytes(rand, 4 * int(rand, 20));
  const h = Buffer.alloc(8);
  h[0] = 0x80 | pick(rand, [0, 1, 15, int(rand, 32)]);
  h[1] = pt;
  h.writeUInt16BE(rand() < 0.8 ? (body.length + 4) / 4 : int(rand, 0x10000), 2);
  h.writeUInt32BE(VIDEO_SSRC, 4);
  // Media SSRC of feedback: ours, so NACK/PLI/REMB reach real state.
  if (body.length >= 4 && rand() < 0.7) body.writeUInt32BE(pick(rand, [VIDEO_SSRC, RTX_SSRC]), 0);
  const pkt = Buffer.concat([h, body]);
  return rand() < 0.3 ? Buffer.concat([pkt, rtcpPacket(rand)]) : pkt;
}

/** A DTLS-looking record: content type 20–25, DTLS 1.0/1.2 version, random epoch and length. */
function dtlsRecord(rand: Rand): Buffer {
  const body = randomBytes(rand, int(rand, 300));
  const h = Buffer.alloc(13);
  h[0] = pick(rand, [20, 21, 22, 23, 25, int(rand, 44) + 20]);
  h.writeUInt16BE(pick(rand, [0xfeff, 0xfefd, int(rand, 0x10000)]), 1);
  h.writeUInt16BE(int(rand, 3), 3);
  h.writeUIntBE(int(rand, 2 ** 32), 5, 6);
  h.writeUInt16BE(rand() < 0.8 ? body.length : int(rand, 0x10000), 11);
  if (h[0] === 22 && body.length > 12) body[0] = pick(rand, [1, 2, 11, 12, 14, 16, 20, int(rand, 256)]);
  return Buffer.concat([h, body]);
}

function anyDatagram(rand: Rand): Buffer {
  const r = rand();
  if (r < 0.3) return dtlsRecord(rand);
  if (r < 0.6) return mutate(rand, rtpPacket(rand, int(rand, 65536)));
  if (r < 0.8) return mutate(rand, Buffer.from('000100002112a442', 'hex'));
  return randomBytes(rand, int(rand, 1500));
}

export class RtcTarget {
  private readonly raw: UdpSocket[] = [];
  private readonly certificate: Promise<DtlsCertificate> = DtlsCertificate.generate();
  private session: { ws: TestClient; publisher: HeadlessPeer; sub: TestClient; subscriber: HeadlessPeer } | undefined;
  private seq = 0;
  sessionsMade = 0;
  subscriberRtp = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly wsUrl: string,
  ) {}

  async rawBatch(rand: Rand, n: number): Promise<number> {
    while (this.raw.length < 4) {
      const s = createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
      s.on('message', () => undefined);
      this.raw.push(s);
    }
    for (let i = 0; i < n; i++) {
      this.raw[int(rand, this.raw.length)]!.send(anyDatagram(rand), this.port, this.host);
      if (i % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    return n;
  }

  /** ICE-TCP connections sending framed garbage, checks and media, some reset at once. */
  async tcpBatch(rand: Rand, connections: number): Promise<number> {
    let frames = 0;
    await Promise.all(
      Array.from({ length: connections }, () => {
        const parts: Buffer[] = [];
        for (let f = 1 + int(rand, 8); f > 0; f--, frames++) {
          const framed = frameRfc4571(anyDatagram(rand));
          if (framed) parts.push(framed);
        }
        if (rand() < 0.2) parts.push(Buffer.from([0xff, 0xff, 1, 2])); // a frame that never completes
        const data = Buffer.concat(parts);
        const reset = rand() < 0.4;
        return new Promise<void>((resolve) => {
          const s = tcpConnect(this.port, this.host);
          const done = (): void => {
            clearTimeout(timer);
            s.destroy();
            resolve();
          };
          const timer = setTimeout(done, 2000);
          s.on('error', done);
          s.on('close', done);
          s.once('connect', () => {
            s.write(data);
            if (reset) s.resetAndDestroy();
            else s.end();
          });
        });
      }),
    );
    return frames;
  }

  /** A live publish + subscribe pair in a fresh SFU room (made once, remade if it died). */
  private async liveSession(): Promise<NonNullable<RtcTarget['session']>> {
    if (this.session) return this.session;
    const certificate = await this.certificate;
    const room = `fuzz-rtc-${this.sessionsMade++}`;
    const local = (p: HeadlessPeer): { iceUfrag: string; icePwd: string; fingerprint: DtlsCertificate['fingerprint'] } => ({
      iceUfrag: p.iceUfrag,
      icePwd: p.icePwd,
      fingerprint: certificate.fingerprint,
    });
    const [ws] = await TestClient.hello(this.wsUrl, { name: 'fuzz-pub' });
    ws.send({ type: 'join', room, topology: 'sfu' });
    await ws.next('joined');
    const publisher = await HeadlessPeer.open('fuzz-publisher', certificate);
    ws.send({ type: 'sfu-offer', id: 1, transport: 'publish', sdp: publishOffer(local(publisher), VIDEO_SSRC, RTX_SSRC) });
    const answer = await ws.next('sfu-answer', 10_000);
    await publisher.connect(serverEndpoint(answer.sdp), 10_000);
    const [sub] = await TestClient.hello(this.wsUrl, { name: 'fuzz-sub' });
    sub.send({ type: 'join', room, topology: 'sfu' });
    await sub.next('joined');
    const subscriber = await HeadlessPeer.open('fuzz-subscriber', certificate);
    subscriber.onRtp = () => {
      this.subscriberRtp++;
    };
    const offer = await sub.next('sfu-offer', 10_000);
    sub.send({ type: 'sfu-answer', transport: 'subscribe', revision: offer.revision, sdp: subscribeAnswer(offer.sdp, local(subscriber)) });
    await subscriber.connect(serverEndpoint(offer.sdp), 10_000);
    this.session = { ws, publisher, sub, subscriber };
    return this.session;
  }

  async sessionBatch(rand: Rand, n: number): Promise<number> {
    const s = await this.liveSession();
    for (let i = 0; i < n; i++) {
      const r = rand();
      try {
        if (r < 0.5) {
          const pkt = rtpPacket(rand, this.seq++);
          s.publisher.sendRtp(rand() < 0.5 ? pkt : mutate(rand, pkt));
        } else if (r < 0.85) {
          const pkt = rtcpPacket(rand);
          s.publisher.sendRtcp(rand() < 0.5 ? pkt : mutate(rand, pkt));
        } else {
          // Unencrypted garbage and DTLS records on the bound 5-tuple.
          s.publisher.socket.send(rand() < 0.5 ? dtlsRecord(rand) : anyDatagram(rand), this.port, this.host);
        }
      } catch {
        // Our own SRTP client refused to protect a packet the mutation broke: not an input sent.
      }
      if (i % 16 === 0) await new Promise((r2) => setImmediate(r2));
    }
    // A session whose transport the server closed (a DTLS alert, consent) is made anew next time.
    if (rand() < 0.1) this.endSession();
    return n;
  }

  private endSession(): void {
    const s = this.session;
    if (!s) return;
    this.session = undefined;
    s.publisher.close();
    s.subscriber.close();
    s.ws.close();
    s.sub.close();
  }

  close(): void {
    this.endSession();
    for (const s of this.raw) s.close();
  }
}
