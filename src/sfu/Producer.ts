/**
 * Producer: one incoming track from a publisher. A plain track is one RTP stream (one SSRC,
 * plus its RTX SSRC); a simulcast track has one stream per rid (spatial layer, lowest first as
 * the publisher lists them; through a pipe, per SSRC given in advance); a VP9 SVC track is one
 * stream with spatial layers inside. Each stream (ProducerStream) keeps what the SFU needs to
 * serve it to many subscribers: a packet cache for their NACKs, loss detection toward the
 * publisher (NACK), receiver statistics (RTCP RR) and throttled keyframe requests (PLI). Every
 * packet it accepts goes to its output — the FanOut the Router made for it — with what was read
 * from it (PacketInfo: layers, keyframe, codec descriptor). A producer does not know who receives it.
 *
 * Close cascade: closing a producer closes its output, and so every sink of it.
 */
import type { ReportBlock } from '../rtc/rtcp/index.js';
import { RtpHeaderView, parseRtpHeader, unwrapRtx } from '../rtc/rtp/index.js';
import { TypedEmitter } from '../util/TypedEmitter.js';
import { AudioLevelMeter } from './receive/AudioLevelMeter.js';
import type { MediaSink } from './MediaSink.js';
import type { ProducerView } from './ProducerView.js';
import type { KeyframeRequester } from './receive/KeyframeRequester.js';
import { LayerBitrate } from './receive/LayerBitrate.js';
import { MAX_CACHED_PACKET, type PacketCache } from './receive/PacketCache.js';
import { PacketInfo, describePacket, videoCodecKind, type VideoCodecKind } from './receive/packet-info.js';
import { ProducerStream } from './ProducerStream.js';
import type { ReceiveStats } from './receive/ReceiveStats.js';
import type { CodecParameters, MediaKind, RtcpSink, VideoSource } from './types.js';

/** VP9 spatial ids are 3 bits (RFC 9628 §4.2). */
const MAX_SVC_SPATIAL = 8;

export interface ProducerOptions {
  id: string;
  kind: MediaKind;
  /** The publishing participant. */
  ownerId: string;
  mid: string;
  /** The signalled SSRC of a plain track; absent for simulcast (`rids`). */
  ssrc?: number;
  rtxSsrc?: number | undefined;
  /** RFC 8851 rids of a simulcast track, lowest layer first. */
  rids?: readonly string[];
  /**
   * A simulcast track whose layers arrive on SSRCs known in advance, lowest layer first (a pipe
   * from another Router: no rids on the wire). Instead of `rids`.
   */
  layerSsrcs?: readonly number[];
  codec: CodecParameters;
  /** Our SSRC as the sender of feedback (NACK, PLI, RR) on the publisher's transport. */
  feedbackSsrc: number;
  /** Where feedback toward the publisher goes (NACK, PLI, RR): its transport, or the MCU's encoder. */
  feedback: RtcpSink;
  /** Where accepted packets go: the FanOut the Router keeps for this producer. */
  output: MediaSink;
  /** Packets kept for retransmission (video), per stream; ~1 s at 1 Mbit/s. */
  cacheSize?: number;
  /** Audio: the negotiated id of the RFC 6464 audio level extension, when the publisher sends it. */
  audioLevelExtensionId?: number;
  /**
   * Bits per second each spatial layer is encoded at, when the server itself encodes them (the
   * MCU's quality tiers): the allocator's price for a layer not flowing yet.
   */
  encodedBitrates?: readonly number[];
}

export interface ProducerEvents {
  close: [];
  /** A stream's frame size changed (learned from a keyframe): preferred layers may change. */
  'layer-size': [];
}

export class Producer extends TypedEmitter<ProducerEvents> implements ProducerView {
  readonly id: string;
  readonly kind: MediaKind;
  readonly ownerId: string;
  readonly mid: string;
  /** Video: camera or screen share, as the publisher's page says (`sfu-video-source`). */
  source: VideoSource = 'camera';
  readonly codec: CodecParameters;
  readonly codecKind: VideoCodecKind;
  readonly encodedBitrates: readonly number[] | undefined;
  private readonly output: MediaSink;
  /** Spatial order, lowest first; one stream unless simulcast. */
  readonly streams: ProducerStream[];
  readonly simulcast: boolean;
  /** SVC: spatial layer sizes from the VP9 scalability structure (index = spatial id). */
  readonly svcWidths: number[] = [];
  readonly svcHeights: number[] = [];
  /** SVC: received bitrate of each spatial id alone (index = spatial id), made on its first packet. */
  private readonly svcBitrates: LayerBitrate[] = [];
  /** Audio with the RFC 6464 extension negotiated: the levels the active speaker observer reads. */
  readonly audioLevel: AudioLevelMeter | null;
  private readonly view = new RtpHeaderView();
  private readonly rtxScratch = Buffer.allocUnsafe(MAX_CACHED_PACKET);
  private readonly rtcpScratch = Buffer.allocUnsafe(1200);
  private readonly info = new PacketInfo();
  closed = false;
  packetsReceived = 0;
  retransmissionsReceived = 0;
  keyframesReceived = 0;
  malformedPayloads = 0;
  /** Packets already received (by sequence number) that came again: dropped. */
  duplicatesDropped = 0;
  /** Highest temporal and spatial ids seen (SVC and temporal scalability are learned from packets). */
  maxTemporalSeen = 0;
  maxSpatialSeen = 0;
  /** Packets that came as RED (RFC 2198), among packetsReceived. */
  redPacketsReceived = 0;

