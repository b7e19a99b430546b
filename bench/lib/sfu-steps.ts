/**
 * One measured step of bench/sfu-forward.ts: one publisher, N subscribers, a fixed packet rate,
 * either through the SFU (a child process: bench/lib/sfu-server.ts, headless peers doing ICE,
 * DTLS and SRTP) or through the plain UDP relay (bench/lib/sfu-udp-relay.ts, plain sockets).
 * Both run pinned to the server core; the peers run in this process on the generator core.
 *
 * A step: connect everything, send at the rate for a warm-up (subscribers start at a
 * keyframe), then a full-rate window of `seconds`: packets whose source index falls in the
 * window are counted at every subscriber after a drain; the server's CPU time (utime+stime
 * from /proc) over the window divided by the packets delivered is its CPU per forwarded packet.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Socket as UdpSocket } from 'node:dgram';
import { DtlsCertificate } from '../../src/rtc/dtls/index.js';
import { parseRtcpCompound } from '../../src/rtc/rtcp/index.js';
import { randomSsrc } from '../../src/rtc/rtp/index.js';
import { createUdpSocket } from '../../src/net/udp.js';
import { ipcRequest } from './ipc.js';
import { CLK_TCK, cpuTicks, otherTicks, processTicks, startChild, stopServer, udpSocketDrops, waitForLine, type Child } from './proc.js';
import { ReceiveLog, Vp8Source, readIndex, startPacer } from './sfu-media.js';
import { HeadlessPeer } from './sfu-peer.js';
import { publishOffer, serverEndpoint, subscribeAnswer } from './sfu-sdp.js';

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench/lib
const HOST = '127.0.0.1';
/** DTLS handshakes in flight at once while subscribers connect (ECDSA on a shared core). */
const CONNECT_CONCURRENCY = 8;
const CONNECT_TIMEOUT_MS = 15_000;
const DRAIN_MS = 500;

export interface StepOptions {
  subscribers: number;
  rate: number;
  packetBytes: number;
  warmupS: number;
  seconds: number;
  serverCore: number;
  /** Write a V8 CPU profile of the server over the window to this path (SFU only). */
  profilePath?: string;
}

export interface StepResult {
  server: 'sfu' | 'relay';
  subscribers: number;
  rate: number;
  windowS: number;
  /** Packets the publisher sent in the window. */
  sent: number;
  /** sent × subscribers. */
  expected: number;
  /** Distinct window packets that reached subscribers (after SRTP unprotect for the SFU). */
  delivered: number;
  lossPct: number;
  forwardedPerS: number;
  serverCpuPct: number;
  cpuUsPerForwarded: number;
  /** This process (publisher + subscribers). */
  generatorCpuPct: number;
  otherCpuPct: number;
  serverDrops: number;
  generatorDrops: number;
  pacerSkipped: number;
  duplicates: number;
  /** Subscribers that received nothing in the window. */
  silentSubscribers: number;
  notes: string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Window {
  sent: number;
  i0: number;
  i1: number;
  windowS: number;
  serverTicks: number;
  genTicks: number;
  otherTicks: number;
  skipped: number;
}

/** Warm-up, then the measured window; the pacer stops after it and the network drains. */
async function runWindow(
  o: StepOptions,
  serverPid: number,
  source: Vp8Source,
  send: (p: Buffer) => void,
  around?: { start(): Promise<void>; stop(): Promise<void> },
): Promise<Window> {
  const pacer = startPacer(o.rate, () => send(source.next()));
  try {
    await sleep(o.warmupS * 1000);
    await around?.start();
    const skipped0 = pacer.skipped();
    const others0 = processTicks();
    const s0 = cpuTicks(serverPid),
      g0 = cpuTicks(process.pid),
      i0 = source.index,
      t0 = performance.now();
    await sleep(o.seconds * 1000);
    const s1 = cpuTicks(serverPid),
      g1 = cpuTicks(process.pid),
      i1 = source.index,
      t1 = performance.now();
    const others = otherTicks(others0, processTicks(), [process.pid, serverPid]);
    const skipped = pacer.skipped() - skipped0;
    pacer.stop();
    await around?.stop();
    await sleep(DRAIN_MS);
    return { sent: i1 - i0, i0, i1, windowS: (t1 - t0) / 1000, serverTicks: s1 - s0, genTicks: g1 - g0, otherTicks: others, skipped };
  } finally {
    pacer.stop();
  }
}

function result(
  server: 'sfu' | 'relay',
  o: StepOptions,
  w: Window,
  logs: ReceiveLog[],
  drops: { server: number; generator: number },
  notes: string[],
): StepResult {
  const delivered = logs.reduce((a, l) => a + l.countIn(w.i0, w.i1), 0);
  const expected = w.sent * logs.length;
  const cpuS = w.serverTicks / CLK_TCK;
  return {
    server,
    subscribers: o.subscribers,
    rate: o.rate,
    windowS: w.windowS,
    sent: w.sent,
    expected,
    delivered,
    lossPct: expected > 0 ? (100 * (expected - delivered)) / expected : NaN,
    forwardedPerS: delivered / w.windowS,
    serverCpuPct: (100 * cpuS) / w.windowS,
    cpuUsPerForwarded: delivered > 0 ? (cpuS * 1e6) / delivered : NaN,
    generatorCpuPct: (100 * w.genTicks) / CLK_TCK / w.windowS,
    otherCpuPct: (100 * w.otherTicks) / CLK_TCK / w.windowS,
    serverDrops: drops.server,
    generatorDrops: drops.generator,
    pacerSkipped: w.skipped,
    duplicates: logs.reduce((a, l) => a + l.duplicates, 0),
    silentSubscribers: logs.filter((l) => l.countIn(w.i0, w.i1) === 0).length,
    notes,
  };
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function inBatches<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += limit) await Promise.all(items.slice(i, i + limit).map(fn));
}

