/**
 * Isolation: does an MCU room disturb an SFU room beside it? The load tool's SFU room (1
 * publisher, N subscribers) is measured alone, then again while an MCU room of four publishers
 * and one viewer runs on the same server (the viewer makes the MCU decode four streams and
 * encode the composite and a mix). The ratios (beside ÷ alone) of latency p99 and of loss are
 * the figures: 1.0 means the MCU room costs the SFU room nothing.
 *
 *   node dist/bench/isolation.js [--subscribers 30] [--seconds 15] [--mcu-publishers 4]
 *                                [--serve-args "--workers 2"] [--dist DIR]
 *
 * `--serve-args` go to `switchboard serve` (e.g. `--workers 0` for everything in one process,
 * the way the server ran before media workers); `--dist` runs another build's server (a
 * worktree's dist/) with this build's load tool, for before/after figures from one command.
 * The server and the load tool share this machine's cores; the report says how busy each was.
 */
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadtestReport } from './loadtest/report.js';
import { procTreeCpuSource } from './loadtest/server-cpu.js';
import {
  exitAfter,
  loopbackServeArgs,
  MANY_PEERS_ARGS,
  nonNegative,
  spawnServer,
  startChild,
  stopServer,
  waitForLine,
  type Child,
} from './lib/proc.js';

interface Opts {
  subscribers: number;
  seconds: number;
  mcuPublishers: number;
  serveArgs: string[];
  dist: string;
}

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench

function usage(err?: string): never {
  if (err) console.error(`error: ${err}`);
  console.error(`usage: node dist/bench/isolation.js [--subscribers N (30)] [--seconds S (15)] [--mcu-publishers P (4)]
                                  [--serve-args "ARGS"] [--dist DIR (this build's dist)]`);
  process.exit(err ? 64 : 0);
}

function parseOpts(argv: string[]): Opts {
  const o: Opts = { subscribers: 30, seconds: 15, mcuPublishers: 4, serveArgs: [], dist: join(here, '..') };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case '--subscribers':
        o.subscribers = Math.min(500, Math.max(1, Math.floor(nonNegative('subscribers', v, usage))));
        i++;
        break;
      case '--seconds':
        o.seconds = Math.min(120, Math.max(3, Math.floor(nonNegative('seconds', v, usage))));
        i++;
        break;
      case '--mcu-publishers':
        o.mcuPublishers = Math.min(16, Math.max(1, Math.floor(nonNegative('mcu-publishers', v, usage))));
        i++;
        break;
      case '--serve-args':
        o.serveArgs = (v ?? '').split(/\s+/).filter(Boolean);
        i++;
        break;
      case '--dist':
        if (!v) usage('--dist takes a directory');
        o.dist = v;
        i++;
        break;
      case '--help':
        usage();
        break;
      default:
        usage(`unknown option ${argv[i]}`);
    }
  }
  return o;
}

const opts = parseOpts(process.argv.slice(2));
exitAfter(60 + 4 * (opts.seconds + 60));

interface Measured {
  report: LoadtestReport;
  peersCpuPct: number | null;
  serverCpuPct: number;
}

/** One load-tool process (bench/lib/loadtest-step.js) with `args`; its child handle. */
function loadtest(name: string, args: string[]): Child {
  return startChild(name, process.execPath, [join(here, 'lib', 'loadtest-step.js'), '--driver', 'switchboard', ...args, '--json']);
}

async function report(child: Child, limitMs: number): Promise<{ report: LoadtestReport; peers: { cpuPct: number | null } }> {
  let json = '';
  const prev = child.onLine;
  child.onLine = (line) => {
    prev?.(line);
    if (line.startsWith('{"report"')) json = line;
  };
  const code = await new Promise<number | null>((resolve) => {
    const t = setTimeout(() => child.proc.kill('SIGKILL'), limitMs);
    child.proc.once('exit', (c) => {
      clearTimeout(t);
      resolve(c);
    });
  });
  if (!json) throw new Error(`${child.name} ended (code ${code}) without a report:\n${child.tail.slice(-8).join('\n')}`);
  return JSON.parse(json) as { report: LoadtestReport; peers: { cpuPct: number | null } };
}

