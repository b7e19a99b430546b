/**
 * Child process or worker_thread for media workers: what each costs, measured in one run.
 *  - control round-trip: a small request (a MediaRooms-sized params object) and its answer, sent
 *    one after another; µs p50/p99 over `--requests` requests. The child process goes through
 *    the real WorkerProcess/ParentLink (Node IPC, 'advanced' serialization); the thread through
 *    postMessage (structured clone), the cheapest a thread offers.
 *  - added RSS per worker: a child's own RSS (/proc/<pid>/status VmRSS), and for threads the
 *    main process's RSS growth for `--threads` threads divided by their number. Bare (an echo
 *    loop), "sfu" (the worker has imported WebRtcServer and SfuRoom, as a media worker has), and
 *    for the child also "sfu+mcu" (the MCU's Mixer too, as an MCU worker has). Not for threads:
 *    the MCU's native codecs (node-av's FFmpeg, @evan/opus) crash the whole process (SIGSEGV)
 *    when imported in a worker_thread (measured on Node 20: two threads importing
 *    src/mcu/Mixer.js, or one thread that imported it and is terminated).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/worker-ipc.js [--requests 5000] [--threads 4]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { WorkerProcess } from '../src/server/workers/WorkerProcess.js';
import { ParentLink } from '../src/server/workers/parent-link.js';

interface BenchMethods {
  echo: { params: Record<string, unknown>; result: Record<string, unknown> };
}
interface BenchEvents {
  ready: { rssBytes: number };
}

const SELF = fileURLToPath(import.meta.url);
const REQUEST = { room: 'room-1', participantId: 'b6c1f0d2-8f7a-4d7e-9d2b-0d8f0e6a4c11', trackId: 'v0', width: 640, height: 360 };

type Stack = 'bare' | 'sfu' | 'sfu+mcu';

async function importStack(stack: Stack): Promise<void> {
  if (stack === 'bare') return;
  await import('../src/rtc/WebRtcServer.js');
  await import('../src/session/SfuRoom.js');
  if (stack === 'sfu+mcu') await import('../src/mcu/Mixer.js');
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function timeRoundTrips(n: number, roundTrip: () => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < 200; i++) await roundTrip(); // warm up
  const us: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await roundTrip();
    us.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  us.sort((a, b) => a - b);
  return { p50: percentile(us, 50), p99: percentile(us, 99) };
}

async function childProcess(requests: number, stack: Stack): Promise<{ p50: number; p99: number; rss: number; startMs: number }> {
  const t = performance.now();
  const { worker } = await WorkerProcess.start<BenchMethods, BenchEvents>({ name: 'bench', entry: SELF, init: { stack } });
  const startMs = performance.now() - t;
  try {
    const rtt = await timeRoundTrips(requests, () => worker.request('echo', REQUEST));
    return { ...rtt, rss: rssOf(worker.pid as number), startMs };
  } finally {
    await worker.close();
  }
}

async function threads(requests: number, count: number, stack: Stack): Promise<{ p50: number; p99: number; rss: number; startMs: number }> {
  global.gc?.();
  const before = process.memoryUsage().rss;
  const t = performance.now();
  const started = await Promise.all(
    Array.from({ length: count }, async () => {
      const w = new Worker(SELF, { workerData: { stack } });
      await new Promise<void>((resolve, reject) => {
        w.once('message', () => resolve());
        w.once('error', reject);
      });
      return w;
    }),
  );
  const startMs = (performance.now() - t) / count;
  await new Promise((r) => setTimeout(r, 500));
  global.gc?.();
  const rss = (process.memoryUsage().rss - before) / count;
  const w = started[0]!;
  let next = 1;
  const waiting = new Map<number, () => void>();
  w.on('message', (m: { id: number }) => waiting.get(m.id)?.());
  const rtt = await timeRoundTrips(
    requests,
    () =>
      new Promise<void>((resolve) => {
        const id = next++;
        waiting.set(id, () => {
          waiting.delete(id);
          resolve();
        });
        w.postMessage({ id, method: 'echo', params: REQUEST });
      }),
  );
  await Promise.all(started.map((x) => x.terminate()));
  return { ...rtt, rss, startMs };
}

async function main(): Promise<void> {
  const arg = (name: string, d: number): number => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : d;
  };
  const requests = arg('requests', 5000);
  const threadCount = arg('threads', 4);
  const mb = (b: number): string => `${(b / 1048576).toFixed(1)} MB`;
  console.log(`round trip over ${requests} sequential requests; RSS per worker`);
  for (const stack of ['bare', 'sfu', 'sfu+mcu'] as const) {
    const c = await childProcess(requests, stack);
    console.log(
      `child process, ${stack}: p50 ${c.p50.toFixed(0)} µs, p99 ${c.p99.toFixed(0)} µs, RSS ${mb(c.rss)}, start ${c.startMs.toFixed(0)} ms`,
    );
    if (stack === 'sfu+mcu') continue; // crashes in a thread (see above)
    const t = await threads(requests, threadCount, stack);
    console.log(
      `worker_thread, ${stack}: p50 ${t.p50.toFixed(0)} µs, p99 ${t.p99.toFixed(0)} µs, RSS ${mb(t.rss)} (of ${threadCount}), start ${t.startMs.toFixed(0)} ms`,
    );
  }
}

if (!isMainThread) {
  // A thread: import what asked, then echo.
  const { stack } = workerData as { stack: Stack };
  await importStack(stack);
  parentPort?.on('message', (m: { id: number; params: unknown }) => parentPort?.postMessage({ id: m.id, result: m.params }));
  parentPort?.postMessage({ ready: true });
} else if (process.send) {
  // A child process forked by childProcess().
  const link = new ParentLink<BenchMethods, BenchEvents>();
  const { stack } = await link.init<{ stack: Stack }>();
  await importStack(stack);
  link.serve({ echo: (params) => params }, () => {});
  link.emit('ready', { rssBytes: process.memoryUsage().rss });
} else {
  await main();
}
