/**
 * The media core (src/sfu) on its own, for unit tests: a Router per producer with no network
 * transports at all (its factory refuses), producers fed by the test, consumers sending to the
 * test's RtpSink. No sockets, no WebRtcServer, no SDP.
 */
import { SwitchboardError } from '../../src/protocol/errors.js';
import type { Consumer, ConsumerOptions } from '../../src/sfu/Consumer.js';
import type { Producer } from '../../src/sfu/Producer.js';
import { Router, type ProduceOptions } from '../../src/sfu/Router.js';

const routers = new WeakMap<Producer, Router>();
let made = 0;

/** A router whose transports the test never needs. */
export function routerWithoutTransports(): Router {
  return new Router(`test-${++made}`, {
    createMediaTransport: () => { throw new SwitchboardError('unavailable', 'this test router makes no network transports'); },
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
