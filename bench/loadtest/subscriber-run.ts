/** One subscribing peer of a run: joins through the driver, answers every offer, and measures every track it receives. */
import sdpTransform from 'sdp-transform';
import { RtpHeaderView, parseRtpHeader } from '../../src/rtc/rtp/index.js';
import type { SignalingDriver, SubscribeSession } from './driver.js';
import { TrailerView, nowUs, readTrailer } from './media-trailer.js';
import { PUBLISH_CODECS, type MediaKind, type SubscriberPeer } from './peer.js';
import { TrackReceiveStats } from './receive-stats.js';

/** Shared by every subscriber: the process handles one packet at a time. */
const view = new RtpHeaderView();
const trailer = new TrailerView();

export interface ReceivedTrack {
  /** The sender's track id from the trailer (≥ 0), or −1 − SSRC for unmarked media (a wrtc publisher). */
  key: number;
  kind: MediaKind;
  ssrc: number;
  stats: TrackReceiveStats;
}

export class SubscriberRun {
  session: SubscribeSession | null = null;
  readonly tracks = new Map<number, ReceivedTrack>();
  /** SSRC → kind, from the server's offers (for media without our trailer). */
  private readonly kinds = new Map<number, MediaKind>();
  /** SSRC → publishing peer's name, when the driver names the tracks it offers (for media without our trailer). */
  readonly publisherBySsrc = new Map<number, string>();
  joinStartUs = NaN;
  /** µs from the subscribe request to the first RTP packet received; NaN until then. */
  joinUs = NaN;
  malformed = 0;
  /** Packets dropped because this subscriber already tracks `maxTracks` streams (garbage would grow the map). */
  overflow = 0;
  error = '';

  constructor(
    readonly room: string,
    readonly name: string,
    readonly peer: SubscriberPeer,
    private readonly maxTracks: number,
  ) {
    peer.onRtp((p) => this.onRtp(p));
  }

  async join(driver: SignalingDriver, onError: (m: string) => void): Promise<void> {
    this.joinStartUs = nowUs();
    this.session = await driver.subscribe(this.room, this.name, {
      onOffer: async (sdp) => {
        this.learnKinds(sdp);
        return this.peer.answer(sdp);
      },
      onTracks: (tracks) => {
        for (const t of tracks)
          if (t.publisher !== undefined && this.publisherBySsrc.size < 4 * this.maxTracks) this.publisherBySsrc.set(t.ssrc, t.publisher);
      },
      onError,
    });
  }

  /** The measurement starts: each track's figures restart from its next packet (joins and warm-up excluded). */
  startWindow(): void {
    for (const t of this.tracks.values()) t.stats = new TrackReceiveStats(t.stats.clockRate);
  }

  async close(): Promise<void> {
    await this.session?.close().catch(() => undefined);
    await this.peer.close().catch(() => undefined);
  }

  private learnKinds(sdp: string): void {
    try {
      for (const m of sdpTransform.parse(sdp).media) {
        if (m.type !== 'audio' && m.type !== 'video') continue;
        for (const s of m.ssrcs ?? []) if (this.kinds.size < 4 * this.maxTracks) this.kinds.set(Number(s.id), m.type);
      }
    } catch {
      /* the peer's answer reports a bad offer */
    }
  }

  private onRtp(packet: Buffer): void {
    const arrival = nowUs();
    if (!parseRtpHeader(packet, view)) {
      this.malformed++;
      return;
    }
    const payloadEnd = view.headerLength + view.payloadLength;
    const marked = readTrailer(packet, view.headerLength, payloadEnd, trailer);
    const key = marked ? trailer.trackId : -1 - view.ssrc;
    let track = this.tracks.get(key);
    if (!track) {
      if (this.tracks.size >= this.maxTracks) {
        this.overflow++;
        return;
      }
      const kind: MediaKind = marked
        ? (key & 1) === 1
          ? 'video'
          : 'audio'
        : (this.kinds.get(view.ssrc) ?? (view.payloadType === PUBLISH_CODECS.audio.payloadType ? 'audio' : 'video'));
      track = { key, kind, ssrc: view.ssrc, stats: new TrackReceiveStats(PUBLISH_CODECS[kind].clockRate) };
      this.tracks.set(key, track);
    }
    if (Number.isNaN(this.joinUs) && !Number.isNaN(this.joinStartUs)) this.joinUs = arrival - this.joinStartUs;
    track.stats.onPacket(view.sequenceNumber, view.timestamp, packet.length, arrival, marked ? trailer.captureUs : NaN);
  }
}
