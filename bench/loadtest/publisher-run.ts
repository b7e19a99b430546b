/** One publishing peer of a run: joins through the driver, connects, and sends its media until stopped. */
import type { PublishSession, SignalingDriver } from './driver.js';
import { nowUs } from './media-trailer.js';
import { PUBLISH_CODECS, type MediaKind, type PublisherPeer } from './peer.js';
import type { RecordedPacket } from './rtp-file.js';
import { RtpReplayer } from './rtp-replayer.js';
import { withTimeout } from './switchboard-driver.js';

export interface RecordedMedia {
  audio: RecordedPacket[];
  video: RecordedPacket[];
}

export interface SentTrack {
  kind: MediaKind;
  trackId: number;
  packets: number;
  bytes: number;
  bitrate: number;
}

const random32 = (): number => (Math.floor(Math.random() * 0xffff_fff0) + 1) >>> 0;

/** Track ids of publisher number `index` (global across rooms): audio 2i, video 2i + 1. */
export const trackIdOf = (index: number, kind: MediaKind): number => index * 2 + (kind === 'video' ? 1 : 0);

export class PublisherRun {
  session: PublishSession | null = null;
  /** µs from the publish request (signaling connect included) to DTLS-SRTP up; NaN until then. */
  joinUs = NaN;
  error = '';
  private readonly replayers: RtpReplayer[] = [];
  private sentByLibrary: SentTrack[] = [];
  private startedUs = NaN;

  constructor(
    readonly index: number,
    readonly room: string,
    readonly name: string,
    readonly peer: PublisherPeer,
  ) {}

  async join(
    driver: SignalingDriver,
    media: RecordedMedia,
    videoBitrate: number,
    timeoutMs: number,
    onError: (m: string) => void,
  ): Promise<void> {
    const start = nowUs();
    const ssrcs = { audio: random32(), video: random32() };
    const offer = await this.peer.createOffer(ssrcs);
    this.session = await driver.publish(this.room, this.name, offer, { onError });
    await this.peer.applyAnswer(this.session.answerSdp);
    await withTimeout(this.peer.connected(timeoutMs), timeoutMs + 1000, `${this.name}: publish connection`);
    this.joinUs = nowUs() - start;
    this.startedUs = nowUs();
    if (!this.peer.replaysRecording) {
      this.peer.startMedia?.(videoBitrate);
      return;
    }
    for (const kind of ['video', 'audio'] as const) {
      const codec = PUBLISH_CODECS[kind];
      this.replayers.push(
        new RtpReplayer(media[kind], {
          kind,
          ssrc: ssrcs[kind],
          payloadType: codec.payloadType,
          clockRate: codec.clockRate,
          send: (p) => this.peer.sendRtp(kind, p),
          trackId: trackIdOf(this.index, kind),
          ...(kind === 'video' ? { targetBitrate: videoBitrate } : {}),
        }),
      );
    }
    this.peer.onKeyframeRequest(() => this.replayers[0]?.requestKeyframe());
    for (const r of this.replayers) r.start();
  }

  /** The measurement starts: what was sent before (while others joined) is not counted. */
  async startWindow(): Promise<void> {
    for (const r of this.replayers) r.resetCounters();
    await this.peer.startWindow?.().catch(() => undefined);
  }

  /** Stops sending; for encoding libraries, reads what they sent. */
  async stop(): Promise<void> {
    for (const r of this.replayers) r.stop();
    if (this.peer.sentStats && !Number.isNaN(this.startedUs)) {
      const stats = await this.peer.sentStats().catch(() => []);
      this.sentByLibrary = stats.map((s) => ({
        kind: s.kind,
        trackId: -1 - s.ssrc,
        packets: s.packets,
        bytes: s.bytes,
        bitrate: s.seconds > 0 ? (s.bytes * 8) / s.seconds : 0,
      }));
    }
  }

  sent(): SentTrack[] {
    if (!this.peer.replaysRecording) return this.sentByLibrary;
    return this.replayers.map((r, i) => {
      const kind: MediaKind = i === 0 ? 'video' : 'audio';
      return { kind, trackId: trackIdOf(this.index, kind), packets: r.packetsSent, bytes: r.bytesSent, bitrate: r.bitrate };
    });
  }

  async close(): Promise<void> {
    for (const r of this.replayers) r.stop();
    await this.session?.close().catch(() => undefined);
    await this.peer.close().catch(() => undefined);
  }
}
