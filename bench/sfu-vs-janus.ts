/**
 * Switchboard's SFU side by side with Janus's VideoRoom (Debian's `janus`), driven by the same
 * load tool peers in the same run: one publisher at ~1.5 Mbit/s (recorded Chromium VP8 + Opus,
 * bench/loadtest), a growing number of node-datachannel subscribers, each server pinned to the
 * same core, the peers on another. Janus runs twice: tuned (`event_loops` = number of cores) and
 * with its default threading (one loop per handle).
 *
 *   npm run bench:janus            (= npm run build && node dist/bench/sfu-vs-janus.js)
 *   node dist/bench/sfu-vs-janus.js [--quick] [--steps 10,25,50] [--seconds 6] [--only switchboard,janus-tuned,janus-default]
 *   node dist/bench/sfu-vs-janus.js --help
 *
 * Per server and step N, the load tool itself runs once (bench/lib/loadtest-step.ts: the code of
 * `switchboard loadtest --rooms 1 --publishers 1 --subscribers N`, in a child pinned to the peers'
 * core, with the Switchboard or the Janus VideoRoom driver): everyone joins, then a measured
 * window gives loss (sequence gaps per track), added latency p50/p99 (capture-time trailer →
 * arrival), server CPU (utime+stime of the server from /proc over the window) and so forwarded
 * packets per server-CPU-second. Steps stop at ≥ --max-loss % loss, the server's time budget or
 * the last step. Reported as ratios Switchboard ÷ Janus for: subscribers served at < max loss (measured,
 * and projected to a full core from CPU per forwarded packet), forwarded packets/s per core, and
 * latency at the largest N every server served.
 *
 * Everything runs inside a network namespace of its own (bench/lib/bench-netns.ts): loopback,
 * plus a veth pair whose address Janus gathers ICE candidates on (libnice ignores loopback
 * interfaces). Bounded by --timeout (default 600 s; --quick: 150 s).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadtestReport } from './loadtest/report.js';
import { runInOwnNamespace } from './lib/bench-netns.js';
import { ensureJanusInstalled, startJanus } from './lib/janus-server.js';
import {
  CLK_TCK,
  exitAfter,
  nonNegative,
  otherTicks,
  processTicks,
  loopbackServeArgs,
  MANY_PEERS_ARGS,
  spawnServer,
  startChild,
  stopServer,
  udpSocketDrops,
} from './lib/proc.js';

type ServerKey = 'switchboard' | 'janus-tuned' | 'janus-default';
const ALL: ServerKey[] = ['switchboard', 'janus-tuned', 'janus-default'];
const LABEL: Record<ServerKey, string> = {
  switchboard: 'Switchboard SFU',
  'janus-tuned': 'Janus (event_loops = cores)',
  'janus-default': 'Janus (default threading)',
};

interface Opts {
  steps: number[];
  seconds: number;
  videoBitrate: number;
  maxLoss: number;
  serverCore: number;
  genCore: number;
  only: ServerKey[];
  timeout: number;
  quick: boolean;
}

/** CPU (% of one core) used by other processes above which a step is called perturbed. */
const NOISE_PCT = 15;
const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');

function usage(err?: string): never {
  if (err) console.error(`error: ${err}`);
  console.error(`usage: node dist/bench/sfu-vs-janus.js [options]
  --quick               about 2 minutes: steps 10,25, 3 s windows (timeout 150 s)
  --steps LIST          subscriber counts, ascending (default 10,25,50,100,150,200,300)
  --seconds S           measured window per step, whole seconds (default 6)
  --video-bitrate B     publisher video bit/s (default 1400000; with Opus ≈ 1.5 Mbit/s)
  --max-loss P          a server stops growing at this loss % (default 0.5)
  --only LIST           ${ALL.join(',')} (default all)
  --server-core N       core of every server (default 0)
  --gen-core N          core of the peers, this process (default 1)
  --timeout S           overall limit, exit code 2 (default 600)`);
  process.exit(err ? 64 : 0);
}