  constructor(opts: ProducerOptions) {
    super();
    this.id = opts.id;
    this.kind = opts.kind;
    this.ownerId = opts.ownerId;
    this.mid = opts.mid;
    this.codec = opts.codec;
    this.codecKind = opts.kind === 'video' ? videoCodecKind(opts.codec.name) : 'other';
    this.encodedBitrates = opts.encodedBitrates;
    this.output = opts.output;
    const video = opts.kind === 'video';
    const common = {
      codec: opts.codec,
      video,
      nack: video && hasFeedback(opts.codec, 'nack'),
      feedbackSsrc: opts.feedbackSsrc,
      feedback: opts.feedback,
      cacheSize: opts.cacheSize ?? 1024,
      rtcpScratch: this.rtcpScratch,
    };
    const rids = opts.rids ?? [];
    const layerSsrcs = opts.layerSsrcs ?? [];
    this.simulcast = rids.length > 0 || layerSsrcs.length > 0;
    this.streams = this.simulcast
      ? rids.length > 0
        ? rids.map((rid, index) => new ProducerStream({ ...common, index, rid }))
        : layerSsrcs.map((ssrc, index) => new ProducerStream({ ...common, index, ssrc }))
      : [
          new ProducerStream({
            ...common,
            index: 0,
            ssrc: opts.ssrc,
            rtxSsrc: opts.rtxSsrc,
          }),
        ];
    this.audioLevel = !video && opts.audioLevelExtensionId !== undefined ? new AudioLevelMeter(opts.audioLevelExtensionId) : null;
  }

  /** The first stream's SSRC (the only one of a plain track). */
  get ssrc(): number {
    return this.first.ssrc;
  }
  get rtxSsrc(): number | undefined {
    return this.first.rtxSsrc;
  }
  get cache(): PacketCache | null {
    return this.first.cache;
  }
  get stats(): ReceiveStats {
    return this.first.stats;
  }
  get keyframes(): KeyframeRequester {
    return this.first.keyframes;
  }
  get nacksSent(): number {
    return this.streams.reduce((n, s) => n + s.nacksSent, 0);
  }
  private get first(): ProducerStream {
    return this.streams[0] as ProducerStream;
  }

  cacheOf(spatial: number): PacketCache | null {
    return this.simulcast ? (this.streams[spatial]?.cache ?? null) : this.first.cache;
  }

  streamByRid(rid: string): ProducerStream | undefined {
    return this.streams.find((s) => s.rid === rid);
  }

  /** Spatial layers a consumer can choose from: simulcast streams, or SVC spatial ids seen. */
  get spatialLayers(): number {
    return this.simulcast ? this.streams.length : this.maxSpatialSeen + 1;
  }

  /** Width × height of spatial layer `spatial`, 0 × 0 when not known yet. */
  layerSize(spatial: number): { width: number; height: number } {
    if (this.simulcast) {
      const s = this.streams[spatial];
      return { width: s?.width ?? 0, height: s?.height ?? 0 };
    }
    if (this.codecKind === 'vp9' && this.svcWidths[spatial] !== undefined)
      return { width: this.svcWidths[spatial], height: this.svcHeights[spatial] as number };
    return { width: this.first.width, height: this.first.height };
  }

  /**
   * Bits per second of spatial layer `spatial` up to temporal layer `temporal`: simulcast, that
   * stream alone; SVC, spatial ids 0..`spatial` together (what forwarding them costs).
   */
  layerBitrate(spatial: number, temporal?: number, now = performance.now()): number {
    if (!this.simulcast && this.svcBitrates.length > 0) {
      let sum = 0;
      for (let s = 0; s <= spatial && s < this.svcBitrates.length; s++) sum += this.svcBitrates[s]?.bitrate(now, temporal) ?? 0;
      return sum;
    }
    const s = this.simulcast ? this.streams[spatial] : this.first;
    return s ? s.bitrate.bitrate(now, temporal) : 0;
  }

