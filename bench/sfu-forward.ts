/**
 * SFU forwarding benchmark: one publisher sending real-rate RTP (1,200-byte VP8-shaped packets,
 * paced) to N subscribers through Switchboard's SFU, and in the same run through a plain UDP
 * relay doing the same fan-out without crypto or parsing; ratio = the SFU's forwarded packets
 * per server-CPU-second ÷ the relay's (goal: ≥ 0.40, one core each).
 *
 *   npm run bench:sfu          (= npm run build && node dist/bench/sfu-forward.js)
 *   node dist/bench/sfu-forward.js [--subscribers 10,50] [--rate 500] [--seconds 8] [--cpu-prof]
 *
 * The server under test (bench/lib/sfu-server.ts: WebRtcServer + Router, driven over IPC) and
 * the relay (bench/lib/sfu-udp-relay.ts) each run as a child pinned to --server-core (taskset);
 * this process — the publisher and the subscribers, headless peers doing ICE, DTLS and SRTP
 * with our own primitives (bench/lib/sfu-peer.ts) — is pinned to --gen-core. All traffic is
 * UDP on 127.0.0.1. Per N: the relay step, then the SFU step (bench/lib/sfu-steps.ts); each
 * child is started afresh. Server CPU = utime+stime of the child over the window (/proc).
 * The whole run is bounded by --timeout seconds; children are killed on exit.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarizeProfile } from './lib/cpuprofile.js';
import { exitAfter, nonNegative } from './lib/proc.js';
import { runRelayStep, runSfuStep, type StepOptions, type StepResult } from './lib/sfu-steps.js';

interface Opts {
  subscribers: number[];
  rate: number;
  packetBytes: number;
  warmup: number;
  seconds: number;
  serverCore: number;
  genCore: number;
  only: 'both' | 'sfu' | 'relay';
  cpuProf: boolean;
  timeout: number;
}

const TARGET_RATIO = 0.4;
/** CPU (% of one core) used by other processes above which a step is called perturbed. */
const NOISE_PCT = 15;

function usage(err?: string): never {
  if (err) console.error(`error: ${err}`);
  console.error(`usage: node dist/bench/sfu-forward.js [options]
  --subscribers LIST   comma-separated subscriber counts N (default 10,50)
  --rate R             publisher packets/s (default 500 ≈ 4.8 Mbit/s of 1,200-byte packets)
  --packet-bytes B     RTP packet size, header included (default 1200)
  --warmup S           sending before the window (default 2)
  --seconds S          measured window per step (default 8)
  --server-core N      core of the SFU and the relay (default 0)
  --gen-core N         core of this process: publisher and subscribers (default 1)
  --only WHICH         both | sfu | relay (default both)
  --cpu-prof           V8 CPU profile of the SFU over each window; prints its top self-time
                       functions (the sampler shares the pinned core: CPU figures are perturbed)
  --timeout S          overall limit, exit code 2 (default 300)`);
  process.exit(err ? 64 : 0);
}