async function measureSfu(url: string, serverPid: number, label: string): Promise<Measured> {
  const cpu = procTreeCpuSource(serverPid);
  const c0 = await cpu.read();
  const t0 = performance.now();
  const child = loadtest(`sfu (${label})`, [
    '--url',
    url,
    '--rooms',
    '1',
    '--publishers',
    '1',
    '--subscribers',
    String(opts.subscribers),
    '--duration',
    String(opts.seconds),
    '--room-prefix',
    `sfu-${label}`,
    '--server-pid',
    String(serverPid),
  ]);
  const r = await report(child, (opts.seconds + 120) * 1000);
  const serverCpuPct = (100 * ((await cpu.read()) - c0)) / ((performance.now() - t0) / 1000);
  return { report: r.report, peersCpuPct: r.peers.cpuPct, serverCpuPct };
}

const f = (n: number | null | undefined, d = 1): string => (n === null || n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(d));

async function main(): Promise<void> {
  const mainJs = join(opts.dist, 'src', 'cli', 'main.js');
  const server = await spawnServer('switchboard', loopbackServeArgs(mainJs, [...MANY_PEERS_ARGS, ...opts.serveArgs]), {
    startTimeoutMs: 60_000,
  });
  const url = `ws://127.0.0.1:${server.port}/ws`;
  let neighbour: Child | undefined;
  try {
    console.error(
      `isolation: server ${mainJs} ${opts.serveArgs.join(' ')} (pid ${server.pid}); ${cpus().length} cores shared with the load tool`,
    );
    const alone = await measureSfu(url, server.pid, 'alone');
    // The neighbour runs longer than the second SFU measurement, which starts once it measures.
    neighbour = loadtest('mcu neighbour', [
      '--url',
      url,
      '--topology',
      'mcu',
      '--rooms',
      '1',
      '--publishers',
      String(opts.mcuPublishers),
      '--subscribers',
      '1',
      '--duration',
      String(opts.seconds + 90),
      '--room-prefix',
      'mcu-neighbour',
    ]);
    await waitForLine(neighbour, /^measuring/, 120_000);
    const beside = await measureSfu(url, server.pid, 'beside-mcu');
    const rows: [string, Measured][] = [
      ['SFU room alone', alone],
      [`beside an MCU room (${opts.mcuPublishers} pub + 1 viewer)`, beside],
    ];
    console.log(
      `\nIsolation: 1 publisher → ${opts.subscribers} subscribers (SFU), ${opts.seconds} s windows; serve ${opts.serveArgs.join(' ') || '(defaults)'}`,
    );
    console.log('| run | latency p50 ms | latency p99 ms | loss % | server CPU % of one core | load tool CPU % |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const [name, m] of rows) {
      const t = m.report.totals;
      console.log(
        `| ${name} | ${f(t.latencyP50Ms)} | ${f(t.latencyP99Ms)} | ${f(t.lossPercent, 3)} | ${f(m.serverCpuPct, 0)} | ${f(m.peersCpuPct, 0)} |`,
      );
    }
    const p99 = (beside.report.totals.latencyP99Ms ?? NaN) / (alone.report.totals.latencyP99Ms ?? NaN);
    // Loss is often 0 alone: the ratio is then of (loss + 0.01 %), a floor that keeps it finite.
    const loss = (beside.report.totals.lossPercent + 0.01) / (alone.report.totals.lossPercent + 0.01);
    console.log(`\nratio beside ÷ alone: latency p99 ${f(p99, 2)}, loss ${f(loss, 2)} (goal ≤ 1.2)`);
    for (const [name, m] of rows)
      if (m.report.errors.length > 0) console.log(`${name}: ${m.report.errors.length} errors, first: ${m.report.errors[0]}`);
  } finally {
    neighbour?.proc.kill('SIGKILL');
    await stopServer(server);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
