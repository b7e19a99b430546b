/**
 * MediaSink: anything that receives a producer's packets — a Consumer (toward one subscriber),
 * the MCU's decoders, a pipe to another worker or node (PipeConsumer), later a recorder. The Router connects
 * sinks to producers (FanOut); a sink never registers itself on a producer.
 *
 * A sink sees every packet a consumer would: after RTX restoration and duplicate removal. The
 * packet, its view and its description are valid only during the call (they are reused).
 */
import type { RtpHeaderView } from '../rtc/rtp/index.js';
import type { ProducerStream } from './ProducerStream.js';
import type { PacketInfo } from './receive/packet-info.js';

export interface MediaSink {
  onRtp(packet: Buffer, view: RtpHeaderView, info: PacketInfo, stream: ProducerStream, isRetransmission: boolean, now: number): void;
  /** The producer closed: the sink closes too. */
  close(): void;
}

/**
 * One producer's receivers, owned by the Router: the producer hands every packet to its
 * FanOut, which hands it to each sink in turn. An array, not a Set: the per-packet loop
 * allocates no iterator.
 */
export class FanOut implements MediaSink {
  private readonly sinks: MediaSink[] = [];

  get size(): number {
    return this.sinks.length;
  }

  add(sink: MediaSink): void {
    if (!this.sinks.includes(sink)) this.sinks.push(sink);
  }

  delete(sink: MediaSink): void {
    const i = this.sinks.indexOf(sink);
    if (i >= 0) this.sinks.splice(i, 1);
  }

  has(sink: MediaSink): boolean {
    return this.sinks.includes(sink);
  }

  values(): readonly MediaSink[] {
    return this.sinks;
  }

  onRtp(packet: Buffer, view: RtpHeaderView, info: PacketInfo, stream: ProducerStream, isRetransmission: boolean, now: number): void {
    const sinks = this.sinks;
    for (let i = 0; i < sinks.length; i++) (sinks[i] as MediaSink).onRtp(packet, view, info, stream, isRetransmission, now);
  }

  /** Closes every sink (a closing sink may remove itself meanwhile: iterate a copy). */
  close(): void {
    const sinks = [...this.sinks];
    this.sinks.length = 0;
    for (const s of sinks) s.close();
  }
}
