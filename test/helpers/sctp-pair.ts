/** Two SctpAssociations joined by an in-process lossless link, optionally through DTLS. */
import { DtlsCertificate, DtlsTransport } from '../../src/rtc/dtls/index.js';
import { SctpAssociation } from '../../src/rtc/sctp/index.js';
import { pairLinks } from './dtls-bridge.js';

export interface SctpPair {
  client: SctpAssociation;
  server: SctpAssociation;
  close(): void;
}

function opened(a: SctpAssociation, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (a.state === 'open') return resolve();
    const timer = setTimeout(() => reject(new Error('SCTP did not open')), ms);
    a.once('open', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** SCTP packets cross on later macrotasks, as over a network. */
export async function directSctpPair(timeoutMs: number): Promise<SctpPair> {
  let toServer: (b: Buffer) => void = () => undefined;
  let toClient: (b: Buffer) => void = () => undefined;
  const client = new SctpAssociation({
    role: 'client',
    transport: {
      send: (b) => {
        const c = Buffer.from(b);
        setImmediate(() => toServer(c));
      },
    },
  });
  const server = new SctpAssociation({
    role: 'server',
    transport: {
      send: (b) => {
        const c = Buffer.from(b);
        setImmediate(() => toClient(c));
      },
    },
  });
  toServer = (b) => server.handle(b);
  toClient = (b) => client.handle(b);
  server.start();
  client.start();
  await Promise.all([opened(client, timeoutMs), opened(server, timeoutMs)]);
  return {
    client,
    server,
    close: () => {
      client.close();
      server.close();
    },
  };
}

/** SCTP over two of our DtlsTransports (client ↔ server) on an in-process link. */
export async function dtlsSctpPair(timeoutMs: number): Promise<SctpPair & { dtlsClient: DtlsTransport; dtlsServer: DtlsTransport }> {
  const [certA, certB] = await Promise.all([DtlsCertificate.create(), DtlsCertificate.create()]);
  const links = pairLinks();
  const dtlsServer = new DtlsTransport({ role: 'server', certificate: certA, remoteFingerprints: [certB.fingerprint], link: links.a });
  const dtlsClient = new DtlsTransport({ role: 'client', certificate: certB, remoteFingerprints: [certA.fingerprint], link: links.b });
  links.connect(
    (b) => dtlsServer.handle(b),
    (b) => dtlsClient.handle(b),
  );
  const server = new SctpAssociation({ role: 'server', transport: { send: (b) => dtlsServer.sendApplicationData(b) } });
  const client = new SctpAssociation({ role: 'client', transport: { send: (b) => dtlsClient.sendApplicationData(b) } });
  dtlsServer.on('data', (b) => server.handle(b));
  dtlsClient.on('data', (b) => client.handle(b));
  const up = (t: DtlsTransport) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('DTLS did not connect')), timeoutMs);
      t.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
      t.once('failed', (r) => reject(new Error(r)));
    });
  const both = Promise.all([up(dtlsServer), up(dtlsClient)]);
  dtlsServer.start();
  dtlsClient.start();
  await both;
  server.start();
  client.start();
  await Promise.all([opened(client, timeoutMs), opened(server, timeoutMs)]);
  return {
    client,
    server,
    dtlsClient,
    dtlsServer,
    close: () => {
      client.close();
      server.close();
      dtlsClient.close();
      dtlsServer.close();
    },
  };
}

export interface LossyLinkOptions {
  /** Chance that a packet is dropped, each direction, once both sides are open. */
  loss: number;
  /** One-way delay of each packet (read per packet: it may change), plus up to `jitterMs` more (packets may overtake each other). */
  delayMs: () => number;
  jitterMs: number;
  /** Deliver in the order sent, whatever the delays (a path that does not reorder). */
  keepOrder?: boolean;
  /** Seeded uniform [0, 1) source, so a run can be repeated. */
  random: () => number;
}

/**
 * Two SctpAssociations over an in-process link that drops and delays packets at random, as a
 * lossy path does. The handshake crosses losslessly; loss starts once both sides are open.
 * `dropped` and `carried` count what the link did after that.
 */
export async function lossySctpPair(
  timeoutMs: number,
  opts: LossyLinkOptions,
): Promise<SctpPair & { counts: { carried: number; dropped: number } }> {
  const counts = { carried: 0, dropped: 0 };
  let lossy = false;
  const timers = new Set<NodeJS.Timeout>();
  const carry = (deliver: () => (b: Buffer) => void) => {
    // keepOrder: one FIFO per direction drained by a single timer (separate timers with
    // fractional delays may fire out of order).
    const fifo: Array<{ due: number; buf: Buffer }> = [];
    let draining: NodeJS.Timeout | undefined;
    const drain = (): void => {
      draining = undefined;
      while (fifo.length > 0 && (fifo[0] as { due: number }).due <= performance.now()) deliver()((fifo.shift() as { buf: Buffer }).buf);
      if (fifo.length > 0) {
        draining = setTimeout(drain, Math.max(0, (fifo[0] as { due: number }).due - performance.now()));
        timers.add(draining);
      }
    };
    return (b: Buffer): void => {
      if (lossy && opts.random() < opts.loss) {
        counts.dropped++;
        return;
      }
      if (lossy) counts.carried++;
      const c = Buffer.from(b);
      const due = performance.now() + opts.delayMs() + opts.random() * opts.jitterMs;
      if (opts.keepOrder) {
        fifo.push({ due: Math.max(due, fifo.length > 0 ? (fifo[fifo.length - 1] as { due: number }).due : 0), buf: c });
        if (!draining) {
          draining = setTimeout(drain, Math.max(0, (fifo[0] as { due: number }).due - performance.now()));
          timers.add(draining);
        }
        return;
      }
      const t = setTimeout(() => {
        timers.delete(t);
        deliver()(c);
      }, due - performance.now());
      timers.add(t);
    };
  };
  let toServer: (b: Buffer) => void = () => undefined;
  let toClient: (b: Buffer) => void = () => undefined;
  const client = new SctpAssociation({ role: 'client', transport: { send: carry(() => toServer) } });
  const server = new SctpAssociation({ role: 'server', transport: { send: carry(() => toClient) } });
  toServer = (b) => server.handle(b);
  toClient = (b) => client.handle(b);
  server.start();
  client.start();
  await Promise.all([opened(client, timeoutMs), opened(server, timeoutMs)]);
  lossy = true;
  return {
    client,
    server,
    counts,
    close: () => {
      for (const t of timers) clearTimeout(t);
      client.close();
      server.close();
    },
  };
}