function parseArgs(argv: string[]): Opts {
  const quick = argv.includes('--quick');
  const o: Opts = {
    steps: quick ? [10, 25] : [10, 25, 50, 100, 150, 200, 300],
    seconds: quick ? 3 : 6,
    videoBitrate: 1_400_000,
    maxLoss: 0.5,
    serverCore: 0,
    genCore: 1,
    only: ALL,
    timeout: quick ? 150 : 600,
    quick,
  };
  const num = (k: string, v: string | undefined) => nonNegative(k, v, usage);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    switch (a) {
      case '--quick':
        break;
      case '--steps':
        o.steps = (v ?? '').split(',').map((s) => Math.floor(num('steps', s)));
        if (o.steps.length === 0 || o.steps.some((n, j) => n < 1 || n > 1000 || (j > 0 && n <= o.steps[j - 1]!)))
          usage('--steps takes ascending counts 1–1000');
        i++;
        break;
      case '--seconds':
        o.seconds = Math.max(1, Math.round(num('seconds', v)));
        i++;
        break;
      case '--video-bitrate':
        o.videoBitrate = Math.max(100_000, num('video-bitrate', v));
        i++;
        break;
      case '--max-loss':
        o.maxLoss = num('max-loss', v);
        i++;
        break;
      case '--only':
        o.only = (v ?? '').split(',') as ServerKey[];
        if (o.only.length === 0 || o.only.some((k) => !ALL.includes(k))) usage(`--only takes ${ALL.join(',')}`);
        i++;
        break;
      case '--server-core':
        o.serverCore = Math.floor(num('server-core', v));
        i++;
        break;
      case '--gen-core':
        o.genCore = Math.floor(num('gen-core', v));
        i++;
        break;
      case '--timeout':
        o.timeout = num('timeout', v);
        i++;
        break;
      case '-h':
      case '--help':
        usage();
        break;
      default:
        usage(`unknown option ${a}`);
    }
  }
  if (o.serverCore === o.genCore) usage('--server-core and --gen-core must differ');
  return o;
}

interface StepResult {
  server: ServerKey;
  subscribers: number;
  windowS: number;
  /** RTP packets the subscribers received in the window (all tracks). */
  received: number;
  /**
   * Packets received in the window ÷ (packets sent in it × N), %: a server falling behind shows
   * here before it shows as sequence gaps (media queued, not lost). Above 100 % a backlog from
   * before the window was draining.
   */
  deliveredPct: number;
  lossPct: number;
  latencyP50Us: number;
  latencyP99Us: number;
  /** Tracks expected but never received. */
  missingTracks: number;
  joinP50Ms: number;
  joinP99Ms: number;
  joinFailed: number;
  serverCpuPct: number;
  /** Server CPU µs per packet received by a subscriber in the window. */
  cpuUsPerForwarded: number;
  /** The load tool's process over the window: CPU (% of one core) and event-loop delay p99. */
  peersCpuPct: number;
  peersLoopDelayP99Ms: number;
  /** Other processes over the whole step (join included), % of one core. */
  otherCpuPct: number;
  /** Datagrams the server's sockets dropped (receive buffer full) over the whole step. */
  serverUdpDrops: number;
  errors: string[];
}

interface RunningServer {
  pid: number;
  url: string;
  driver: 'switchboard' | 'janus';
  stop(): Promise<void>;
}

const opts = parseArgs(process.argv.slice(2));
const commandLine = ['node', 'dist/bench/sfu-vs-janus.js', ...process.argv.slice(2)].join(' ');
const nproc = cpus().length;
const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const fi = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');

async function startServer(key: ServerKey): Promise<RunningServer> {
  const timeoutMs = 15_000;
  if (key === 'switchboard') {
    const main = join(repo, 'dist', 'src', 'cli', 'main.js');
    const s = await spawnServer('switchboard', loopbackServeArgs(main, MANY_PEERS_ARGS), { startTimeoutMs: timeoutMs });
    // Every thread (libuv's pool too) on the server core.
    execFileSync('taskset', ['-a', '-p', '-c', String(opts.serverCore), String(s.pid)], { stdio: 'ignore' });
    return { pid: s.pid, url: `ws://127.0.0.1:${s.port}/ws`, driver: 'switchboard', stop: () => stopServer(s) };
  }
  const eventLoops = key === 'janus-tuned' ? nproc : 0;
  const j = await startJanus({ netns: 'current', cpus: String(opts.serverCore), eventLoops, tag: key });
  return { pid: j.pid, url: j.wsUrl.href, driver: 'janus', stop: () => j.stop() };
}

