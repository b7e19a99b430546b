/**
 * Router: one room's media core. It makes the room's transports (through the factory it is
 * given), keeps the room's producers, and owns who receives what: each producer's FanOut
 * (every MediaSink of it — consumers, the MCU's decoders, pipes to other Routers, later
 * recorders) and its LayerDemand (the layers those receivers need, aggregated once).
 *
 * It knows nothing of SDP, signaling, participants or sockets: the session layer (src/session)
 * decides who consumes what, and the transports come from the injected factory.
 *
 * Pipes (./pipe/): `createPipeTransport` runs a transport over a pipe's end the caller made,
 * `pipeProducer` sends a producer over it to another Router (a PipeConsumer sink), and
 * `producePiped` is the far Router's side: a Producer fed by the pipe.
 *
 * Close cascade: router → transports → producers (→ every sink) and consumers.
 */
import { SwitchboardError } from '../protocol/errors.js';
import { randomSsrc } from '../rtc/rtp/index.js';
import { TypedEmitter } from '../util/TypedEmitter.js';
import type { BandwidthEstimatorOptions } from './bwe/BandwidthEstimator.js';
import { Consumer, type ConsumerOptions } from './Consumer.js';
import { LayerDemand } from './LayerDemand.js';
import { FanOut, type MediaSink } from './MediaSink.js';
import type { MediaTransport, MediaTransportFactory } from './MediaTransport.js';
import { reportLayerDemand } from './pipe/demand-report.js';
import { parsePipeProducerParameters } from './pipe/parameters.js';
import { PipeConsumer } from './pipe/PipeConsumer.js';
import { Producer, type ProducerOptions } from './Producer.js';
import { SfuTransport } from './SfuTransport.js';
import type { RtcpSink, RtpSink } from './types.js';

export interface RouterOptions<T extends MediaTransport> {
  /** Makes the network side of each transport the router creates. */
  createMediaTransport: MediaTransportFactory<T>;
  /** Bandwidth estimation settings of every transport. */
  bwe?: BandwidthEstimatorOptions;
}

export interface RouterEvents {
  close: [];
  /** A producer was made (by a publisher's transport, or by the server itself). */
  producer: [producer: Producer];
}

/** A producer fed by a publisher's transport, or by the server itself (`feedback`: where its RTCP goes). */
export type ProduceOptions<T extends MediaTransport> = Omit<ProducerOptions, 'output' | 'feedback' | 'feedbackSsrc'> &
  ({ transport: SfuTransport<T> } | { feedback: RtcpSink; feedbackSsrc?: number });

export type ConsumeOptions = Omit<ConsumerOptions, 'producer' | 'transport'>;

export interface ProducePipedOptions {
  /**
   * Where the layers this producer's receivers need go (index = spatial layer): called at once,
   * then on every change. Carry it to the origin's `pipeConsumer.setDemand`.
   */
  onDemand?: (needed: boolean[]) => void;
}

/** Everything the router keeps about one producer. */
interface ProducerRoute {
  readonly producer: Producer;
  readonly fanOut: FanOut;
  readonly demand: LayerDemand;
  readonly consumers: Set<Consumer>;
  readonly pipes: Set<PipeConsumer>;
}

export class Router<T extends MediaTransport = MediaTransport> extends TypedEmitter<RouterEvents> {
  readonly transports = new Map<string, SfuTransport<T>>();
  /** Transports over pipes to other Routers (their network side made by the caller). */
  readonly pipeTransports = new Map<string, SfuTransport>();
  private readonly routes = new Map<string, ProducerRoute>();
  closed = false;

  constructor(
    readonly name: string,
    private readonly opts: RouterOptions<T>,
  ) {
    super();
  }

  /** A transport of this room; the factory makes its network side. */
  createTransport(id: string): SfuTransport<T> {
    this.assertOpen();
    this.assertNewTransport(id);
    const transport = new SfuTransport(id, this.opts.createMediaTransport(id), this.opts.bwe ?? {});
    this.transports.set(id, transport);
    transport.on('close', () => this.transports.delete(id));
    return transport;
  }

