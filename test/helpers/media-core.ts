/**
 * The media core (src/sfu) on its own, for unit tests: a Router per producer with no network
 * transports at all (its factory refuses), producers fed by the test, consumers sending to the
 * test's RtpSink. No sockets, no WebRtcServer, no SDP.
 */
import { SwitchboardError } from '../../src/protocol/errors.js';
import type { Consumer, ConsumerOptions } from '../../src/sfu/Consumer.js';
import type { Producer } from '../../src/sfu/Producer.js';
import type { MediaPacketReceiver, MediaTransport } from '../../src/sfu/MediaTransport.js';
import { Router, type ProduceOptions } from '../../src/sfu/Router.js';

const routers = new WeakMap<Producer, Router>();
let made = 0;

/** A router whose transports the test never needs. */
export function routerWithoutTransports(): Router {
  return new Router(`test-${++made}`, {
    createMediaTransport: () => {
      throw new SwitchboardError('unavailable', 'this test router makes no network transports');
    },
  });
}

/** A producer in a router of its own, fed by the test (`producer.receive`); its feedback goes to `feedback`. */
export function testProducer(opts: ProduceOptions<never> & { feedback: unknown }): Producer {
  const router = routerWithoutTransports();
  const producer = router.produce(opts);
  routers.set(producer, router);
  return producer;
}

export function routerOf(producer: Producer): Router {
  const router = routers.get(producer);
  if (!router) throw new SwitchboardError('invalid-argument', `producer ${producer.id} was not made by testProducer`);
  return router;
}

/** A consumer of `opts.producer` through its router (the Router wires fan-out and layer demand). */
export function testConsumer(opts: Omit<ConsumerOptions, 'producer'> & { producer: Producer }): Consumer {
  const { producer, transport, ...rest } = opts;
  return routerOf(producer).consume(producer, transport, rest);
}

/**
 * A network transport in memory (a simulation of src/rtc's WebRtcTransport for core tests):
 * what the core sends is kept in `rtp` / `rtcp`; `deliverRtp` / `deliverRtcp` play the peer.
 */
export class MemoryTransport implements MediaTransport {
  readonly rtp: Buffer[] = [];
  readonly rtcp: Buffer[] = [];
  private receiver: MediaPacketReceiver | null = null;
  private readonly closedListeners: ((reason: string) => void)[] = [];
  closed = false;

  constructor(readonly id: string) {}

  setReceiver(receiver: MediaPacketReceiver): void {
    this.receiver = receiver;
  }
  sendRtp(packet: Buffer): void {
    if (!this.closed) this.rtp.push(Buffer.from(packet));
  }
  sendRtcp(packet: Buffer): void {
    if (!this.closed) this.rtcp.push(Buffer.from(packet));
  }
  deliverRtp(packet: Buffer): void {
    this.receiver?.onRtp(packet);
  }
  deliverRtcp(packet: Buffer): void {
    this.receiver?.onRtcp(packet);
  }

  on(_event: 'closed', listener: (reason: string) => void): this {
    this.closedListeners.push(listener);
    return this;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.closedListeners) l('closed');
  }
}

/** A Router whose transports are MemoryTransports. */
export function routerInMemory(): Router<MemoryTransport> {
  return new Router(`memory-${++made}`, { createMediaTransport: (id) => new MemoryTransport(id) });
}