/** One run of the load tool against `server` with N subscribers, in a child process on the peers' core. */
async function runStep(key: ServerKey, server: RunningServer, n: number, limitMs: number): Promise<StepResult> {
  const script = join(here, 'lib', 'loadtest-step.js');
  const args = [
    '-c',
    String(opts.genCore),
    process.execPath,
    script,
    '--driver',
    server.driver,
    '--url',
    server.url,
    '--rooms',
    '1',
    '--publishers',
    '1',
    '--subscribers',
    String(n),
    '--duration',
    String(opts.seconds),
    '--video-bitrate',
    String(opts.videoBitrate),
    '--server-pid',
    String(server.pid),
    '--room-prefix',
    `${key}-n${n}`,
    '--join-timeout',
    '20',
    '--json',
  ];
  const procs0 = processTicks();
  const started = performance.now();
  const drops0 = udpSocketDrops(server.pid);
  const child = startChild(`loadtest N=${n}`, 'taskset', args);
  let json = '';
  child.onLine = (line) => {
    if (line.startsWith('{"report"')) json = line;
  };
  const code = await new Promise<number | null>((resolve) => {
    const t = setTimeout(() => {
      child.proc.kill('SIGKILL');
    }, limitMs);
    child.proc.once('exit', (c) => {
      clearTimeout(t);
      resolve(c);
    });
  });
  const procs1 = processTicks();
  const stepS = (performance.now() - started) / 1000;
  const serverUdpDrops = udpSocketDrops(server.pid) - drops0;
  if (!json) throw new Error(`the load tool ended (code ${code}) without a report:\n${child.tail.slice(-8).join('\n')}`);
  const { report, peers } = JSON.parse(json) as { report: LoadtestReport; peers: { cpuPct: number | null; loopDelayP99Ms: number | null } };
  const cpu = report.serverCpu;
  const windowS = cpu?.wallSeconds ?? opts.seconds;
  const others = otherTicks(procs0, procs1, [server.pid, child.pid]) / CLK_TCK;
  const t = report.totals;
  const sentPackets = report.sent.reduce((sum, x) => sum + x.packets, 0);
  return {
    server: key,
    subscribers: n,
    windowS,
    received: t.packetsReceived,
    lossPct: t.lossPercent,
    deliveredPct: (100 * t.packetsReceived) / (sentPackets * n),
    latencyP50Us: (t.latencyP50Ms ?? NaN) * 1000,
    latencyP99Us: (t.latencyP99Ms ?? NaN) * 1000,
    missingTracks: t.missingTracks,
    joinP50Ms: report.joinTime.subscribers.p50Ms ?? NaN,
    joinP99Ms: report.joinTime.subscribers.p99Ms ?? NaN,
    joinFailed: report.joinTime.subscribers.failed,
    serverCpuPct: cpu?.percentOfOneCore ?? NaN,
    cpuUsPerForwarded: cpu ? (cpu.cpuSeconds * 1e6) / t.packetsReceived : NaN,
    peersCpuPct: peers.cpuPct ?? NaN,
    peersLoopDelayP99Ms: peers.loopDelayP99Ms ?? NaN,
    otherCpuPct: (100 * others) / stepS,
    serverUdpDrops,
    errors: report.errors.slice(0, 3),
  };
}

async function runServer(key: ServerKey, budgetMs: number): Promise<StepResult[]> {
  const deadline = Date.now() + budgetMs;
  const results: StepResult[] = [];
  const server = await startServer(key);
  try {
    for (const n of opts.steps) {
      // Joining (the load tool joins 16 at a time), the window and the teardown must fit the budget.
      const needMs = (10 + n * 0.15 + opts.seconds) * 1000;
      if (Date.now() + needMs > deadline) {
        console.log(`${key}: time budget reached before N=${n}`);
        break;
      }
      const step = await runStep(key, server, n, deadline - Date.now());
      results.push(step);
      console.log(
        `${key.padEnd(13)} N=${String(step.subscribers).padStart(3)}: loss ${f(step.lossPct, 3)} % | delivered ${f(step.deliveredPct, 2)} % | ${fi(step.received / step.windowS)} forwarded pkts/s | ` +
          `server CPU ${f(step.serverCpuPct, 0)} % = ${f(step.cpuUsPerForwarded, 2)} µs/pkt | latency p50 ${f(step.latencyP50Us / 1000, 2)} ms p99 ${f(step.latencyP99Us / 1000, 2)} ms | ` +
          `join p50 ${f(step.joinP50Ms, 0)} ms p99 ${f(step.joinP99Ms, 0)} ms | peers CPU ${f(step.peersCpuPct, 0)} %, loop delay p99 ${f(step.peersLoopDelayP99Ms, 0)} ms | ` +
          `others ${f(step.otherCpuPct, 0)} % | server UDP drops ${fi(step.serverUdpDrops)}` +
          (step.missingTracks ? ` | ${step.missingTracks} tracks never received` : '') +
          (step.joinFailed ? ` | ${step.joinFailed} joins failed` : '') +
          (step.errors.length ? ` | errors: ${step.errors.join('; ')}` : ''),
      );
      if (!served(step)) break;
    }
  } finally {
    await server.stop();
  }
  return results;
}

