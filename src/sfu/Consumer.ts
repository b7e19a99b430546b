/**
 * Consumer: one producer's track as sent to one subscriber. It owns the outgoing stream's
 * identity — its own SSRC, payload type, sequence numbers and timestamps, rewritten so the
 * subscriber sees one continuous stream whatever happens upstream — and answers that
 * subscriber's feedback: NACKs from the producer's packet cache as RTX (RFC 4588), PLI/FIR as
 * a throttled keyframe request to the publisher.
 *
 * A video consumer starts with a keyframe: until one arrives it forwards nothing (a decoder
 * cannot start mid-GOP) and it asks the publisher for one when it is created.
 *
 * Layered video (simulcast streams, VP9 SVC, VP8 temporal layers): a LayerSelector decides per
 * packet; ConsumerLayers holds the preferred (render size), allocator limit and target layers.
 * The VP8 munger keeps PictureID/TL0PICIDX continuous across switches and temporal drops.
 */
import { writeSenderReport, type NtpTime } from '../rtc/rtcp/index.js';
import {
  RedBlocks,
  RtpHeaderView,
  Vp8Descriptor,
  parseRed,
  parseRtpHeader,
  parseVp8Descriptor,
  rewriteRedPayloadTypes,
  setMarker,
  writeRtpHeader,
  type RtpHeaderFields,
} from '../rtc/rtp/index.js';
import { TypedEmitter } from '../util/TypedEmitter.js';
import { TRANSPORT_CC_SLOT } from './bwe/transport-cc-extension.js';
import { ConsumerLayers } from './forward/ConsumerLayers.js';
import { LayerSelector, Verdict, type Layers } from './forward/LayerSelector.js';
import type { MediaSink } from './MediaSink.js';
import type { PacketInfo } from './receive/packet-info.js';
import type { ProducerStream } from './ProducerStream.js';
import type { ProducerView } from './ProducerView.js';
import { RtpStreamRewriter } from './forward/rewriter.js';
import type { MediaKind, RtpSink } from './types.js';
import { Vp8Munger } from './forward/vp8-munger.js';

export interface ConsumerOptions {
  id: string;
  producer: ProducerView;
  /** The subscribing participant. */
  subscriberId: string;
  transport: RtpSink;
  ssrc: number;
  rtxSsrc?: number;
  payloadType: number;
  rtxPayloadType?: number;
  /** Audio: our RED payload type offered to the subscriber (used once `useRed(true)`). */
  redPayloadType?: number;
}

export interface ConsumerEvents {
  close: [];
  /** The target layers changed (the Router updates the producer's LayerDemand). */
  'target-layers': [target: Layers];
}

/** A forwarded simulcast stream silent this long is given up: any keyframe up to the target restarts. */
const STALL_MS = 1000;

const MAX_PACKET = 1500;
/** Resends remembered per sequence number (a power of two), and how long one blocks another. */
const RESEND_SLOTS = 1024;
const RESEND_GUARD_MS = 100;
/** RFC 3550 §5.1: the padding count is one octet. */
const MAX_PADDING = 255;
/** RFC 4588 §4: the RTX payload starts with the original sequence number. */
const OSN_LENGTH = 2;
/** Our SRs carry no report blocks: the transport's RR does (one per transport, not per stream). */
const NO_REPORTS: never[] = [];

export class Consumer extends TypedEmitter<ConsumerEvents> implements MediaSink {
  readonly id: string;
  readonly producer: ProducerView;
  readonly kind: MediaKind;
  readonly subscriberId: string;
  readonly ssrc: number;
  readonly rtxSsrc: number | undefined;
  readonly payloadType: number;
  readonly rtxPayloadType: number | undefined;
  readonly redPayloadType: number | undefined;
  /** Whether the subscriber's answer kept RED: then RED goes through, else only its primary block. */
  private redActive = false;
  private readonly redBlocks = new RedBlocks();
  private readonly transport: RtpSink;
  private readonly rewriter: RtpStreamRewriter;
  private readonly out = Buffer.allocUnsafe(MAX_PACKET);
  private readonly header: RtpHeaderFields;
  private readonly outView = new RtpHeaderView();
  private readonly cachedView = new RtpHeaderView();
  /** Output timestamp − input timestamp of the current source (mod 2^32), for retransmissions. */
  private tsOffset = 0;
  private started = false;
  /** Video only. */
  readonly selector: LayerSelector | null;
  readonly layers: ConsumerLayers | null;
  private readonly munger = new Vp8Munger();
  private readonly nackDescriptor = new Vp8Descriptor();
  private lastForwardAt = 0;
  private rtxSeq = Math.floor(Math.random() * 0x10000);
  closed = false;
  // For RTCP SR (RFC 3550 §6.4.1).
  packetsSent = 0;
  octetsSent = 0;
  lastRtpTimestamp = 0;
  lastSentAt = 0;
  retransmitted = 0;
  /** NACKed packets not resent because they had just been (RESEND_GUARD_MS). */
  resendsSkipped = 0;
  private readonly resentSeq = new Int32Array(RESEND_SLOTS).fill(-1);
  private readonly resentAt = new Float64Array(RESEND_SLOTS);
  nacksReceived = 0;
  keyframeRequests = 0;
  /** RED packets dropped: malformed headers, or a primary block that is not the codec. */
  redDropped = 0;

