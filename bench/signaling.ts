/**
 * Signaling benchmark: Switchboard vs. a bare `ws` relay (the reference), in the same run.
 *
 *   npm run build && node dist/bench/signaling.js [--clients 2000] [--room-size 10] [--duration 15]
 *
 * For each server (both started here as child processes on 127.0.0.1, port 0):
 *   1. RSS (and V8 heap) after start, GC'd             — baseline
 *   2. N clients connect (bounded ramp), `hello`, `join` rooms of --room-size; wait for full rosters
 *   3. RSS / heap again after a settle + GC            → memory per idle connection
 *   4. warm-up, then OPEN LOOP for --duration s at --rate msgs/s in total (offers ~2 KB and
 *      trickle candidates to random peers in the sender's room)  → latency at a fixed load
 *   5. CLOSED LOOP for --max-duration s, --window relays in flight per client → max msgs/s
 * Latency = receive time − send time (performance.now() embedded in the SDP / candidate string;
 * sender and receiver are in this process). Server CPU = utime+stime from /proc/PID/stat.
 *
 * The reference (bench/ws-echo-reference.ts) does only JSON.parse → Map lookup → add `from` →
 * JSON.stringify → send; its ratio shows what Switchboard's validation, rate limiting, room
 * checks, metrics and logging cost on top of the unavoidable relay work.
 *
 * Both servers get `--expose-gc --import dist/bench/lib/bench-preload.js` (an IPC hook used to
 * force GC before memory samples and, with --cpu-prof, to profile the closed-loop phase).
 * All children are killed on exit; the whole run is bounded by --timeout seconds.
 *
 * Notes for the README: the load generator runs in this process, on the same machine as the
 * server; on a 2-core machine server and generator each get about one core. The output prints
 * the generator's CPU and event-loop delay so a saturated generator is visible.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, loadavg, totalmem } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LoadGenerator, sleep, type PhaseResult } from './lib/load.js';
import { exitAfter, nonNegative, spawnServer, stopServer, rssKiB, cpuTicks, CLK_TCK, type ServerChild } from './lib/proc.js';
import { ipcRequest } from './lib/ipc.js';
import { summarizeProfile } from './lib/cpuprofile.js';

// ---- options ------------------------------------------------------------------------------

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const repo = resolve(here, '..', '..');

interface Opts {
  clients: number;
  roomSize: number;
  duration: number;
  rate: number;
  warmup: number;
  maxDuration: number;
  window: number;
  offerRatio: number;
  sdpBytes: number;
  connectConcurrency: number;
  timeout: number;
  only: 'both' | 'switchboard' | 'reference';
  cpuProf: boolean;
  sbConfig: string | undefined;
  sbArgs: string[];
  settle: number;
}

function parseArgs(argv: string[]): Opts {
  const o: Opts = {
    clients: 2000,
    roomSize: 10,
    duration: 15,
    rate: 4000,
    warmup: 2,
    maxDuration: 10,
    window: 2,
    offerRatio: 0.25,
    sdpBytes: 2048,
    connectConcurrency: 100,
    timeout: 180,
    only: 'both',
    cpuProf: false,
    sbConfig: undefined,
    sbArgs: [],
    settle: 1.5,
  };
  const num = (k: string, v: string | undefined): number => nonNegative(k, v, usage);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    switch (a) {
      case '--clients':
        o.clients = Math.floor(num('clients', v));
        i++;
        break;
      case '--room-size':
        o.roomSize = Math.max(2, Math.floor(num('room-size', v)));
        i++;
        break;
      case '--duration':
        o.duration = num('duration', v);
        i++;
        break;
      case '--rate':
        o.rate = num('rate', v);
        i++;
        break;
      case '--warmup':
        o.warmup = num('warmup', v);
        i++;
        break;
      case '--max-duration':
        o.maxDuration = num('max-duration', v);
        i++;
        break;
      case '--window':
        o.window = Math.max(1, Math.floor(num('window', v)));
        i++;
        break;
      case '--offer-ratio':
        o.offerRatio = Math.min(1, num('offer-ratio', v));
        i++;
        break;
      case '--sdp-bytes':
        o.sdpBytes = num('sdp-bytes', v);
        i++;
        break;
      case '--connect-concurrency':
        o.connectConcurrency = Math.max(1, Math.floor(num('connect-concurrency', v)));
        i++;
        break;
      case '--timeout':
        o.timeout = num('timeout', v);
        i++;
        break;
      case '--settle':
        o.settle = num('settle', v);
        i++;
        break;
      case '--only':
        if (v !== 'both' && v !== 'switchboard' && v !== 'reference') usage('--only both|switchboard|reference');
        o.only = v;
        i++;
        break;
      case '--cpu-prof':
        o.cpuProf = true;
        break;
      case '--sb-config':
        o.sbConfig = v;
        i++;
        break;
      case '--sb-arg':
        if (v === undefined) usage('--sb-arg needs a value');
        o.sbArgs.push(v);
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
  if (o.clients < 2) usage('--clients must be at least 2');
  return o;
}

function usage(err?: string): never {
  if (err) console.error(`error: ${err}`);
  console.error(`usage: node dist/bench/signaling.js [options]
  --clients N              WebSocket clients (default 2000)
  --room-size N            clients per room (default 10)
  --duration S             open-loop measurement seconds (default 15)
  --rate R                 open-loop total relayed messages/s (default 4000)
  --warmup S               open-loop warm-up seconds, not measured (default 2)
  --max-duration S         closed-loop (max throughput) seconds (default 10; 0 skips)
  --window W               closed-loop relays in flight per client (default 2)
  --offer-ratio F          fraction of relays that are ~2 KB offers, rest candidates (default 0.25)
  --sdp-bytes B            offer SDP size (default 2048)
  --connect-concurrency C  handshakes in flight during the ramp (default 100)
  --settle S               seconds to settle before a memory sample (default 1.5)
  --timeout S              overall limit; children are killed and exit code is 2 (default 180)
  --only WHICH             both | switchboard | reference (default both)
  --cpu-prof               CPU-profile each server during the closed-loop phase; print top frames
  --sb-config FILE         Switchboard config file (default: a generated one raising the rate limit)
  --sb-arg ARG             extra argument for 'switchboard serve' (repeatable)`);
  process.exit(err ? 64 : 0);
}

const opts = parseArgs(process.argv.slice(2));
const commandLine = ['node', 'dist/bench/signaling.js', ...process.argv.slice(2)].join(' ');

// ---- overall bound -------------------------------------------------------------------------

const overall = exitAfter(opts.timeout);

// ---- servers -------------------------------------------------------------------------------

const preload = pathToFileURL(join(here, 'lib', 'bench-preload.js')).href;
const tmp = mkdtempSync(join(tmpdir(), 'sb-bench-'));

interface ServerSpec {
  key: 'switchboard' | 'reference';
  label: string;
  args: string[];
  wsPath: string;
  notes: string[];
}

/**
 * Switchboard's per-connection rate limit (default 50/s, burst 200: a browser's pace) would
 * cap a benchmark client; the generated config lifts it so the relay itself is measured.
 */