/** The summary of one server: the largest N under the loss limit and its figures. */
interface Summary {
  key: ServerKey;
  /** Largest N measured with loss < max (0 if none). */
  served: number;
  best: StepResult | undefined;
  /** Packets/s one subscriber receives. */
  pktsPerSubscriber: number;
  /** 1e6 ÷ µs per forwarded packet at `best`. */
  forwardedPerCore: number;
  /** forwardedPerCore ÷ pktsPerSubscriber: subscribers one full core would serve at that cost. */
  projectedPerCore: number;
}

/**
 * A step counts as served when loss stayed under the limit, so did what never arrived in time
 * (delivered), and every subscriber got every track.
 */
const served = (r: StepResult): boolean =>
  r.lossPct < opts.maxLoss && r.deliveredPct > 100 - opts.maxLoss && r.missingTracks === 0 && r.joinFailed === 0 && r.received > 0;

function summarize(key: ServerKey, rs: StepResult[]): Summary {
  const ok = rs.filter(served);
  const best = ok[ok.length - 1];
  const pktsPerSubscriber = best ? best.received / best.subscribers / best.windowS : NaN;
  const forwardedPerCore = best ? 1e6 / best.cpuUsPerForwarded : NaN;
  return {
    key,
    served: best?.subscribers ?? 0,
    best,
    pktsPerSubscriber,
    forwardedPerCore,
    projectedPerCore: forwardedPerCore / pktsPerSubscriber,
  };
}

