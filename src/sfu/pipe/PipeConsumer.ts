/**
 * PipeConsumer: the sending end of a piped producer — a MediaSink on the producer's FanOut that
 * sends every packet of every layer, as it came from the publisher (after RTX restoration and
 * duplicate removal), over a pipe transport to a Router on another worker or node. Only the
 * SSRC changes: each spatial stream gets a fixed pipe SSRC, so the far side tells the layers
 * apart without rids. Sequence numbers and timestamps are the publisher's, so the far side's
 * NACKs name packets of the origin producer's PacketCache.
 *
 * It answers the far side's feedback the way a Consumer answers a subscriber's: a NACK is
 * answered from the origin cache (the original packet again, on its pipe SSRC: no RTX on a
 * pipe), a PLI or FIR becomes the producer's throttled keyframe request for that layer.
 *
 * It is a LayeredReceiver of the producer's LayerDemand: the layers the far side needs are
 * not paused at the publisher. The caller feeds `setDemand` from the far producer's demand
 * (see `producePiped`'s `onDemand`); until then every layer counts as needed.
 */
import { SwitchboardError } from '../../protocol/errors.js';
import { TypedEmitter } from '../../util/TypedEmitter.js';
import type { RtpHeaderView } from '../../rtc/rtp/index.js';
import type { Layers } from '../forward/LayerSelector.js';
import type { LayeredReceiver } from '../LayerDemand.js';
import type { MediaSink } from '../MediaSink.js';
import type { Producer } from '../Producer.js';
import type { ProducerStream } from '../ProducerStream.js';
import type { PacketInfo } from '../receive/packet-info.js';
import { MAX_CACHED_PACKET } from '../receive/PacketCache.js';
import type { FeedbackTarget } from '../send/TransportSender.js';
import type { SfuTransport } from '../SfuTransport.js';
import { pipeProducerParameters, type PipeProducerParameters } from './parameters.js';

/** VP9 spatial ids are 3 bits: "every layer" is 0–7 whatever the producer has. */
const MAX_SPATIAL = 7;
const MAX_TEMPORAL = 7;
const SSRC_OFFSET = 8;
/**
 * Resends remembered per layer (a power of two, as many as the origin cache holds by default),
 * and how long one blocks another of the same packet: the far side asks again after 40 ms at
 * the earliest (NackRequester), so a repeat sooner is a duplicate in one NACK or a misbehaving
 * peer, and resending it would only add load to a link that is losing already.
 */
const RESEND_SLOTS = 1024;
const RESEND_GUARD_MS = 20;

export interface PipeConsumerOptions {
  id: string;
  producer: Producer;
  /** The Router's transport over the pipe (its MediaTransport is the pipe's socket end). */
  transport: SfuTransport;
  /** One pipe SSRC per producer stream (spatial order), each free on `transport`. */
  ssrcs: readonly number[];
}

export interface PipeConsumerEvents {
  close: [];
  /** `setDemand` changed the layers this pipe needs (the Router updates the producer's LayerDemand). */
  demand: [];
}

export class PipeConsumer extends TypedEmitter<PipeConsumerEvents> implements MediaSink, LayeredReceiver, FeedbackTarget {
  readonly id: string;
  readonly producer: Producer;
  readonly transport: SfuTransport;
  readonly ssrcs: readonly number[];
  /** Lowest and highest spatial layers the far side needs (LayeredReceiver); −1: none. */
  currentLayers: Layers = { spatial: 0, temporal: MAX_TEMPORAL };
  targetLayers: Layers = { spatial: MAX_SPATIAL, temporal: MAX_TEMPORAL };
  private readonly out = Buffer.allocUnsafe(MAX_CACHED_PACKET);
  /** Per layer × RESEND_SLOTS: the sequence number last resent in a slot, and when. */
  private readonly resentSeq: Int32Array;
  private readonly resentAt: Float64Array;
  private readonly onTransportClose = (): void => this.close();
  closed = false;
  packetsSent = 0;
  bytesSent = 0;
  /** Packets longer than a cache slot (1500 bytes): not sent. */
  oversized = 0;
  nacksReceived = 0;
  retransmitted = 0;
  /** NACKed packets the origin cache no longer held. */
  nackMisses = 0;
  /** NACKed packets not resent because they had just been (RESEND_GUARD_MS). */
  resendsSkipped = 0;
  keyframeRequests = 0;