  /**
   * A transport over a pipe to another Router: `media` is the pipe's end, made and connected by
   * the caller (src/rtc/pipe's PipeTransport). Closed with the router; closing it closes what
   * was piped over it, both ways.
   */
  createPipeTransport(id: string, media: MediaTransport): SfuTransport {
    this.assertOpen();
    this.assertNewTransport(id);
    const transport = new SfuTransport(id, media, this.opts.bwe ?? {});
    this.pipeTransports.set(id, transport);
    transport.on('close', () => this.pipeTransports.delete(id));
    return transport;
  }

  produce(opts: ProduceOptions<T>): Producer {
    return this.addProducer(opts);
  }

  /**
   * Sends `producer` over a pipe transport of this router to another Router (PipeConsumer):
   * every layer, on pipe SSRCs of its own. Give `pipe.parameters()` to the far Router's
   * `producePiped`; feed its `onDemand` reports to `pipe.setDemand`.
   */
  pipeProducer(producer: Producer, transport: SfuTransport): PipeConsumer {
    const route = this.route(producer);
    if (this.pipeTransports.get(transport.id) !== transport || transport.closed)
      throw new SwitchboardError('invalid-argument', `transport ${transport.id} is not an open pipe transport of router ${this.name}`);
    for (const p of route.pipes)
      if (p.transport === transport)
        throw new SwitchboardError('invalid-argument', `producer ${producer.id} is already piped on ${transport.id}`);
    const ssrcs: number[] = [];
    for (let i = 0; i < producer.streams.length; i++) {
      let ssrc = randomSsrc();
      while (transport.sender.sendsSsrc(ssrc) || ssrcs.includes(ssrc)) ssrc = randomSsrc();
      ssrcs.push(ssrc);
    }
    const pipe = new PipeConsumer({ id: `${producer.id}>${transport.id}`, producer, transport, ssrcs });
    route.fanOut.add(pipe);
    route.pipes.add(pipe);
    route.demand.add(pipe);
    pipe.on('demand', () => route.demand.update());
    pipe.on('close', () => {
      route.fanOut.delete(pipe);
      route.pipes.delete(pipe);
      route.demand.delete(pipe);
    });
    return pipe;
  }

  /**
   * The receiving end of a pipe: a Producer fed by pipe transport `transport`, made from the
   * origin's `pipe.parameters()` (checked here: they crossed a control channel). It is a
   * producer like a publisher's: consumers, sinks, NACKs (asked over the pipe, answered by the
   * origin's cache), keyframe requests and layer selection work on it unchanged.
   */
  producePiped(parameters: unknown, transport: SfuTransport, opts: ProducePipedOptions = {}): Producer {
    const params = parsePipeProducerParameters(parameters);
    if (this.pipeTransports.get(transport.id) !== transport || transport.closed)
      throw new SwitchboardError('invalid-argument', `transport ${transport.id} is not an open pipe transport of router ${this.name}`);
    for (const p of transport.producers)
      if (p.streams.some((s) => params.ssrcs.includes(s.ssrc)))
        throw new SwitchboardError('invalid-argument', `pipe SSRCs of ${params.producerId} are already in use on ${transport.id}`, 'ssrcs');
    const simulcast = params.layering === 'simulcast';
    const producer = this.addProducer({
      id: params.producerId,
      kind: params.kind,
      ownerId: params.ownerId,
      mid: params.mid,
      codec: params.codec,
      ...(simulcast ? { layerSsrcs: params.ssrcs } : { ssrc: params.ssrcs[0] as number }),
      ...(params.audioLevelExtensionId !== undefined ? { audioLevelExtensionId: params.audioLevelExtensionId } : {}),
      ...(params.encodedBitrates ? { encodedBitrates: params.encodedBitrates } : {}),
      transport,
    });
    producer.source = params.source;
    if (opts.onDemand) reportLayerDemand(this.route(producer).demand, producer.streams.length, opts.onDemand);
    return producer;
  }

