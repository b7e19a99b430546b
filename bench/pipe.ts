/**
 * Pipe benchmark: what piping a producer to another Router costs per packet. N packets of a
 * 1,200-byte VP8 stream go
 *   direct: publisher → producer → consumer (one Router), and
 *   piped:  publisher → producer → PipeConsumer → PipeTransport (SRTP) → UDP loopback →
 *           PipeTransport → far producer → consumer (two Routers, one process),
 * and the CPU of this process (process.cpuUsage, user + system) is divided by the packets
 * delivered. Both ends of the pipe run in this one process, so the piped figure is the whole
 * cost a pipe adds across two workers: protect, two syscalls, unprotect and a second producer.
 * Publisher and subscriber are in-memory (no socket, no SRTP): the direct figure is the Router's
 * forwarding alone. Last, the SRTP share: protect + unprotect of the same packet, measured alone
 * (a real subscriber's send pays the protect half of it too).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/pipe.js [--packets 200000] [--batch 64]
 *
 * The piped run sends --batch packets, then waits (on an event, not polling) until they are
 * delivered, or 200 ms pass (loss on loopback, which the far producer's NACKs repair later),
 * before the next batch, so the kernel's socket buffer never overflows. Single-threaded; the figures vary
 * with machine load (2 shared cores here).
 */
import { cpus, loadavg } from 'node:os';
import { newPipeSrtpParameters, pipeMasterKeys } from '../src/rtc/pipe/parameters.js';
import { PipeTransport } from '../src/rtc/pipe/PipeTransport.js';
import { SrtpContext } from '../src/rtc/srtp/index.js';
import { setSequenceNumber, setTimestamp, writeRtpHeader } from '../src/rtc/rtp/index.js';
import type { Producer } from '../src/sfu/Producer.js';
import type { Router } from '../src/sfu/Router.js';
import type { CodecParameters, RtpSink } from '../src/sfu/types.js';
import { routerInMemory, type MemoryTransport } from '../test/helpers/media-core.js';
import { nonNegative } from './lib/proc.js';

const PAYLOAD = 1200;
const MAX_PACKETS = 2_000_000;
const STALL_MS = 200;
const VP8: CodecParameters = {
  name: 'VP8',
  payloadType: 96,
  clockRate: 90_000,
  fmtp: '',
  rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
};

function usage(problem: string): never {
  console.error(`${problem}\nusage: node dist/bench/pipe.js [--packets N (≤ ${MAX_PACKETS})] [--batch N]`);
  process.exit(2);
}

function parseArgs(argv: string[]): { packets: number; batch: number } {
  const o = { packets: 200_000, batch: 64 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--packets') o.packets = Math.floor(nonNegative('packets', argv[++i], usage));
    else if (a === '--batch') o.batch = Math.max(1, Math.floor(nonNegative('batch', argv[++i], usage)));
    else usage(`unknown option ${a}`);
  }
  if (o.packets < 1 || o.packets > MAX_PACKETS) usage(`--packets must be 1–${MAX_PACKETS}`);
  return o;
}

/** The subscriber: counts what reaches it, keeps nothing; `reached(n)` wakes a waiter without polling. */
class CountingSink implements RtpSink {
  packets = 0;
  bytes = 0;
  private target = Infinity;
  private wake: (() => void) | null = null;
  sendRtp(packet: Buffer): void {
    this.packets++;
    this.bytes += packet.length;
    if (this.packets >= this.target && this.wake) {
      this.wake();
      this.wake = null;
    }
  }
  sendRtcp(): void {}
  /** Resolves true once `n` packets arrived, false after `stallMs` without reaching it. */
  reached(n: number, stallMs: number): Promise<boolean> {
    if (this.packets >= n) return Promise.resolve(true);
    this.target = n;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve(false);
      }, stallMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }
}

/** One reused packet: a keyframe first (the consumer starts on it), then delta frames. */
class Publisher {
  private readonly keyframe: Buffer;
  private readonly delta: Buffer;
  private seq = 1;

  constructor(private readonly ssrc: number) {
    this.keyframe = packet(ssrc, true);
    this.delta = packet(ssrc, false);
  }

  send(transport: MemoryTransport): void {
    const p = this.seq === 1 ? this.keyframe : this.delta;
    setSequenceNumber(p, this.seq & 0xffff);
    setTimestamp(p, (this.seq * 3000) >>> 0);
    this.seq++;
    transport.deliverRtp(p);
  }
}

function packet(ssrc: number, keyframe: boolean): Buffer {
  const out = Buffer.alloc(12 + PAYLOAD);
  writeRtpHeader(out, 0, { marker: true, payloadType: 96, sequenceNumber: 0, timestamp: 0, ssrc }, []);
  const vp8 = keyframe ? [0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x00, 0x05, 0xd0, 0x02] : [0x10, 0x01, 0x00, 0x00];
  Buffer.from(vp8).copy(out, 12);
  out.fill(0x5a, 12 + vp8.length);
  return out;
}

function produce(router: Router<MemoryTransport>, id: string, ssrc: number): { producer: Producer; pub: MemoryTransport } {
  const t = router.createTransport(`${id}/publish`);
  const producer = router.produce({ id, kind: 'video', ownerId: 'alice', mid: '1', ssrc, codec: VP8, transport: t });
  return { producer, pub: t.media };
}