function switchboardSpec(): ServerSpec {
  const main = join(repo, 'dist', 'src', 'cli', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} not found: build first (npx tsc -p tsconfig.json)`);
  const notes: string[] = [];
  const args = [
    main,
    'serve',
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--log-level',
    'silent',
    '--turn-enabled',
    'false',
    '--rtc-enabled',
    'false',
  ];
  let config = opts.sbConfig;
  if (!config) {
    config = join(tmp, 'switchboard-bench.yaml');
    writeFileSync(
      config,
      '# generated by bench/signaling.ts\nrateLimit:\n  perSecond: 100000\n  burst: 100000\nmaxRoomParticipants: 1000\nmaxConnectionsPerIp: 100000\n',
    );
    notes.push('per-connection rate limit raised to 100,000 msg/s by a generated config (rateLimit.perSecond/burst)');
    notes.push('per-address connection cap raised to 100,000 (maxConnectionsPerIp): every bench client comes from 127.0.0.1');
  } else notes.push(`config file ${config}`);
  args.push('--config', config, ...opts.sbArgs);
  return { key: 'switchboard', label: 'Switchboard', args, wsPath: '/ws', notes };
}

function referenceSpec(): ServerSpec {
  const main = join(here, 'ws-echo-reference.js');
  return {
    key: 'reference',
    label: 'reference (bare ws relay)',
    wsPath: '/',
    args: [main, '--port', '0', '--host', '127.0.0.1'],
    notes: ['bench/ws-echo-reference.ts: parse → lookup `to` → add `from` → stringify → send; no validation'],
  };
}

// ---- one server run ------------------------------------------------------------------------

interface MemSample {
  rssKiB: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

interface ServerResult {
  spec: ServerSpec;
  connectJoinS: number;
  memBefore: MemSample;
  memAfter: MemSample;
  rssPerConnKiB: number;
  heapPerConnKiB: number;
  open: PhaseResult;
  max: PhaseResult | undefined;
  profile?: string;
}

async function memSample(s: ServerChild): Promise<MemSample> {
  await sleep(opts.settle * 1000);
  const m = await ipcRequest<{ heapUsed: number; external: number; arrayBuffers: number; gc: boolean }>(s.proc, { cmd: 'mem' });
  await sleep(200);
  return { rssKiB: rssKiB(s.pid), heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}

async function runServer(spec: ServerSpec): Promise<ServerResult> {
  log(`\n== ${spec.label} ==`);
  const s = await spawnServer(spec.label, ['--expose-gc', '--import', preload, ...spec.args], { startTimeoutMs: 20_000 });
  log(`pid ${s.pid}, listening on ${s.host}:${s.port}`);
  const load = new LoadGenerator(
    `ws://${s.host}:${s.port}${spec.wsPath}`,
    {
      clients: opts.clients,
      roomSize: opts.roomSize,
      sdpBytes: opts.sdpBytes,
      offerRatio: opts.offerRatio,
      connectConcurrency: opts.connectConcurrency,
      connectTimeoutMs: 30_000,
    },
    () => cpuTicks(s.pid),
    CLK_TCK,
  );
  try {
    const memBefore = await memSample(s);
    log(`idle RSS ${(memBefore.rssKiB / 1024).toFixed(1)} MiB`);
    const connectJoinS = await load.connectAll();
    log(`${opts.clients} clients connected + joined in ${connectJoinS.toFixed(2)} s`);
    const memAfter = await memSample(s);
    const rssPerConnKiB = (memAfter.rssKiB - memBefore.rssKiB) / opts.clients;
    const heapPerConnKiB = (memAfter.heapUsed - memBefore.heapUsed) / 1024 / opts.clients;
    log(
      `RSS with ${opts.clients} idle clients ${(memAfter.rssKiB / 1024).toFixed(1)} MiB → ${rssPerConnKiB.toFixed(1)} KiB/conn (heap ${heapPerConnKiB.toFixed(1)} KiB/conn)`,
    );

    if (opts.warmup > 0) {
      const w = await load.runOpenLoop('warm-up', opts.rate, opts.warmup, 2000);
      log(`warm-up: ${w.received}/${w.sent} delivered`);
    }
    const open = await load.runOpenLoop(`open loop ${opts.rate}/s`, opts.rate, opts.duration, 5000);
    log(phaseLine(open));
    let max: PhaseResult | undefined;
    let profile: string | undefined;
    if (opts.maxDuration > 0) {
      if (opts.cpuProf) await ipcRequest(s.proc, { cmd: 'prof-start' });
      max = await load.runClosedLoop(`closed loop, window ${opts.window}/client`, opts.window, opts.maxDuration, 5000);
      if (opts.cpuProf) {
        const path = join(tmp, `${spec.key}.cpuprofile`);
        await ipcRequest(s.proc, { cmd: 'prof-stop', path }, 30_000);
        profile = path;
      }
      log(phaseLine(max));
    }
    return { spec, connectJoinS, memBefore, memAfter, rssPerConnKiB, heapPerConnKiB, open, max, ...(profile ? { profile } : {}) };
  } finally {
    await load.closeAll();
    await stopServer(s);
  }
}

