/**
 * One load test: publishers join every room first (each then sends its media), subscribers join
 * next, the measurement runs `durationS` seconds once everyone is in, and the report is built
 * from what each subscriber measured. Bounded: at most MAX_PEERS peers, each signaling step by
 * the join timeout, the whole join phase by JOIN_PHASE_LIMIT_MS, the measurement by MAX_DURATION_S.
 */
import { existsSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DriverFactory, SignalingDriver } from './driver.js';
import { NdcPublisher, NdcSubscriber } from './ndc-peers.js';
import { checkLoopback, type LoadtestOptions } from './options.js';
import type { PublisherPeer, SubscriberPeer } from './peer.js';
import { loadNodeDataChannel, loadWrtc } from './peer-libraries.js';
import { PublisherRun, type RecordedMedia } from './publisher-run.js';
import { buildReport, type LoadtestReport, type ServerCpu } from './report.js';
import { readRtpFile } from './rtp-file.js';
import { metricsCpuSource, procTreeCpuSource, sumCpuSources, type CpuSource } from './server-cpu.js';
import { SubscriberRun } from './subscriber-run.js';
import { SwitchboardDriver } from './switchboard-driver.js';
import { WrtcPublisher, type WrtcModule } from './wrtc-publisher.js';
import { InternalErrorCode, SwitchboardError } from '../../src/protocol/errors.js';

/** Peers joining at once: enough to load the server's signaling, few enough not to starve our own event loop. */
const JOIN_CONCURRENCY = 16;
const JOIN_PHASE_LIMIT_MS = 300_000;
/** How long after stopping the publishers the subscribers may still receive in-flight packets. */
const DRAIN_MS = 300;

/** The recordings of test/fixtures/media (read as data, at run time; dist/bench/loadtest → the repository root). */
export function mediaDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, '../../../test/fixtures/media'), join(here, '../../test/fixtures/media')]) {
    if (existsSync(join(candidate, 'chromium-vp8.sbrtp'))) return candidate;
  }
  throw new SwitchboardError(
    InternalErrorCode.Unavailable,
    'the recorded media (test/fixtures/media/chromium-vp8.sbrtp, chromium-opus.sbrtp) are not found next to this installation',
  );
}

export function loadRecordedMedia(dir = mediaDir()): RecordedMedia {
  return { video: readRtpFile(join(dir, 'chromium-vp8.sbrtp')), audio: readRtpFile(join(dir, 'chromium-opus.sbrtp')) };
}

interface PeerFactory {
  publisher(name: string): PublisherPeer;
  subscriber(name: string): SubscriberPeer;
  /** After every peer is closed: releases the libraries (node-datachannel holds the event loop otherwise). */
  release(): Promise<void>;
}

/** `--peer` picks the publishers' library; subscribers are always node-datachannel, which hands us raw RTP to measure. */
async function peerFactory(peer: LoadtestOptions['peer']): Promise<PeerFactory> {
  const ndc = await loadNodeDataChannel();
  const wrtc = peer === 'wrtc' ? ((await loadWrtc()) as WrtcModule) : null;
  return {
    publisher: (name) => (wrtc ? new WrtcPublisher(wrtc, name) : new NdcPublisher(ndc, name)),
    subscriber: (name) => new NdcSubscriber(ndc, name),
    release: async () => {
      await new Promise((r) => setTimeout(r, 200));
      ndc.cleanup();
    },
  };
}

/** Runs `tasks` at most `limit` at a time; a task not started before `deadline` (performance.now ms) is skipped. */
async function inBatches(tasks: (() => Promise<void>)[], limit: number, deadline: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length && performance.now() < deadline) {
      const task = tasks[next++] as () => Promise<void>;
      await task();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}

export interface RunHooks {
  /** Progress lines (stderr in the CLI). */
  log(line: string): void;
  driverFactory?: DriverFactory;
}