  constructor(opts: ConsumerOptions) {
    super();
    this.id = opts.id;
    this.producer = opts.producer;
    this.kind = opts.producer.kind;
    this.subscriberId = opts.subscriberId;
    this.transport = opts.transport;
    this.ssrc = opts.ssrc;
    this.rtxSsrc = opts.rtxSsrc;
    this.payloadType = opts.payloadType;
    this.rtxPayloadType = opts.rtxPayloadType;
    this.redPayloadType = opts.redPayloadType;
    this.header = { marker: false, payloadType: opts.payloadType, sequenceNumber: 0, timestamp: 0, ssrc: opts.ssrc };
    this.rewriter = new RtpStreamRewriter({ ssrc: opts.ssrc, clockRate: opts.producer.codec.clockRate });
    // Audio needs no keyframe; video waits for one and asks for it now (every layer, so
    // that each layer's size is learned from its keyframe).
    if (this.kind === 'audio') {
      this.started = true;
      this.selector = null;
      this.layers = null;
    } else {
      const p = this.producer;
      const svc = p.codecKind === 'vp9' && !p.simulcast;
      // SVC learns its spatial layers from the stream (up to 8); a plain track has one.
      this.selector = new LayerSelector(svc ? 'svc' : 'simulcast', p.simulcast ? p.spatialLayers - 1 : svc ? 7 : 0, 7);
      this.layers = new ConsumerLayers(p, this.selector, (target, up) => {
        // Up needs a keyframe of the new layer; so does any simulcast switch (another stream).
        if (up || (p.simulcast && target.spatial !== this.selector?.current.spatial)) this.producer.requestKeyframe(target.spatial);
        this.emit('target-layers', target);
      });
      this.producer.requestKeyframe();
    }
  }

  /** The layers being forwarded now (spatial −1 before the first keyframe or when paused). */
  get currentLayers(): Layers {
    return this.selector?.current ?? { spatial: 0, temporal: 0 };
  }
  get preferredLayers(): Layers {
    return this.layers?.preferred ?? { spatial: 0, temporal: 0 };
  }
  get targetLayers(): Layers {
    return this.selector?.target ?? { spatial: 0, temporal: 0 };
  }

  /** The allocator's limit (≤ preferred applies); spatial −1 pauses the consumer. */
  setTargetLayers(limit: Layers): void {
    this.layers?.setLimit(limit);
  }
  pause(): void {
    this.layers?.setLimit({ spatial: -1, temporal: 0 });
  }
  /** The size the subscriber renders this track at (device pixels); 0 × 0 = unknown. */
  setRenderSize(width: number, height: number): void {
    this.layers?.setRenderSize(width, height);
  }