// ---- output --------------------------------------------------------------------------------

function log(s: string): void {
  console.log(s);
}

const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const fi = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');

function phaseLine(p: PhaseResult): string {
  const errs = Object.entries(p.errors)
    .map(([k, v]) => `${k}×${v}`)
    .join(' ');
  return (
    `${p.label}: ${fi(p.msgsPerS)} msg/s delivered (${fi(p.sent)} sent, ${fi(p.received)} received, lost ${fi(p.lost)})` +
    ` | latency p50 ${f(p.p50, 2)} p90 ${f(p.p90, 2)} p99 ${f(p.p99, 2)} p99.9 ${f(p.p999, 2)} max ${f(p.max, 1)} ms` +
    ` | server CPU ${f(p.serverCpuPct, 0)} % = ${f(p.cpuUsPerMsg, 1)} µs/msg | load-gen CPU ${f(p.loadCpuPct, 0)} %, loop delay p99 ${f(p.loopDelayP99Ms, 1)} ms` +
    ` | machine ${f(p.machineBusyPct, 0)} % (softirq ${f(p.softirqPct, 0)} %, other ${f(p.otherPct, 0)} %)` +
    (p.lateSends ? ` | ${p.label.startsWith('open') ? 'late/skipped sends' : 'stalled'} ${p.lateSends}` : '') +
    (p.fromMismatch ? ` | BAD type/from ${p.fromMismatch}` : '') +
    (errs ? ` | ${errs}` : '') +
    ` | avg frame ${fi(p.bytesPerMsg)} B`
  );
}