interface Result {
  delivered: number;
  cpuUs: number;
  wallUs: number;
}

const usNow = (): number => Number(process.hrtime.bigint()) / 1e3;
const cpuUs = (c: NodeJS.CpuUsage): number => c.user + c.system;

function runDirect(packets: number): Result {
  const router = routerInMemory();
  const { producer, pub } = produce(router, 'direct', 0x1111);
  const sink = new CountingSink();
  router.consume(producer, sink, { id: 'direct>sub', subscriberId: 'sub', ssrc: 0x2222, payloadType: 96 });
  const publisher = new Publisher(0x1111);
  const wall = usNow();
  const cpu = process.cpuUsage();
  for (let i = 0; i < packets; i++) publisher.send(pub);
  const result = { delivered: sink.packets, cpuUs: cpuUs(process.cpuUsage(cpu)), wallUs: usNow() - wall };
  router.close();
  return result;
}

async function runPiped(packets: number, batch: number): Promise<Result & { resent: number; lostOnLoopback: number }> {
  const a = routerInMemory();
  const b = routerInMemory();
  const endA = await PipeTransport.open({ address: '127.0.0.1' });
  const endB = await PipeTransport.open({ address: '127.0.0.1' });
  endA.connect(endB.localParameters());
  endB.connect(endA.localParameters());
  const pipeA = a.createPipeTransport('pipe', endA);
  const pipeB = b.createPipeTransport('pipe', endB);
  const { producer, pub } = produce(a, 'piped', 0x3333);
  const pipe = a.pipeProducer(producer, pipeA);
  const far = b.producePiped(JSON.parse(JSON.stringify(pipe.parameters())), pipeB, { onDemand: (n) => pipe.setDemand(n) });
  const sink = new CountingSink();
  b.consume(far, sink, { id: 'piped>sub', subscriberId: 'sub', ssrc: 0x4444, payloadType: 96 });
  const publisher = new Publisher(0x3333);
  let lost = 0;
  const wall = usNow();
  const cpu = process.cpuUsage();
  for (let sent = 0; sent < packets;) {
    const n = Math.min(batch, packets - sent);
    for (let i = 0; i < n; i++) publisher.send(pub);
    sent += n;
    if (!(await sink.reached(sent - lost, STALL_MS))) lost = sent - sink.packets;
  }
  const result = {
    delivered: sink.packets,
    cpuUs: cpuUs(process.cpuUsage(cpu)),
    wallUs: usNow() - wall,
    resent: pipe.retransmitted,
    lostOnLoopback: lost,
  };
  a.close();
  b.close();
  return result;
}

/** The SRTP share of a piped packet: protect on one end, unprotect on the other, same packet size. */
function srtpRoundTripUs(packets: number): number {
  const keys = pipeMasterKeys(newPipeSrtpParameters());
  const out = new SrtpContext('AEAD_AES_128_GCM', keys);
  const back = new SrtpContext('AEAD_AES_128_GCM', keys);
  const p = packet(0x5555, false);
  const scratch = Buffer.allocUnsafe(p.length + 64);
  const cpu = process.cpuUsage();
  for (let i = 0; i < packets; i++) {
    setSequenceNumber(p, i & 0xffff);
    const protectedPacket = out.protectRtp(p);
    protectedPacket.copy(scratch);
    back.unprotectRtp(scratch.subarray(0, protectedPacket.length));
  }
  return cpuUs(process.cpuUsage(cpu)) / packets;
}

const opts = parseArgs(process.argv.slice(2));
console.log(`pipe bench: ${opts.packets} packets of ${PAYLOAD}-byte VP8, batch ${opts.batch}`);
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load ${loadavg()[0]?.toFixed(2)}`);
// Warm-up: the JIT sees both paths before anything is measured.
runDirect(20_000);
await runPiped(20_000, opts.batch);

const direct = runDirect(opts.packets);
const piped = await runPiped(opts.packets, opts.batch);
const srtp = srtpRoundTripUs(Math.min(opts.packets, 60_000));
const perPacket = (r: Result): string =>
  `${(r.cpuUs / r.delivered).toFixed(2)} µs CPU/packet, ${(r.wallUs / r.delivered).toFixed(2)} µs wall/packet, ${r.delivered} delivered`;
console.log(`direct (producer → consumer):                                  ${perPacket(direct)}`);
console.log(`piped  (producer → pipe → UDP → pipe → producer → consumer):   ${perPacket(piped)}`);
console.log(`  pipe resends (NACK) ${piped.resent}, undelivered ${opts.packets - piped.delivered}`);
const ratio = piped.cpuUs / piped.delivered / (direct.cpuUs / direct.delivered);
const added = piped.cpuUs / piped.delivered - direct.cpuUs / direct.delivered;
console.log(`ratio piped/direct CPU per packet: ${ratio.toFixed(2)} (the pipe adds ${added.toFixed(2)} µs/packet)`);
console.log(`  of which SRTP (AEAD_AES_128_GCM protect + unprotect, measured alone): ${srtp.toFixed(2)} µs/packet`);