// ---- SFU ------------------------------------------------------------------------------------

export async function runSfuStep(o: StepOptions): Promise<StepResult> {
  const script = join(here, 'sfu-server.js');
  const child = startChild('sfu', 'taskset', ['-c', String(o.serverCore), process.execPath, script], { ipc: true });
  const peers: HeadlessPeer[] = [];
  try {
    await waitForLine(child, /sfu listening on udp/, 10_000);
    const certificate = await DtlsCertificate.create();
    const local = (p: HeadlessPeer) => ({ iceUfrag: p.iceUfrag, icePwd: p.icePwd, fingerprint: certificate.fingerprint });

    // Publisher: publish offer → answer → ICE + DTLS.
    const publisher = await HeadlessPeer.open('publisher', certificate);
    peers.push(publisher);
    const source = new Vp8Source(randomSsrc(), o.packetBytes, o.rate);
    const joined = await ipcRequest<{ publishAnswer?: string }>(child.proc, {
      cmd: 'join',
      id: 'publisher',
      publishOffer: publishOffer(local(publisher), source.ssrc, randomSsrc()),
    });
    if (!joined.publishAnswer) throw new Error('no publish answer');
    await publisher.connect(serverEndpoint(joined.publishAnswer), CONNECT_TIMEOUT_MS);
    // PLI / FIR from the SFU (a new subscriber, its NACK gave up): the next frame is a keyframe.
    publisher.onRtcp = (plain) => {
      for (const p of parseRtcpCompound(plain) ?? []) if (p.type === 'pli' || p.type === 'fir') source.requestKeyframe();
    };

    // Subscribers: join → the SFU's subscribe offer (with the publisher's track) → our answer → ICE + DTLS.
    const logs: ReceiveLog[] = [];
    const subscribers: HeadlessPeer[] = [];
    for (let i = 0; i < o.subscribers; i++) {
      const peer = await HeadlessPeer.open(`subscriber-${i}`, certificate);
      peers.push(peer);
      subscribers.push(peer);
      const log = new ReceiveLog();
      logs.push(log);
      peer.onRtp = (plain) => {
        const i = readIndex(plain);
        if (i >= 0) log.record(i);
      };
    }
    await inBatches(subscribers, CONNECT_CONCURRENCY, async (peer) => {
      const r = await ipcRequest<{ subscribeOffer?: { revision: number; sdp: string } }>(child.proc, { cmd: 'join', id: peer.name });
      const offer = r.subscribeOffer;
      if (!offer || !/^m=video/m.test(offer.sdp)) throw new Error(`${peer.name}: subscribe offer without the video track`);
      await ipcRequest(child.proc, {
        cmd: 'answer',
        id: peer.name,
        revision: offer.revision,
        sdp: subscribeAnswer(offer.sdp, local(peer)),
      });
      await peer.connect(serverEndpoint(offer.sdp), CONNECT_TIMEOUT_MS);
    });

    const drops0 = { server: udpSocketDrops(child.pid), generator: udpSocketDrops(process.pid) };
    const profilePath = o.profilePath;
    const w = await runWindow(
      o,
      child.pid,
      source,
      (p) => publisher.sendRtp(p),
      profilePath === undefined
        ? undefined
        : {
            start: async () => {
              await ipcRequest(child.proc, { cmd: 'prof-start' });
            },
            stop: async () => {
              await ipcRequest(child.proc, { cmd: 'prof-stop', path: profilePath }, 30_000);
            },
          },
    );
    const drops = { server: udpSocketDrops(child.pid) - drops0.server, generator: udpSocketDrops(process.pid) - drops0.generator };
    const stats = await ipcRequest<{ srtpRejected: number; connected: number }>(child.proc, { cmd: 'stats' });
    const notes = [`SRTP ${publisher.srtpProfile ?? '?'}`, `${source.keyframes} keyframes sent`];
    if (stats.srtpRejected > 0) notes.push(`server rejected ${stats.srtpRejected} SRTP packets`);
    const rejected = subscribers.reduce((a, p) => a + p.stats.srtpRejected, 0);
    if (rejected > 0) notes.push(`subscribers rejected ${rejected} SRTP packets`);
    if (profilePath !== undefined) notes.push('CPU-profiled: perturbed');
    return result('sfu', o, w, logs, drops, notes);
  } finally {
    for (const p of peers) p.close();
    await stopChild(child);
  }
}