  /** From the producer's FanOut: a plain RTP packet of `stream` parsed into `view`, described by `info`. */
  onRtp(packet: Buffer, view: RtpHeaderView, info: PacketInfo, _stream: ProducerStream, isRetransmission: boolean, now: number): void {
    if (this.closed) return;
    const selector = this.selector;
    let marker = false;
    if (selector) {
      if (isRetransmission) {
        // A late copy: forwarded only if it belongs to what is forwarded now; never moves layers.
        if (!this.started || !selector.accepts(info)) return;
      } else {
        if (this.producer.simulcast && selector.current.spatial >= 0 && now - this.lastForwardAt > STALL_MS) {
          // The forwarded stream went silent (paused or dropped by the publisher): restart on any layer.
          selector.current.spatial = -1;
          for (let s = 0; s <= selector.target.spatial; s++) this.producer.requestKeyframe(s);
        }
        const verdict = selector.select(info);
        if (verdict === Verdict.Skip) return;
        if (verdict === Verdict.Drop) {
          this.rewriter.drop(view, now);
          if (info.hasVp8) this.munger.drop(info.vp8);
          return;
        }
        if (verdict === Verdict.Switch) {
          this.rewriter.switchSource();
          this.munger.switchSource();
          this.started = true;
        }
        marker = selector.setMarker;
      }
      if (!this.started) return;
      this.lastForwardAt = now;
    } else if (!this.started) {
      return;
    }
    // Copy with a fresh header first (input numbering), then renumber the copy in place.
    let start = view.headerLength;
    let length = view.payloadLength;
    let pt = this.payloadType;
    const red = this.producer.codec.redPayloadType;
    const isRed = red !== undefined && view.payloadType === red;
    if (isRed) {
      if (this.redActive) {
        pt = this.redPayloadType as number;
      } else {
        // RFC 2198 §3: the primary block is the last; a subscriber without RED gets just that.
        const b = this.redBlocks;
        if (
          !parseRed(packet, start, start + length, b) ||
          b.payloadTypes[b.count - 1] !== this.producer.codec.payloadType ||
          b.lengths[b.count - 1] === 0
        ) {
          this.redDropped++;
          return;
        }
        start = b.offsets[b.count - 1] as number;
        length = b.lengths[b.count - 1] as number;
      }
    }
    const len = this.writePacket(packet, view, view.sequenceNumber, view.timestamp, false, start, length, pt);
    if (len < 0) return;
    const out = this.out.subarray(0, len);
    // The blocks inside keep the publisher's codec payload type: name ours instead (RFC 2198 §3 block PT).
    if (isRed && this.redActive && !rewriteRedPayloadTypes(out, len - length, len, this.producer.codec.payloadType, this.payloadType)) {
      this.redDropped++;
      return;
    }
    if (!parseRtpHeader(out, this.outView) || !this.rewriter.rewrite(out, this.outView, now)) return;
    if (info.hasVp8) this.munger.rewrite(out, this.outView.headerLength, info.vp8);
    if (marker) setMarker(out, true);
    const ts = out.readUInt32BE(4);
    this.tsOffset = (ts - view.timestamp) >>> 0;
    this.packetsSent++;
    this.octetsSent += length;
    if (ts === this.rewriter.lastOutputTimestamp) {
      this.lastRtpTimestamp = ts;
      this.lastSentAt = now;
    }
    this.transport.sendRtp(out);
  }

  /**
   * Writes this stream's sender report (RFC 3550 §6.4.1) at `off` in `out` and returns its
   * length; 0 before the first packet (nothing to report). The RTP timestamp is "now" in the
   * stream's clock, extrapolated from its last packet.
   */
  writeSenderReport(out: Buffer, off: number, ntp: NtpTime, now: number): number {
    if (this.packetsSent === 0) return 0;
    const clock = this.producer.codec.clockRate;
    const rtpTimestamp = (this.lastRtpTimestamp + Math.round(((now - this.lastSentAt) * clock) / 1000)) >>> 0;
    return writeSenderReport(out, off, {
      ssrc: this.ssrc,
      ntpSec: ntp.sec,
      ntpFrac: ntp.frac,
      rtpTimestamp,
      packetCount: this.packetsSent >>> 0,
      octetCount: this.octetsSent >>> 0,
      reports: NO_REPORTS,
    });
  }

  /** The subscriber's answer kept (true) or dropped our RED payload type. */
  useRed(on: boolean): void {
    this.redActive = on && this.redPayloadType !== undefined;
  }

  get sendsRed(): boolean {
    return this.redActive;
  }

  /** The subscriber NACKed these (our) sequence numbers: resend what the cache still has. */
  handleNack(seqs: readonly number[]): void {
    const current = this.selector?.current.spatial ?? 0;
    const cache = this.producer.cacheOf(current);
    if (this.closed || !cache) return;
    this.nacksReceived += seqs.length;
    const now = performance.now();
    for (const outSeq of seqs) {
      // A packet resent moments ago is still on its way: resending it again only floods a
      // link that is already losing (libwebrtc likewise waits about an RTT per packet).
      const r = outSeq & (RESEND_SLOTS - 1);
      if (this.resentSeq[r] === outSeq && now - (this.resentAt[r] as number) < RESEND_GUARD_MS) {
        this.resendsSkipped++;
        continue;
      }
      const inSeq = this.rewriter.mapSeqBack(outSeq);
      if (inSeq === undefined) continue;
      const cached = cache.get(inSeq);
      if (!cached || !parseRtpHeader(cached, this.cachedView)) continue;
      const view = this.cachedView;
      const ts = (view.timestamp + this.tsOffset) >>> 0;
      const rtx = this.rtxSsrc !== undefined && this.rtxPayloadType !== undefined;
      const len = this.writePacket(cached, view, outSeq, ts, rtx);
      if (len < 0) continue;
      this.resentSeq[r] = outSeq;
      this.resentAt[r] = now;
      if (this.producer.codecKind === 'vp8') this.mungeRetransmission(len);
      this.retransmitted++;
      const packet = this.out.subarray(0, len);
      if (rtx && this.transport.sendRtx) this.transport.sendRtx(packet);
      else this.transport.sendRtp(packet);
    }
  }

