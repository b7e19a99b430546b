/**
 * One RTP stream of a producer: the only one of a plain track, or one simulcast layer (a rid).
 * Everything that is per SSRC lives here: the RTX SSRC, the packet cache that answers
 * subscribers' NACKs, loss detection toward the publisher (NACK), receive statistics for the
 * RR, throttled keyframe requests (PLI for this SSRC), the measured bitrate per temporal layer
 * and the frame size learned from keyframes.
 *
 * A rid layer's SSRCs are not signalled (RFC 8853 §5.2): they are bound from the first packets
 * carrying the layer's rid (or repaired-rid for its RTX stream), see RidBinder.
 */
import { writeNack, writePli, type ReportBlock } from '../rtc/rtcp/index.js';
import type { CodecParameters, RtcpSink } from './types.js';
import { KeyframeRequester } from './receive/KeyframeRequester.js';
import { LayerBitrate } from './receive/LayerBitrate.js';
import { NackRequester } from './receive/NackRequester.js';
import { PacketCache } from './receive/PacketCache.js';
import { ReceiveStats } from './receive/ReceiveStats.js';

export interface ProducerStreamOptions {
  /** Spatial index among the producer's streams (0 = lowest). */
  index: number;
  rid?: string;
  ssrc?: number | undefined;
  rtxSsrc?: number | undefined;
  codec: CodecParameters;
  video: boolean;
  nack: boolean;
  feedbackSsrc: number;
  feedback: RtcpSink;
  cacheSize: number;
  rtcpScratch: Buffer;
}

export class ProducerStream {
  readonly index: number;
  readonly rid: string | undefined;
  /** 0 until bound (rid layers). */
  ssrc: number;
  rtxSsrc: number | undefined;
  readonly cache: PacketCache | null;
  readonly nack: NackRequester | null;
  stats: ReceiveStats;
  readonly keyframes: KeyframeRequester;
  readonly bitrate = new LayerBitrate();
  /** Frame size from the last keyframe (0 until one arrives). */
  width = 0;
  height = 0;
  packetsReceived = 0;
  keyframesReceived = 0;
  nacksSent = 0;
  private readonly nackSeqs: number[] = [];

  constructor(private readonly opts: ProducerStreamOptions) {
    this.index = opts.index;
    this.rid = opts.rid;
    this.ssrc = opts.ssrc ?? 0;
    this.rtxSsrc = opts.rtxSsrc;
    this.cache = opts.video ? new PacketCache(opts.cacheSize) : null;
    this.nack = opts.video && opts.nack ? new NackRequester() : null;
    this.stats = new ReceiveStats(this.ssrc, opts.codec.clockRate);
    this.keyframes = new KeyframeRequester(() => this.sendPli());
  }

  get bound(): boolean {
    return this.ssrc !== 0;
  }

  /** The publisher's encoder started this layer on a new SSRC (or for the first time). */
  bind(ssrc: number): void {
    if (ssrc === this.ssrc) return;
    this.ssrc = ssrc;
    this.stats = new ReceiveStats(ssrc, this.opts.codec.clockRate);
    this.nack?.reset();
  }

  /** PLI for this stream, at most one per second. */
  requestKeyframe(): void {
    if (this.bound) this.keyframes.request();
  }

  sendNacks(now: number, onGiveUp: () => void): void {
    if (!this.nack || !this.bound) return;
    this.nackSeqs.length = 0;
    if (this.nack.collect(now, this.nackSeqs)) onGiveUp();
    if (this.nackSeqs.length === 0) return;
    const scratch = this.opts.rtcpScratch;
    const len = writeNack(scratch, 0, { senderSsrc: this.opts.feedbackSsrc, mediaSsrc: this.ssrc, seqs: this.nackSeqs });
    this.nacksSent += this.nackSeqs.length;
    this.opts.feedback.sendRtcp(scratch.subarray(0, len));
  }

  reportBlock(now: number): ReportBlock | null {
    return this.bound && this.stats.hasData ? this.stats.report(now) : null;
  }

  close(): void {
    this.keyframes.close();
  }

  private sendPli(): void {
    const scratch = this.opts.rtcpScratch;
    const len = writePli(scratch, 0, { senderSsrc: this.opts.feedbackSsrc, mediaSsrc: this.ssrc });
    this.opts.feedback.sendRtcp(scratch.subarray(0, len));
  }
}