  /** A plain (decrypted) RTP packet of `stream` (its SSRC or RTX SSRC), already parsed into `view`. */
  receive(packet: Buffer, view: RtpHeaderView, now: number, stream: ProducerStream = this.first): void {
    if (this.closed) return;
    let isRetransmission = false;
    if (view.ssrc !== stream.ssrc) {
      if (!stream.bound) return; // RTX of a layer whose media SSRC is not known yet: nothing to restore
      // RFC 4588: restore the original packet, then treat it like a late arrival.
      const len = unwrapRtx(packet, view, this.rtxScratch, stream.ssrc, this.codec.payloadType);
      if (len < 0) return; // padding-only probe
      packet = this.rtxScratch.subarray(0, len);
      if (!parseRtpHeader(packet, this.view)) return;
      view = this.view;
      isRetransmission = true;
      this.retransmissionsReceived++;
    } else {
      // Audio may come as RED (RFC 2198) carrying the codec: both payload types belong to this track.
      if (view.payloadType !== this.codec.payloadType && view.payloadType !== this.codec.redPayloadType) return;
      this.packetsReceived++;
      if (view.payloadType === this.codec.redPayloadType) this.redPacketsReceived++;
      this.audioLevel?.onPacket(packet, view);
      stream.packetsReceived++;
      stream.stats.onPacket(view.sequenceNumber, view.timestamp, now, packet.length);
    }
    if (stream.nack && stream.nack.onPacket(view.sequenceNumber, now)) stream.requestKeyframe();
    if (view.payloadLength === 0) return; // padding only: nothing to forward
    if (stream.cache?.has(view.sequenceNumber)) {
      // A second copy (the publisher answered two of our NACKs for it, or the network doubled
      // it): forwarding it again would repeat an SRTP index, which the subscriber's replay
      // check drops — its transport-cc feedback then reports a loss that never happened.
      this.duplicatesDropped++;
      return;
    }
    const info = this.info;
    if (this.kind === 'video') {
      if (!describePacket(this.codecKind, packet, view, stream.index, this.simulcast, info)) {
        this.malformedPayloads++;
        return;
      }
      if (!isRetransmission) this.learn(stream, info, packet.length, now);
    } else {
      info.keyframe = false;
      info.spatial = 0;
      info.temporal = 0;
    }
    stream.cache?.put(view.sequenceNumber, packet);
    this.output.onRtp(packet, view, info, stream, isRetransmission, now);
  }

  /** PLI toward the publisher (≤ 1/s per stream): for spatial layer `spatial`, or every stream. */
  requestKeyframe(spatial?: number): void {
    if (this.kind !== 'video' || this.closed) return;
    if (this.simulcast && spatial !== undefined) this.streams[spatial]?.requestKeyframe();
    else for (const s of this.streams) s.requestKeyframe();
  }

  /** Called by the transport's feedback timer: NACKs for packets still missing. */
  sendNacks(now: number): void {
    if (this.closed) return;
    for (const s of this.streams) s.sendNacks(now, () => s.requestKeyframe());
  }

  senderReport(stream: ProducerStream, ntpSec: number, ntpFrac: number, now: number): void {
    stream.stats.onSenderReport(ntpSec, ntpFrac, now);
  }

  /** RR blocks of every bound stream with data, appended to `out`. */
  reportBlocks(now: number, out: ReportBlock[]): void {
    for (const s of this.streams) {
      const block = s.reportBlock(now);
      if (block) out.push(block);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams) s.close();
    this.output.close();
    this.emit('close');
    this.removeAllListeners();
  }

  /** Keyframes, layer sizes, bitrates and the layers present, from a first-time packet. */
  private learn(stream: ProducerStream, info: PacketInfo, bytes: number, now: number): void {
    stream.bitrate.onPacket(info.temporal, bytes, now);
    if (info.temporal > this.maxTemporalSeen && info.temporal < 8) this.maxTemporalSeen = info.temporal;
    if (info.keyframe) {
      this.keyframesReceived++;
      stream.keyframesReceived++;
    }
    if (info.hasSize && (info.size.width !== stream.width || info.size.height !== stream.height)) {
      stream.width = info.size.width;
      stream.height = info.size.height;
      this.emit('layer-size');
    }
    if (info.hasVp9) {
      const d = info.vp9;
      if (d.spatialId > this.maxSpatialSeen) this.maxSpatialSeen = d.spatialId;
      if (!this.simulcast && d.spatialId >= 0 && d.spatialId < MAX_SVC_SPATIAL) {
        (this.svcBitrates[d.spatialId] ??= new LayerBitrate()).onPacket(info.temporal, bytes, now);
      }
      if (d.hasScalabilityStructure && d.hasResolutions) {
        let changed = this.svcWidths.length !== d.spatialLayers;
        for (let s = 0; s < d.spatialLayers; s++) {
          if (this.svcWidths[s] !== d.widths[s] || this.svcHeights[s] !== d.heights[s]) changed = true;
          this.svcWidths[s] = d.widths[s] as number;
          this.svcHeights[s] = d.heights[s] as number;
        }
        this.svcWidths.length = d.spatialLayers;
        this.svcHeights.length = d.spatialLayers;
        if (d.spatialLayers - 1 > this.maxSpatialSeen) this.maxSpatialSeen = d.spatialLayers - 1;
        if (changed) this.emit('layer-size');
      }
    }
  }
}

function hasFeedback(codec: CodecParameters, type: string): boolean {
  return codec.rtcpFeedback.some((f) => f.type === type && (f.parameter === undefined || f.parameter === ''));
}