  /**
   * Writes a padding-only RTX packet (RFC 4588 §4 on the RTX SSRC, RFC 3550 §5.1 padding) of
   * `paddingBytes` (1–255) into `out` for bandwidth probes; returns its length, or 0 when this
   * consumer has no RTX stream or has not sent yet (the receiver would not know the stream).
   */
  writePadding(out: Buffer, paddingBytes: number): number {
    if (this.closed || this.rtxSsrc === undefined || this.rtxPayloadType === undefined || this.packetsSent === 0) return 0;
    const padding = Math.min(Math.max(Math.floor(paddingBytes), 1), MAX_PADDING);
    const h = this.header;
    h.marker = false;
    h.timestamp = this.lastRtpTimestamp;
    h.payloadType = this.rtxPayloadType;
    h.ssrc = this.rtxSsrc;
    this.rtxSeq = (this.rtxSeq + 1) & 0xffff;
    h.sequenceNumber = this.rtxSeq;
    const headerLength = writeRtpHeader(out, 0, h, TRANSPORT_CC_SLOT);
    if (headerLength + padding > out.length) return 0;
    out[0] = (out[0] as number) | 0x20; // P bit
    out.fill(0, headerLength, headerLength + padding - 1);
    out[headerLength + padding - 1] = padding;
    return headerLength + padding;
  }

  /** The subscriber sent PLI or FIR: a keyframe of the layer it receives (or is about to). */
  requestKeyframe(): void {
    if (this.closed) return;
    this.keyframeRequests++;
    const s = this.selector;
    if (!s || !this.producer.simulcast) this.producer.requestKeyframe();
    else this.producer.requestKeyframe(s.current.spatial >= 0 ? s.current.spatial : s.target.spatial);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.layers?.close();
    this.emit('close');
    this.removeAllListeners();
  }

  /** A VP8 retransmission (in `this.out`, RTX or not) gets the picture ids its first copy got. */
  private mungeRetransmission(len: number): void {
    if (!parseRtpHeader(this.out.subarray(0, len), this.outView)) return;
    const rtx = this.outView.ssrc === this.rtxSsrc && this.rtxSsrc !== this.ssrc;
    const start = this.outView.headerLength + (rtx ? OSN_LENGTH : 0);
    const length = this.outView.payloadLength - (rtx ? OSN_LENGTH : 0);
    if (parseVp8Descriptor(this.out, start, length, this.nackDescriptor)) this.munger.rewrite(this.out, start, this.nackDescriptor);
  }

  /**
   * Writes the outgoing packet into `this.out`: a fresh header (our SSRC and payload type;
   * the publisher's header extensions are dropped since their ids belong to its negotiation,
   * not the subscriber's; an empty transport-cc slot the transport stamps), then the payload. As RTX, the payload is preceded by the OSN.
   */
  private writePacket(
    packet: Buffer,
    view: RtpHeaderView,
    seq: number,
    ts: number,
    rtx = false,
    payloadStart = view.headerLength,
    payloadLength = view.payloadLength,
    payloadType = this.payloadType,
  ): number {
    const h = this.header;
    h.marker = view.marker;
    h.timestamp = ts;
    if (rtx) {
      h.payloadType = this.rtxPayloadType as number;
      h.ssrc = this.rtxSsrc as number;
      this.rtxSeq = (this.rtxSeq + 1) & 0xffff;
      h.sequenceNumber = this.rtxSeq;
    } else {
      h.payloadType = payloadType;
      h.ssrc = this.ssrc;
      h.sequenceNumber = seq;
    }
    const extra = rtx ? OSN_LENGTH : 0;
    const headerLength = writeRtpHeader(this.out, 0, h, TRANSPORT_CC_SLOT);
    if (headerLength + extra + payloadLength > this.out.length) return -1;
    if (rtx) this.out.writeUInt16BE(seq, headerLength);
    packet.copy(this.out, headerLength + extra, payloadStart, payloadStart + payloadLength);
    return headerLength + extra + payloadLength;
  }
}