  private addProducer(opts: ProduceOptions<MediaTransport>): Producer {
    this.assertOpen();
    if (this.routes.has(opts.id))
      throw new SwitchboardError('invalid-argument', `producer ${opts.id} already exists in router ${this.name}`);
    const fanOut = new FanOut();
    // Fed by a publisher's transport: its feedback goes back on it, from its RTCP SSRC.
    const feedback =
      'transport' in opts
        ? { feedback: opts.transport, feedbackSsrc: opts.transport.rtcpSsrc }
        : { feedback: opts.feedback, feedbackSsrc: opts.feedbackSsrc ?? randomSsrc() };
    const producer = new Producer({ ...opts, ...feedback, output: fanOut });
    const route: ProducerRoute = { producer, fanOut, demand: new LayerDemand(), consumers: new Set(), pipes: new Set() };
    this.routes.set(producer.id, route);
    producer.on('close', () => {
      if (this.routes.get(producer.id) === route) this.routes.delete(producer.id);
      route.demand.close();
    });
    if ('transport' in opts) opts.transport.addProducer(producer);
    this.emit('producer', producer);
    return producer;
  }

  /**
   * Sends `producer` to a subscriber over `transport`: a transport of this router (which then
   * also routes the subscriber's feedback to the consumer), or any RtpSink (a pipe, a recorder).
   */
  consume(producer: Producer, transport: RtpSink, opts: ConsumeOptions): Consumer {
    const route = this.route(producer);
    const consumer = new Consumer({ ...opts, producer, transport });
    route.fanOut.add(consumer);
    route.consumers.add(consumer);
    if (consumer.layers) {
      route.demand.add(consumer);
      consumer.on('target-layers', () => route.demand.update());
    }
    consumer.on('close', () => {
      route.fanOut.delete(consumer);
      route.consumers.delete(consumer);
      route.demand.delete(consumer);
    });
    if (transport instanceof SfuTransport) transport.addConsumer(consumer);
    return consumer;
  }

  /** Another receiver of `producer`'s packets (the MCU's decoder); closed when the producer closes. */
  addSink(producer: Producer, sink: MediaSink): void {
    this.route(producer).fanOut.add(sink);
  }

  removeSink(producer: Producer, sink: MediaSink): void {
    this.routes.get(producer.id)?.fanOut.delete(sink);
  }

  consumersOf(producer: Producer): ReadonlySet<Consumer> {
    return this.routes.get(producer.id)?.consumers ?? new Set();
  }

  /** The pipes `producer` is sent on. */
  pipesOf(producer: Producer): ReadonlySet<PipeConsumer> {
    return this.routes.get(producer.id)?.pipes ?? new Set();
  }

  /** The layers `producer`'s receivers need (the LayerPauser and the MCU's tiers listen to it). */
  demandOf(producer: Producer): LayerDemand {
    return this.route(producer).demand;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of [...this.transports.values()]) t.close();
    for (const t of [...this.pipeTransports.values()]) t.close();
    for (const r of [...this.routes.values()]) r.producer.close();
    this.emit('close');
    this.removeAllListeners();
  }

  private route(producer: Producer): ProducerRoute {
    const route = this.routes.get(producer.id);
    if (!route || route.producer !== producer)
      throw new SwitchboardError('invalid-argument', `producer ${producer.id} is not in router ${this.name}`);
    return route;
  }

  private assertNewTransport(id: string): void {
    if (this.transports.has(id) || this.pipeTransports.has(id))
      throw new SwitchboardError('invalid-argument', `transport ${id} already exists in router ${this.name}`);
  }

  private assertOpen(): void {
    if (this.closed) throw new SwitchboardError('closed', `router ${this.name} is closed`);
  }
}
