/**
 * Two PipeTransports on 127.0.0.1 joined to each other, directly or through a UDP relay that can
 * drop chosen datagrams (a lossy link between two workers or nodes, made of real sockets).
 */
import { createSocket, type Socket } from 'node:dgram';
import { PipeTransport } from '../../src/rtc/pipe/PipeTransport.js';

export interface PipeRelay {
  /** Datagrams relayed each way, and how many `drop` refused. */
  readonly counts: { aToB: number; bToA: number; dropped: number };
  /** Asked for every datagram (`fromA`: travelling A → B); true drops it. Replace at will. */
  drop: (fromA: boolean, datagram: Buffer) => boolean;
  close(): void;
}

export interface PipePair {
  a: PipeTransport;
  b: PipeTransport;
  relay: PipeRelay | null;
  close(): void;
}

async function bound(): Promise<Socket> {
  const s = createSocket('udp4');
  s.on('error', () => undefined);
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return s;
}

/** Two connected pipe ends; with `relay`, every datagram crosses a relay that may drop it. */
export async function openPipePair(opts: { relay?: boolean; silenceTimeoutMs?: number } = {}): Promise<PipePair> {
  const silence = opts.silenceTimeoutMs !== undefined ? { silenceTimeoutMs: opts.silenceTimeoutMs } : {};
  const a = await PipeTransport.open({ address: '127.0.0.1', ...silence });
  const b = await PipeTransport.open({ address: '127.0.0.1', ...silence });
  const pa = a.localParameters();
  const pb = b.localParameters();
  if (!opts.relay) {
    a.connect(pb);
    b.connect(pa);
    return {
      a,
      b,
      relay: null,
      close: () => {
        a.close();
        b.close();
      },
    };
  }
  // A talks to the relay's socket `towardA`, B to `towardB`; each end sees one fixed remote.
  const towardA = await bound();
  const towardB = await bound();
  const counts = { aToB: 0, bToA: 0, dropped: 0 };
  const relay: PipeRelay = {
    counts,
    drop: () => false,
    close: () => {
      for (const s of [towardA, towardB])
        try {
          s.close();
        } catch {
          // closed before
        }
    },
  };
  towardA.on('message', (msg) => {
    counts.aToB++;
    if (relay.drop(true, msg)) counts.dropped++;
    else towardB.send(msg, pb.port, pb.ip);
  });
  towardB.on('message', (msg) => {
    counts.bToA++;
    if (relay.drop(false, msg)) counts.dropped++;
    else towardA.send(msg, pa.port, pa.ip);
  });
  a.connect({ ...pb, port: towardA.address().port });
  b.connect({ ...pa, port: towardB.address().port });
  return {
    a,
    b,
    relay,
    close: () => {
      a.close();
      b.close();
      relay.close();
    },
  };
}

/** Resolves once `done()` holds; rejects after `timeoutMs` with `what`. */
export async function until(done: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const start = Date.now();
  while (!done()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