function report(all: StepResult[]): void {
  console.log('\n## Switchboard SFU vs Janus VideoRoom\n');
  console.log(`Command: \`${commandLine}\``);
  console.log(
    `Effective: the load tool (bench/loadtest) per step: 1 publisher (node-datachannel, recorded Chromium VP8 grown to ${fi(opts.videoBitrate)} bit/s + Opus), ` +
      `N subscribers (node-datachannel) for N in ${opts.steps.join(', ')}, a ${opts.seconds} s window once all receive; a server stops at ≥ ${opts.maxLoss} % loss, < ${100 - opts.maxLoss} % delivered in the window (+0.3 s) or a track never received; ` +
      `servers on core ${opts.serverCore}, peers on core ${opts.genCore}; all in one network namespace (loopback; Janus gathers 127.0.0.1 on a veth).`,
  );
  console.log(
    `Machine: ${nproc} × ${cpus()[0]?.model.trim() ?? '?'}, Node ${process.version}, load average at start ${startLoad.map((x) => x.toFixed(2)).join(' ')}.\n`,
  );
  console.log(
    '| server | N | loss % | delivered % | forwarded pkts/s | server CPU % | µs / forwarded pkt | forwarded pkts per CPU-s | latency p50 ms | p99 ms | join p50 / p99 ms | peers CPU % | others CPU % |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of all) {
    console.log(
      `| ${LABEL[r.server]} | ${r.subscribers} | ${f(r.lossPct, 3)} | ${f(r.deliveredPct, 2)} | ${fi(r.received / r.windowS)} | ${f(r.serverCpuPct, 0)} | ${f(r.cpuUsPerForwarded, 2)} | ` +
        `${fi(1e6 / r.cpuUsPerForwarded)} | ${f(r.latencyP50Us / 1000, 2)} | ${f(r.latencyP99Us / 1000, 2)} | ${f(r.joinP50Ms, 0)} / ${f(r.joinP99Ms, 0)} | ${f(r.peersCpuPct, 0)} | ${f(r.otherCpuPct, 0)} |`,
    );
  }
  const sums = opts.only.map((k) =>
    summarize(
      k,
      all.filter((r) => r.server === k),
    ),
  );
  console.log('');
  for (const s of sums) {
    console.log(
      `${LABEL[s.key]}: served ${s.served} subscribers at < ${opts.maxLoss} % loss and > ${100 - opts.maxLoss} % delivered (measured); ${fi(s.forwardedPerCore)} forwarded pkts/s per core ` +
        `(${f(s.best?.cpuUsPerForwarded ?? NaN, 2)} µs/pkt at N=${s.best?.subscribers ?? 'n/a'}) → ${fi(s.projectedPerCore)} subscribers of this stream per core (projected)`,
    );
  }
  // Latency compared at the largest N every server measured under the loss limit.
  const common = Math.min(...sums.map((s) => s.served));
  const at = (k: ServerKey) => all.find((r) => r.server === k && r.subscribers === common);
  const sb = sums.find((s) => s.key === 'switchboard');
  const ratios: Record<string, Record<string, number>> = {};
  for (const s of sums) {
    if (!sb || s.key === 'switchboard') continue;
    const a = at('switchboard');
    const b = at(s.key);
    ratios[s.key] = {
      subscribersServedMeasured: sb.served / s.served,
      subscribersPerCoreProjected: sb.projectedPerCore / s.projectedPerCore,
      forwardedPktsPerCore: sb.forwardedPerCore / s.forwardedPerCore,
      latencyP50: a && b ? a.latencyP50Us / b.latencyP50Us : NaN,
      latencyP99: a && b ? a.latencyP99Us / b.latencyP99Us : NaN,
    };
    const q = ratios[s.key]!;
    console.log(
      `ratio Switchboard / ${LABEL[s.key]}: subscribers served ${f(q.subscribersServedMeasured!, 2)} (measured) · ${f(q.subscribersPerCoreProjected!, 2)} (projected per core) · ` +
        `forwarded pkts/s per core ${f(q.forwardedPktsPerCore!, 2)} · latency at N=${common} p50 ${f(q.latencyP50!, 2)} p99 ${f(q.latencyP99!, 2)} (below 1 = Switchboard faster)` +
        (s.key === 'janus-tuned'
          ? ` — goal ≥ 1.0 on subscribers per core: ${q.subscribersPerCoreProjected! >= 1 ? 'met' : 'not met'}`
          : ''),
    );
  }
  for (const r of all) {
    if (r.otherCpuPct > NOISE_PCT)
      console.log(
        `note: ${r.server} N=${r.subscribers}: other processes used ${f(r.otherCpuPct, 0)} % of a core: perturbed; rerun on a quiet machine.`,
      );
    if (r.serverUdpDrops > 0)
      console.log(
        `note: ${r.server} N=${r.subscribers}: the server's sockets dropped ${fi(r.serverUdpDrops)} datagrams (receive buffers full).`,
      );
    if (r.peersLoopDelayP99Ms > 100)
      console.log(
        `note: ${r.server} N=${r.subscribers}: the peers' event loop stalled (p99 delay ${f(r.peersLoopDelayP99Ms, 0)} ms): the generator was starved; its latency and loss are not the server's alone.`,
      );
    if (r.peersCpuPct > 85)
      console.log(
        `note: ${r.server} N=${r.subscribers}: the peers used ${f(r.peersCpuPct, 0)} % of their core: losses may be theirs, not the server's.`,
      );
  }
  const peerBound = sums.some((s) => s.best && s.best.serverCpuPct < 90);
  if (peerBound)
    console.log(
      "note: where a server stopped below 90 % of its core, the measured count is bounded by the peers (one core of node-datachannel), not by the server; the projected per-core figure compares the servers' CPU cost per packet.",
    );
  console.log(
    `\n${JSON.stringify(
      { bench: 'sfu-vs-janus', command: commandLine, loadAverageAtStart: startLoad, nproc, results: all, ratios },
      (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v),
    )}`,
  );
}

const startLoad = loadavg();

async function main(): Promise<void> {
  if (!process.env.SB_BENCH_NETNS) {
    if (!existsSync(join(repo, 'dist', 'src', 'cli', 'main.js')))
      throw new Error('dist/src/cli/main.js not found: build first (npm run build)');
    ensureJanusInstalled();
  }
  await runInOwnNamespace('sfuvsjanus');
  const overall = exitAfter(opts.timeout);
  execFileSync('taskset', ['-a', '-p', '-c', String(opts.genCore), String(process.pid)], { stdio: 'ignore' });
  console.log(`sfu-vs-janus bench: ${commandLine} (namespace ${process.env.SB_BENCH_NETNS})`);
  const all: StepResult[] = [];
  // Leave time for the report; each server gets an equal share of the rest.
  const budgetMs = ((opts.timeout - 15) * 1000) / opts.only.length;
  for (const key of opts.only) {
    const t0 = Date.now();
    try {
      all.push(...(await runServer(key, budgetMs - 5_000)));
    } catch (e) {
      console.log(`${key}: failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    console.log(`${key}: ${f((Date.now() - t0) / 1000, 0)} s`);
  }
  report(all);
  clearTimeout(overall);
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (e: unknown) => {
    console.error(`\nbench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);