function parseArgs(argv: string[]): Opts {
  const o: Opts = {
    subscribers: [10, 50],
    rate: 500,
    packetBytes: 1200,
    warmup: 2,
    seconds: 8,
    serverCore: 0,
    genCore: 1,
    only: 'both',
    cpuProf: false,
    timeout: 300,
  };
  const num = (k: string, v: string | undefined) => nonNegative(k, v, usage);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    switch (a) {
      case '--subscribers':
        o.subscribers = (v ?? '').split(',').map((s) => Math.floor(num('subscribers', s)));
        if (o.subscribers.length === 0 || o.subscribers.some((n) => n < 1 || n > 500)) usage('--subscribers takes counts 1–500');
        i++;
        break;
      case '--rate':
        o.rate = Math.max(1, num('rate', v));
        i++;
        break;
      case '--packet-bytes':
        o.packetBytes = Math.min(1400, Math.max(24, Math.floor(num('packet-bytes', v))));
        i++;
        break;
      case '--warmup':
        o.warmup = num('warmup', v);
        i++;
        break;
      case '--seconds':
        o.seconds = Math.max(1, num('seconds', v));
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
      case '--only':
        if (v !== 'both' && v !== 'sfu' && v !== 'relay') usage('--only both|sfu|relay');
        o.only = v;
        i++;
        break;
      case '--cpu-prof':
        o.cpuProf = true;
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

const opts = parseArgs(process.argv.slice(2));
const commandLine = ['node', 'dist/bench/sfu-forward.js', ...process.argv.slice(2)].join(' ');
const overall = exitAfter(opts.timeout);
const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const fi = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');

function stepLine(r: StepResult): string {
  return (
    `${r.server.padEnd(5)} N=${r.subscribers}: ${fi(r.forwardedPerS)} forwarded pkts/s (${fi(r.delivered)}/${fi(r.expected)} in ${f(r.windowS, 1)} s) ` +
    `loss ${f(r.lossPct, 3)} % | server CPU ${f(r.serverCpuPct, 0)} % = ${f(r.cpuUsPerForwarded, 2)} µs/forwarded pkt | ` +
    `generator CPU ${f(r.generatorCpuPct, 0)} % | other processes ${f(r.otherCpuPct, 0)} % | UDP drops server ${fi(r.serverDrops)} generator ${fi(r.generatorDrops)}` +
    (r.pacerSkipped ? ` | pacer skipped ${fi(r.pacerSkipped)}` : '') +
    (r.duplicates ? ` | duplicates ${fi(r.duplicates)}` : '') +
    (r.silentSubscribers ? ` | ${r.silentSubscribers} subscribers got nothing` : '') +
    (r.notes.length ? ` | ${r.notes.join('; ')}` : '')
  );
}

/** Forwarded packets per server-CPU-second, SFU ÷ relay (= relay µs per packet ÷ SFU µs per packet). */
function ratio(sfu: StepResult | undefined, relay: StepResult | undefined): number {
  return sfu && relay ? relay.cpuUsPerForwarded / sfu.cpuUsPerForwarded : NaN;
}

function report(results: StepResult[], profiles: string[]): void {
  console.log('\n## SFU forwarding benchmark\n');
  console.log(`Command: \`${commandLine}\``);
  console.log(
    `Effective: 1 publisher, ${opts.rate} pkts/s of ${opts.packetBytes}-byte RTP (VP8 descriptor, 30 fps, keyframe every 2 s or on PLI), ` +
      `${opts.warmup} s warm-up + ${opts.seconds} s window per step; servers on core ${opts.serverCore}, peers on core ${opts.genCore}; UDP on 127.0.0.1.`,
  );
  console.log(
    `Machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? '?'}, Node ${process.version}, load average at start ${startLoad.map((x) => x.toFixed(2)).join(' ')}.\n`,
  );
  console.log(
    '| N | server | forwarded pkts/s | loss % | server CPU % | server CPU µs / forwarded pkt | forwarded pkts per CPU-s | peers CPU % | others CPU % |',
  );
  console.log('|---:|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    console.log(
      `| ${r.subscribers} | ${r.server === 'sfu' ? 'Switchboard SFU' : 'plain UDP relay'} | ${fi(r.forwardedPerS)} | ${f(r.lossPct, 3)} | ${f(r.serverCpuPct, 0)} | ` +
        `${f(r.cpuUsPerForwarded, 2)} | ${fi(1e6 / r.cpuUsPerForwarded)} | ${f(r.generatorCpuPct, 0)} | ${f(r.otherCpuPct, 0)} |`,
    );
  }
  console.log('');
  for (const n of opts.subscribers) {
    const sfu = results.find((r) => r.server === 'sfu' && r.subscribers === n);
    const relay = results.find((r) => r.server === 'relay' && r.subscribers === n);
    const q = ratio(sfu, relay);
    const verdict = !Number.isFinite(q)
      ? 'not measured'
      : q >= TARGET_RATIO
        ? 'meets the target'
        : `short of the target by ${f((100 * (TARGET_RATIO - q)) / TARGET_RATIO, 0)} %`;
    console.log(
      `summary N=${n}: SFU ${sfu ? f(sfu.cpuUsPerForwarded, 2) : 'n/a'} µs/pkt, relay ${relay ? f(relay.cpuUsPerForwarded, 2) : 'n/a'} µs/pkt, ` +
        `loss SFU ${sfu ? f(sfu.lossPct, 3) : 'n/a'} % relay ${relay ? f(relay.lossPct, 3) : 'n/a'} % → ratio ${f(q, 2)} of the plain relay per core (target ≥ ${TARGET_RATIO}): ${verdict}`,
    );
  }
  for (const r of results) {
    if (r.otherCpuPct > NOISE_PCT)
      console.log(
        `note: ${r.server} N=${r.subscribers}: other processes used ${f(r.otherCpuPct, 0)} % of a core: perturbed; rerun on a quiet machine.`,
      );
    if (r.generatorCpuPct > 85)
      console.log(`note: ${r.server} N=${r.subscribers}: the peers used ${f(r.generatorCpuPct, 0)} % of their core: losses may be theirs.`);
    if (r.serverCpuPct > 90)
      console.log(
        `note: ${r.server} N=${r.subscribers}: the server core was saturated (${f(r.serverCpuPct, 0)} %): lower --rate for CPU per packet at a sustainable load.`,
      );
  }
  for (const p of profiles) console.log(`\n${summarizeProfile(p, 20, true)}`);
  console.log(
    `\n${JSON.stringify(
      {
        bench: 'sfu-forward',
        command: commandLine,
        loadAverageAtStart: startLoad,
        results,
        ratios: Object.fromEntries(
          opts.subscribers.map((n) => [
            n,
            ratio(
              results.find((r) => r.server === 'sfu' && r.subscribers === n),
              results.find((r) => r.server === 'relay' && r.subscribers === n),
            ),
          ]),
        ),
      },
      (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v),
    )}`,
  );
}

const startLoad = loadavg();

async function main(): Promise<void> {
  // The peers are load generators: keep them (and this process) off the server's core.
  execFileSync('taskset', ['-a', '-p', '-c', String(opts.genCore), String(process.pid)], { stdio: 'ignore' });
  console.log(`sfu-forward bench: ${commandLine}`);
  const tmp = opts.cpuProf ? mkdtempSync(join(tmpdir(), 'sb-sfu-bench-')) : '';
  const results: StepResult[] = [];
  const profiles: string[] = [];
  for (const n of opts.subscribers) {
    const step: StepOptions = {
      subscribers: n,
      rate: opts.rate,
      packetBytes: opts.packetBytes,
      warmupS: opts.warmup,
      seconds: opts.seconds,
      serverCore: opts.serverCore,
    };
    if (opts.only !== 'sfu') {
      const r = await runRelayStep(step);
      console.log(stepLine(r));
      results.push(r);
    }
    if (opts.only !== 'relay') {
      const profilePath = opts.cpuProf ? join(tmp, `sfu-n${n}.cpuprofile`) : undefined;
      const r = await runSfuStep(profilePath ? { ...step, profilePath } : step);
      console.log(stepLine(r));
      results.push(r);
      if (profilePath) profiles.push(profilePath);
    }
  }
  report(results, profiles);
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
