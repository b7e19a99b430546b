/**
 * Producer: one incoming track (one SSRC, plus its RTX SSRC) from a publisher. It keeps what
 * the SFU needs to serve that track to many subscribers: a packet cache for their NACKs, loss
 * detection toward the publisher (NACK), receiver statistics (RTCP RR), and throttled keyframe
 * requests (PLI). Every packet it accepts goes to its consumers.
 *
 * Close cascade: closing a producer closes its consumers.
 */
import { writeNack, writePli, type ReportBlock } from '../rtc/rtcp/index.js';
import { RtpHeaderView, isVp8Keyframe, parseRtpHeader, unwrapRtx } from '../rtc/rtp/index.js';
import { TypedEmitter } from '../util/TypedEmitter.js';
import { AudioLevelMeter } from './AudioLevelMeter.js';
import type { Consumer } from './Consumer.js';
import { KeyframeRequester } from './KeyframeRequester.js';
import { NackRequester } from './NackRequester.js';
import { MAX_CACHED_PACKET, PacketCache } from './PacketCache.js';
import { ReceiveStats } from './ReceiveStats.js';
import type { CodecParameters, MediaKind, RtcpSink } from './types.js';

export interface ProducerOptions {
  id: string;
  kind: MediaKind;
  /** The publishing participant. */
  ownerId: string;
  mid: string;
  ssrc: number;
  rtxSsrc?: number;
  codec: CodecParameters;
  /** Our SSRC as the sender of feedback (NACK, PLI, RR) on the publisher's transport. */
  feedbackSsrc: number;
  transport: RtcpSink;
  /** Packets kept for retransmission (video); ~1 s at 1 Mbit/s. */
  cacheSize?: number;
  /** Audio: the negotiated id of the RFC 6464 audio level extension, when the publisher sends it. */
  audioLevelExtensionId?: number;
}

export interface ProducerEvents {
  close: [];
}

export class Producer extends TypedEmitter<ProducerEvents> {
  readonly id: string;
  readonly kind: MediaKind;
  readonly ownerId: string;
  readonly mid: string;
  readonly ssrc: number;
  readonly rtxSsrc: number | undefined;
  readonly codec: CodecParameters;
  readonly consumers = new Set<Consumer>();
  readonly cache: PacketCache | null;
  readonly stats: ReceiveStats;
  readonly keyframes: KeyframeRequester;
  /** Audio with the RFC 6464 extension negotiated: the levels the active speaker observer reads. */
  readonly audioLevel: AudioLevelMeter | null;
  private readonly nack: NackRequester | null;
  private readonly feedbackSsrc: number;
  private readonly transport: RtcpSink;
  private readonly view = new RtpHeaderView();
  private readonly rtxScratch = Buffer.allocUnsafe(MAX_CACHED_PACKET);
  private readonly nackSeqs: number[] = [];
  private readonly rtcpScratch = Buffer.allocUnsafe(1200);
  closed = false;
  packetsReceived = 0;
  retransmissionsReceived = 0;
  nacksSent = 0;
  keyframesReceived = 0;
  /** Packets that came as RED (RFC 2198), among packetsReceived. */
  redPacketsReceived = 0;

  constructor(opts: ProducerOptions) {
    super();
    this.id = opts.id;
    this.kind = opts.kind;
    this.ownerId = opts.ownerId;
    this.mid = opts.mid;
    this.ssrc = opts.ssrc;
    this.rtxSsrc = opts.rtxSsrc;
    this.codec = opts.codec;
    this.feedbackSsrc = opts.feedbackSsrc;
    this.transport = opts.transport;
    const video = opts.kind === 'video';
    this.cache = video ? new PacketCache(opts.cacheSize ?? 1024) : null;
    this.nack = video && hasFeedback(opts.codec, 'nack') ? new NackRequester() : null;
    this.stats = new ReceiveStats(opts.ssrc, opts.codec.clockRate);
    this.keyframes = new KeyframeRequester(() => this.sendPli());
    this.audioLevel = !video && opts.audioLevelExtensionId !== undefined ? new AudioLevelMeter(opts.audioLevelExtensionId) : null;
  }

  /** A plain (decrypted) RTP packet on this producer's SSRC or RTX SSRC, already parsed into `view`. */
  receive(packet: Buffer, view: RtpHeaderView, now: number): void {
    if (this.closed) return;
    let isRetransmission = false;
    if (view.ssrc !== this.ssrc) {
      // RFC 4588: restore the original packet, then treat it like a late arrival.
      const len = unwrapRtx(packet, view, this.rtxScratch, this.ssrc, this.codec.payloadType);
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
      this.stats.onPacket(view.sequenceNumber, view.timestamp, now, packet.length);
    }
    if (this.nack && this.nack.onPacket(view.sequenceNumber, now)) this.requestKeyframe();
    if (view.payloadLength === 0) return; // padding only: nothing to forward
    this.cache?.put(view.sequenceNumber, packet);
    const keyframe = this.kind === 'video' && isVp8Keyframe(packet, view.headerLength, view.payloadLength);
    if (keyframe) this.keyframesReceived++;
    for (const c of this.consumers) c.forward(packet, view, keyframe, isRetransmission, now);
  }

  /** PLI toward the publisher, at most one per second (KeyframeRequester). */
  requestKeyframe(): void {
    if (this.kind === 'video' && !this.closed) this.keyframes.request();
  }

  /** Called by the transport's feedback timer: NACKs for packets still missing. */
  sendNacks(now: number): void {
    if (!this.nack || this.closed) return;
    this.nackSeqs.length = 0;
    if (this.nack.collect(now, this.nackSeqs)) this.requestKeyframe();
    if (this.nackSeqs.length === 0) return;
    const len = writeNack(this.rtcpScratch, 0, { senderSsrc: this.feedbackSsrc, mediaSsrc: this.ssrc, seqs: this.nackSeqs });
    this.nacksSent += this.nackSeqs.length;
    this.transport.sendRtcp(this.rtcpScratch.subarray(0, len));
  }

  senderReport(ntpSec: number, ntpFrac: number, now: number): void {
    this.stats.onSenderReport(ntpSec, ntpFrac, now);
  }

  reportBlock(now: number): ReportBlock | null {
    return this.stats.hasData ? this.stats.report(now) : null;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.keyframes.close();
    for (const c of [...this.consumers]) c.close();
    this.consumers.clear();
    this.emit('close');
    this.removeAllListeners();
  }

  private sendPli(): void {
    const len = writePli(this.rtcpScratch, 0, { senderSsrc: this.feedbackSsrc, mediaSsrc: this.ssrc });
    this.transport.sendRtcp(this.rtcpScratch.subarray(0, len));
  }
}

function hasFeedback(codec: CodecParameters, type: string): boolean {
  return codec.rtcpFeedback.some((f) => f.type === type && (f.parameter === undefined || f.parameter === ''));
}