  constructor(opts: PipeConsumerOptions) {
    super();
    this.id = opts.id;
    this.producer = opts.producer;
    this.transport = opts.transport;
    this.ssrcs = [...opts.ssrcs];
    this.resentSeq = new Int32Array(this.ssrcs.length * RESEND_SLOTS).fill(-1);
    this.resentAt = new Float64Array(this.ssrcs.length * RESEND_SLOTS);
    for (const ssrc of this.ssrcs) opts.transport.addFeedbackTarget(ssrc, this);
    opts.transport.on('close', this.onTransportClose);
  }

  /** What the far Router's `producePiped` needs (JSON: send it over the control channel). */
  parameters(): PipeProducerParameters {
    return pipeProducerParameters(this.producer, this.ssrcs);
  }

  /**
   * The layers the far side needs (index = spatial layer; its producer's LayerDemand, as
   * `producePiped`'s `onDemand` reports it). Layers between two needed ones count as needed
   * (LayerDemand marks a receiver's range); none needed lets the publisher pause all but its
   * lowest layer.
   */
  setDemand(needed: readonly boolean[]): void {
    // It came over the control channel: a list, or the caller is told.
    if (!Array.isArray(needed)) throw new SwitchboardError('invalid-argument', 'pipe demand must be a list of booleans', 'needed');
    if (this.closed) return;
    let lo = -1;
    let hi = -1;
    for (let s = 0; s < needed.length && s <= MAX_SPATIAL; s++) {
      if (needed[s] !== true) continue;
      if (lo < 0) lo = s;
      hi = s;
    }
    if (lo === this.currentLayers.spatial && hi === this.targetLayers.spatial) return;
    this.currentLayers = { spatial: lo, temporal: MAX_TEMPORAL };
    this.targetLayers = { spatial: hi, temporal: MAX_TEMPORAL };
    this.emit('demand');
  }

  onRtp(packet: Buffer, _view: RtpHeaderView, _info: PacketInfo, stream: ProducerStream): void {
    if (this.closed) return;
    const ssrc = this.ssrcs[stream.index];
    if (ssrc !== undefined) this.send(packet, ssrc);
  }

  /** The far side's NACK for pipe SSRC `mediaSsrc`: the cached originals again, on that SSRC. */
  handleNack(seqs: readonly number[], mediaSsrc: number): void {
    if (this.closed) return;
    const layer = this.ssrcs.indexOf(mediaSsrc);
    const cache = layer < 0 ? null : this.producer.cacheOf(layer);
    this.nacksReceived += seqs.length;
    if (!cache) return;
    const now = performance.now();
    for (let i = 0; i < seqs.length; i++) {
      const seq = seqs[i] as number;
      const slot = layer * RESEND_SLOTS + (seq & (RESEND_SLOTS - 1));
      if (this.resentSeq[slot] === seq && now - (this.resentAt[slot] as number) < RESEND_GUARD_MS) {
        this.resendsSkipped++;
        continue;
      }
      const cached = cache.get(seq);
      if (!cached) {
        this.nackMisses++;
        continue;
      }
      this.resentSeq[slot] = seq;
      this.resentAt[slot] = now;
      this.retransmitted++;
      this.send(cached, mediaSsrc);
    }
  }

  /** The far side's PLI or FIR for pipe SSRC `mediaSsrc`: a keyframe of that layer from the publisher. */
  requestKeyframe(mediaSsrc: number): void {
    if (this.closed) return;
    const layer = this.ssrcs.indexOf(mediaSsrc);
    if (layer < 0) return;
    this.keyframeRequests++;
    this.producer.requestKeyframe(this.producer.simulcast ? layer : undefined);
  }

  /** Stops piping: the far side should close its producer (the caller tells it). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const ssrc of this.ssrcs) this.transport.removeFeedbackTarget(ssrc, this);
    this.transport.off('close', this.onTransportClose);
    this.emit('close');
    this.removeAllListeners();
  }

  /**
   * A copy with the pipe SSRC (the packet itself is shared with the producer's other sinks),
   * straight to the pipe's network transport: a pipe has no congestion feedback for the
   * transport's bandwidth estimator to account.
   */
  private send(packet: Buffer, ssrc: number): void {
    const len = packet.length;
    if (len > this.out.length || len < SSRC_OFFSET + 4) {
      this.oversized++;
      return;
    }
    packet.copy(this.out, 0, 0, len);
    this.out.writeUInt32BE(ssrc, SSRC_OFFSET);
    this.packetsSent++;
    this.bytesSent += len;
    this.transport.media.sendRtp(this.out.subarray(0, len));
  }
}