function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : 'n/a';
}

function report(results: ServerResult[]): void {
  const sb = results.find((r) => r.spec.key === 'switchboard');
  const ref = results.find((r) => r.spec.key === 'reference');
  const cols = results;
  const rows: [string, (r: ServerResult) => number, (n: number) => string, boolean][] = [
    ['connect + hello + join, all clients (s)', (r) => r.connectJoinS, (n) => f(n, 2), true],
    ['memory per idle connection, RSS (KiB)', (r) => r.rssPerConnKiB, (n) => f(n, 1), true],
    ['memory per idle connection, V8 heap (KiB)', (r) => r.heapPerConnKiB, (n) => f(n, 1), true],
    [`open loop @ ${fi(opts.rate)} msg/s: delivered (msg/s)`, (r) => r.open.msgsPerS, fi, true],
    ['open loop: latency p50 (ms)', (r) => r.open.p50, (n) => f(n, 2), true],
    ['open loop: latency p99 (ms)', (r) => r.open.p99, (n) => f(n, 2), true],
    ['open loop: latency max (ms)', (r) => r.open.max, (n) => f(n, 1), true],
    ['open loop: lost (sent − received)', (r) => r.open.lost, fi, false],
    ['open loop: server CPU (µs per relayed msg)', (r) => r.open.cpuUsPerMsg, (n) => f(n, 1), true],
    ['open loop: server CPU (% of one core)', (r) => r.open.serverCpuPct, (n) => f(n, 0), true],
  ];
  if (results.every((r) => r.max)) {
    rows.push(
      [`max throughput, closed loop, window ${opts.window}/client (msg/s)`, (r) => r.max!.msgsPerS, fi, true],
      ['max throughput: latency p50 (ms)', (r) => r.max!.p50, (n) => f(n, 2), true],
      ['max throughput: latency p99 (ms)', (r) => r.max!.p99, (n) => f(n, 2), true],
      ['max throughput: lost (sent − received)', (r) => r.max!.lost, fi, false],
      ['max throughput: server CPU (µs per relayed msg)', (r) => r.max!.cpuUsPerMsg, (n) => f(n, 1), true],
      ['max throughput: server CPU (% of one core)', (r) => r.max!.serverCpuPct, (n) => f(n, 0), true],
      ['max throughput: load-generator CPU (% of one core)', (r) => r.max!.loadCpuPct, (n) => f(n, 0), false],
      [
        `max throughput: whole machine busy (% of one core; ${cpus().length} cores = ${cpus().length * 100})`,
        (r) => r.max!.machineBusyPct,
        (n) => f(n, 0),
        false,
      ],
    );
  }
  const both = sb && ref;
  console.log('\n## Signaling benchmark\n');
  console.log(`Command: \`${commandLine}\``);
  console.log(
    `Effective: clients ${opts.clients}, room size ${opts.roomSize}, open loop ${opts.duration} s at ${opts.rate} msg/s ` +
      `(warm-up ${opts.warmup} s), closed loop ${opts.maxDuration} s with ${opts.window} in flight per client, ` +
      `${Math.round(opts.offerRatio * 100)} % offers of ~${opts.sdpBytes} B SDP, rest trickle candidates.`,
  );
  console.log(
    `Machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, ` +
      `load average at start ${startLoad.map((x) => x.toFixed(2)).join(' ')}. Server and load generator share these cores ` +
      `(server: one child process; load generator: this process, ${opts.clients} sockets), loopback only.\n`,
  );
  console.log(`| metric | ${cols.map((r) => r.spec.label).join(' | ')} |${both ? ' Switchboard / reference |' : ''}`);
  console.log(`|---|${cols.map(() => '---:').join('|')}|${both ? '---:|' : ''}`);
  for (const [name, get, fmt, hasRatio] of rows) {
    const cells = cols.map((r) => fmt(get(r)));
    const rat = both ? (hasRatio ? ratio(get(sb), get(ref)) : '') : undefined;
    console.log(`| ${name} | ${cells.join(' | ')} |${rat !== undefined ? ` ${rat} |` : ''}`);
  }
  for (const r of results) for (const n of r.spec.notes) console.log(`\n- ${r.spec.label}: ${n}`);

  if (both) {
    const mx = (r: ServerResult) => r.max ?? r.open;
    console.log('\nRatios Switchboard / reference:');
    console.log(`  throughput (max msg/s)       ${ratio(mx(sb).msgsPerS, mx(ref).msgsPerS)}`);
    console.log(`  latency p50 @ fixed rate     ${ratio(sb.open.p50, ref.open.p50)}`);
    console.log(`  latency p99 @ fixed rate     ${ratio(sb.open.p99, ref.open.p99)}`);
    console.log(
      `  memory per idle connection   ${ratio(sb.rssPerConnKiB, ref.rssPerConnKiB)} (RSS), ${ratio(sb.heapPerConnKiB, ref.heapPerConnKiB)} (heap)`,
    );
    console.log(
      `  CPU per relayed message      ${ratio(sb.open.cpuUsPerMsg, ref.open.cpuUsPerMsg)} (open loop), ${ratio(mx(sb).cpuUsPerMsg, mx(ref).cpuUsPerMsg)} (max throughput)`,
    );
  }
  for (const r of results) {
    const sat = r.max && r.max.loadCpuPct > 90 && r.max.serverCpuPct < 90;
    if (sat)
      console.log(
        `\nnote: during ${r.spec.label}'s max-throughput phase the load generator (${f(r.max!.loadCpuPct, 0)} %) was busier than the server (${f(r.max!.serverCpuPct, 0)} %): that figure is generator-bound.`,
      );
    for (const p of [r.open, r.max]) {
      if (p && p.otherPct - p.softirqPct > 15)
        console.log(
          `\nnote: during ${r.spec.label} ${p.label}, other processes used ~${f(p.otherPct - p.softirqPct, 0)} % of a core: numbers may be perturbed (the machine is shared).`,
        );
    }
    if (r.open.lateSends > 0)
      console.log(`\nnote: the generator fell behind the open-loop schedule for ${r.spec.label} (${r.open.lateSends} sends skipped).`);
    if (r.open.lost > 0 || Object.keys(r.open.errors).length)
      console.log(`\nnote: ${r.spec.label} open loop: lost ${r.open.lost}, responses ${JSON.stringify(r.open.errors)}`);
    if (r.max && (r.max.lost > 0 || Object.keys(r.max.errors).length))
      console.log(`\nnote: ${r.spec.label} closed loop: lost ${r.max.lost}, responses ${JSON.stringify(r.max.errors)}`);
  }
  for (const r of results) if (r.profile) console.log(`\n${r.spec.label} — ${summarizeProfile(r.profile, 20)}`);
}

// ---- main ----------------------------------------------------------------------------------

const startLoad = loadavg();

async function main(): Promise<void> {
  const specs: ServerSpec[] = [];
  if (opts.only !== 'switchboard') specs.push(referenceSpec());
  if (opts.only !== 'reference') specs.push(switchboardSpec());
  log(`signaling bench: ${commandLine}`);
  log(`(load generator in this process, pid ${process.pid}; ${cpus().length} cores shared with the server under test)`);
  const results: ServerResult[] = [];
  for (const spec of specs) results.push(await runServer(spec));
  report(results);
  const bad = results.some((r) => r.open.fromMismatch || r.max?.fromMismatch);
  if (bad) {
    console.error('\nbench: relayed messages with a wrong type/from/room were seen');
    process.exitCode = 1;
  }
}

main().then(
  () => {
    clearTimeout(overall);
    process.exit(process.exitCode ?? 0);
  },
  (e: unknown) => {
    console.error(`\nbench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);