export async function runLoadtest(opts: LoadtestOptions, hooks: RunHooks): Promise<LoadtestReport> {
  for (const url of opts.urls) await checkLoopback(url, opts.allowRemote);
  const media = loadRecordedMedia();
  const peers = await peerFactory(opts.peer);
  const makeDriver: DriverFactory =
    hooks.driverFactory ??
    ((o) => new SwitchboardDriver(o, { topology: opts.topology, ...(opts.authSecret ? { authSecret: opts.authSecret } : {}) }));
  // One driver per server; a room's peers take the servers in turn, so with cluster nodes a room spans them.
  const drivers: SignalingDriver[] = opts.urls.map((url) => makeDriver({ url, timeoutMs: opts.joinTimeoutMs }));
  const driverOf = (indexInRoom: number): SignalingDriver => drivers[indexInRoom % drivers.length] as SignalingDriver;
  const driver = drivers[0] as SignalingDriver;
  const cpuSource: CpuSource =
    opts.serverPid !== null ? procTreeCpuSource(opts.serverPid) : sumCpuSources(opts.urls.map((url) => metricsCpuSource(url)));
  const errors: string[] = [];
  const onError = (m: string): void => {
    if (errors.length < 10_000) errors.push(m);
  };
  const publishers: PublisherRun[] = [];
  const subscribers: SubscriberRun[] = [];
  const maxTracks = 2 * opts.publishers + 8;
  const driverOfPeer = new Map<string, SignalingDriver>();
  for (let r = 0; r < opts.rooms; r++) {
    const room = `${opts.roomPrefix}-${r}`;
    for (let i = 0; i < opts.publishers; i++) {
      const name = `pub-${r}-${i}`;
      publishers.push(new PublisherRun(publishers.length, room, name, peers.publisher(name)));
      driverOfPeer.set(name, driverOf(i));
    }
    for (let i = 0; i < opts.subscribers; i++) {
      const name = `sub-${r}-${i}`;
      subscribers.push(new SubscriberRun(room, name, peers.subscriber(name), maxTracks));
      driverOfPeer.set(name, driverOf(opts.publishers + i));
    }
  }
  let cpu: ServerCpu | null = null;
  try {
    const joinDeadline = performance.now() + JOIN_PHASE_LIMIT_MS;
    hooks.log(`joining ${publishers.length} publisher(s) through ${driver.name} at ${opts.urls.map((u) => u.href).join(', ')}`);
    await inBatches(
      publishers.map((p) => async () => {
        await p.join(driverOfPeer.get(p.name) ?? driver, media, opts.videoBitrate, opts.joinTimeoutMs, onError).catch((err: Error) => {
          p.error = err.message;
          onError(`${p.name}: ${err.message}`);
        });
      }),
      JOIN_CONCURRENCY,
      joinDeadline,
    );
    hooks.log(`joining ${subscribers.length} subscriber(s)`);
    await inBatches(
      subscribers.map((s) => async () => {
        await s.join(driverOfPeer.get(s.name) ?? driver, onError).catch((err: Error) => {
          s.error = err.message;
          onError(`${s.name}: ${err.message}`);
        });
      }),
      JOIN_CONCURRENCY,
      joinDeadline,
    );
    // Media reaches each subscriber a little after its join, video only from a keyframe: wait
    // (bounded) until each receives every track of its room, so the window measures forwarding.
    const mediaDeadline = performance.now() + opts.joinTimeoutMs;
    // An MCU room sends each subscriber its mix: one audio and one video track.
    const tracksPerRoom = opts.topology === 'mcu' ? 2 : 2 * opts.publishers;
    while (performance.now() < mediaDeadline && subscribers.some((s) => s.session && s.tracks.size < tracksPerRoom)) {
      await new Promise((r) => setTimeout(r, 50));
    }
    hooks.log(`measuring for ${opts.durationS} s`);
    await Promise.all(publishers.map((p) => p.startWindow()));
    for (const s of subscribers) s.startWindow();
    // The tool's own event loop: a stall here shows up as latency that is not the server's.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const toolCpuStart = process.cpuUsage();
    const cpuStart = await cpuSource.read().catch((err: Error) => {
      onError(`server CPU: ${err.message}`);
      return NaN;
    });
    const wallStart = performance.now();
    await new Promise((r) => setTimeout(r, opts.durationS * 1000));
    const cpuEnd = await cpuSource.read().catch((err: Error) => {
      onError(`server CPU: ${err.message}`);
      return NaN;
    });
    const wallSeconds = (performance.now() - wallStart) / 1000;
    loopDelay.disable();
    const toolCpu = process.cpuUsage(toolCpuStart); // every thread of this process: JS and the peers' native threads
    const toolLoop = {
      p99Ms: loopDelay.percentile(99) / 1e6,
      maxMs: loopDelay.max / 1e6,
      cpuPercentOfOneCore: ((toolCpu.user + toolCpu.system) / 1e6 / wallSeconds) * 100,
    };
    if (Number.isFinite(cpuStart) && Number.isFinite(cpuEnd)) {
      const cpuSeconds = cpuEnd - cpuStart;
      cpu = { source: cpuSource.description, cpuSeconds, wallSeconds, percentOfOneCore: (cpuSeconds / wallSeconds) * 100 };
    }
    await Promise.all(publishers.map((p) => p.stop()));
    await new Promise((r) => setTimeout(r, DRAIN_MS));
    return buildReport(opts, driver.name, publishers, subscribers, cpu, errors, toolLoop, wallSeconds);
  } finally {
    for (const p of publishers) await p.stop().catch(() => undefined);
    await Promise.all(subscribers.map((s) => s.close()));
    await Promise.all(publishers.map((p) => p.close()));
    for (const d of drivers) await d.close();
    await peers.release();
  }
}
