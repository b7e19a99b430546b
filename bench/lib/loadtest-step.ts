/**
 * One step of bench/sfu-vs-janus.ts, in a process of its own (pinned by the bench to the peers'
 * core): the load tool itself (bench/loadtest/run.ts, the code behind `switchboard loadtest`) with
 * the signaling driver named by --driver, then one JSON line on stdout: the load tool's report,
 * plus this process's CPU and event-loop delay over the measured window (a starved generator
 * shows there). A process per step also gives node-datachannel a fresh start each time.
 *
 *   node dist/bench/lib/loadtest-step.js --driver switchboard|janus <switchboard loadtest options>
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { JanusVideoRoomDriver } from '../loadtest/janus-driver.js';
import { parseLoadtestArgs } from '../loadtest/options.js';
import { runLoadtest } from '../loadtest/run.js';

const args = process.argv.slice(2);
const at = args.indexOf('--driver');
const driver = at >= 0 ? args[at + 1] : 'switchboard';
if (at >= 0) args.splice(at, 2);
if (driver !== 'switchboard' && driver !== 'janus') {
  console.error('loadtest-step: --driver switchboard|janus');
  process.exit(64);
}
const opts = parseLoadtestArgs(args);
const delay = monitorEventLoopDelay({ resolution: 10 });
let cpuStart: NodeJS.CpuUsage | undefined;
let wallStart = 0;
const report = await runLoadtest(opts, {
  log: (line) => {
    process.stderr.write(`${line}\n`);
    // The load tool logs this just before its window opens.
    if (line.startsWith('measuring')) {
      cpuStart = process.cpuUsage();
      wallStart = performance.now();
      delay.enable();
    }
  },
  ...(driver === 'janus' ? { driverFactory: (o) => new JanusVideoRoomDriver(o) } : {}),
});
delay.disable();
const cpu = cpuStart ? process.cpuUsage(cpuStart) : undefined;
const wallS = (performance.now() - wallStart) / 1000;
process.stdout.write(
  `${JSON.stringify({
    report,
    peers: {
      cpuPct: cpu ? (100 * (cpu.user + cpu.system)) / 1e6 / wallS : null,
      loopDelayP99Ms: cpuStart ? delay.percentile(99) / 1e6 : null,
    },
  })}\n`,
);
// node-datachannel's threads may outlive its cleanup by a moment (as in `switchboard loadtest`).
process.exit(0);