// ---- plain UDP relay ------------------------------------------------------------------------

export async function runRelayStep(o: StepOptions): Promise<StepResult> {
  const sockets: UdpSocket[] = [];
  const logs: ReceiveLog[] = [];
  let child: Child | undefined;
  try {
    for (let i = 0; i < o.subscribers; i++) {
      const s = await bindPlain();
      const log = new ReceiveLog();
      s.on('message', (m) => {
        const i = readIndex(m);
        if (i >= 0) log.record(i);
      });
      sockets.push(s);
      logs.push(log);
    }
    const destinations = sockets.map((s) => `${HOST}:${s.address().port}`).join(',');
    const script = join(here, 'sfu-udp-relay.js');
    child = startChild('relay', 'taskset', ['-c', String(o.serverCore), process.execPath, script, destinations]);
    const m = await waitForLine(child, /relay listening on udp ([\d.]+):(\d+)/, 10_000);
    const relayPort = Number(m[2]);
    const publisher = await bindPlain();
    sockets.push(publisher);
    const source = new Vp8Source(randomSsrc(), o.packetBytes, o.rate);
    const drops0 = { server: udpSocketDrops(child.pid), generator: udpSocketDrops(process.pid) };
    const w = await runWindow(o, child.pid, source, (p) => publisher.send(p, relayPort, HOST));
    const drops = { server: udpSocketDrops(child.pid) - drops0.server, generator: udpSocketDrops(process.pid) - drops0.generator };
    return result('relay', o, w, logs, drops, []);
  } finally {
    for (const s of sockets) {
      try {
        s.close();
      } catch {
        /* closed */
      }
    }
    if (child) await stopServer({ proc: child.proc });
  }
}

function bindPlain(): Promise<UdpSocket> {
  const s = createUdpSocket(HOST, 4 << 20);
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, HOST, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

/** Closing the IPC channel makes the SFU child close its router and exit; SIGTERM/SIGKILL if not. */
async function stopChild(child: Child): Promise<void> {
  const p = child.proc;
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  try {
    p.disconnect();
  } catch {
    /* already disconnected */
  }
  const t = setTimeout(() => {
    void stopServer({ proc: p });
  }, 2000);
  await exited;
  clearTimeout(t);
}
