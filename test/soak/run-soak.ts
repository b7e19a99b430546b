/**
 * The soak run: a server child, one warm-up cycle, a measured start, churn cycles until the
 * time is up (every topology at once), everyone gone, a measured end, then the verdicts.
 */
import { judge, type Verdict } from './criteria.js';
import { HealthProber, LIVE_GAUGES, takeSample, type Sample } from './probes.js';
import { startServerChild, type LogLine } from '../helpers/server-child.js';
import { mediaRoom, meshRoom, newTally, oneToOneCall, turnPair, type SoakTarget, type Tally } from './workloads.js';

export interface SoakOptions {
  minutes: number;
  sfuRooms: number;
  mcuRooms: number;
  meshRooms: number;
  /** Participants per SFU/MCU room. */
  roomSize: number;
  /** How long a media room stays up after its checks, per cycle. */
  holdMs: number;
  sampleEverySeconds: number;
  resumeGraceMs: number;
  log: (line: string) => void;
}

export const DEFAULT_SOAK: Omit<SoakOptions, 'log'> = {
  minutes: 2,
  sfuRooms: 2,
  mcuRooms: 1,
  meshRooms: 2,
  roomSize: 3,
  holdMs: 5000,
  sampleEverySeconds: 15,
  resumeGraceMs: 3000,
};

export interface SoakResult {
  options: Omit<SoakOptions, 'log'>;
  churnSeconds: number;
  cycles: number;
  tally: Tally;
  start: Sample;
  end: Sample;
  samples: Sample[];
  /** Forced GCs needed at the end before the heap settled (or the last one). */
  settleRounds: number;
  healthProbes: number;
  healthFailures: string[];
  warnLogs: LogLine[];
  unexpectedLogs: LogLine[];
  stderr: string[];
  exitCode: number | null;
  verdicts: Verdict[];
  passed: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One cycle: every workload at once; a failure is recorded, never thrown. */
async function cycle(t: SoakTarget, o: SoakOptions, tally: Tally, n: number): Promise<void> {
  const jobs: Array<[string, () => Promise<void>]> = [];
  for (let i = 0; i < o.sfuRooms; i++)
    jobs.push([`sfu${i}`, () => mediaRoom(t, tally, `soak-sfu${i}-c${n}`, 'sfu', o.roomSize, o.holdMs, (n + i) % 2 === 0)]);
  for (let i = 0; i < o.mcuRooms; i++)
    jobs.push([`mcu${i}`, () => mediaRoom(t, tally, `soak-mcu${i}-c${n}`, 'mcu', o.roomSize, o.holdMs, (n + i) % 2 === 1)]);
  for (let i = 0; i < o.meshRooms; i++) jobs.push([`mesh${i}`, () => meshRoom(t, tally, `soak-mesh${i}-c${n}`, (n + i) % 2 === 0)]);
  jobs.push(['call', () => oneToOneCall(t, tally, `soak-call-c${n}`)]);
  jobs.push(['turn', () => turnPair(t, tally, `soak-turn-c${n}`)]);
  const results = await Promise.allSettled(jobs.map(([, run]) => run()));
  results.forEach((r, i) => {
    if (r.status === 'rejected') tally.failures.push(`cycle ${n} ${jobs[i]?.[0]}: ${(r.reason as Error)?.message ?? String(r.reason)}`);
  });
}

/** Waits until every live gauge reads 0 (sessions past their resume grace included), or the deadline. */
async function waitForEmpty(pid: number, httpUrl: string, timeoutMs: number): Promise<Sample> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await takeSample(pid, httpUrl, 'drain');
    if (LIVE_GAUGES.every((g) => s.live[g] === 0) || Date.now() > deadline) return s;
    await sleep(500);
  }
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const server = await startServerChild({
    inspect: true,
    args: [
      '--log-level',
      'info',
      '--resume-grace-ms',
      String(o.resumeGraceMs),
      // The soak's TURN clients relay to each other's relay addresses on loopback (refused by default).
      '--turn-allow-peer',
      '127.0.0.1/32',
      // A small MCU canvas and one tier: the soak checks lifecycles, not the encoder's throughput, on a shared 2-core machine.
      '--mcu-width',
      '320',
      '--mcu-height',
      '240',
      '--mcu-fps',
      '10',
      '--mcu-tier',
      '200',
    ],
  });
  const t: SoakTarget = { httpUrl: server.httpUrl, wsUrl: server.wsUrl, turnPort: server.turnPort };
  o.log(`server pid ${server.pid} on ${server.httpUrl} (TURN ${server.turnPort}, RTC ${server.rtcPort})`);
  const prober = new HealthProber(server.httpUrl, 5000);
  prober.start();
  const tally = newTally();
  const samples: Sample[] = [];
  let sampler: NodeJS.Timeout | null = null;
  try {
    // Warm-up: the first rooms load codecs, JIT-compile the media path, grow pools.
    o.log('warm-up cycle');
    await cycle(t, o, tally, 0);
    await waitForEmpty(server.pid, server.httpUrl, o.resumeGraceMs + 15_000);
    await server.collectGarbage();
    await sleep(1000);
    const start = await takeSample(server.pid, server.httpUrl, 'start');
    samples.push(start);
    o.log(`start: ${describe(start)}`);

    // Samples during churn follow a forced GC too: the heap they show is what is retained.
    sampler = setInterval(() => {
      server
        .collectGarbage()
        .then(() => takeSample(server.pid, server.httpUrl, 'churn'))
        .then(
          (s) => {
            samples.push(s);
            o.log(`sample: ${describe(s)}`);
          },
          (err: Error) => o.log(`sample failed: ${err.message}`),
        );
    }, o.sampleEverySeconds * 1000);
    const churnStart = Date.now();
    const deadline = churnStart + o.minutes * 60_000;
    let cycles = 0;
    while (Date.now() < deadline) {
      cycles++;
      await cycle(t, o, tally, cycles);
      o.log(
        `cycle ${cycles} done at ${((Date.now() - churnStart) / 1000).toFixed(0)} s: ${tally.participantsJoined} joined, ${tally.failures.length} failures`,
      );
    }
    const churnSeconds = (Date.now() - churnStart) / 1000;
    clearInterval(sampler);
    sampler = null;

    const drained = await waitForEmpty(server.pid, server.httpUrl, o.resumeGraceMs + 15_000);
    o.log(`drained: ${describe(drained)}`);
    // Let it settle: a full GC, and again after a pause while the heap is still above the start
    // (timers that hold a closed room for a moment, e.g. a DTLS close, finish meanwhile).
    let end = drained;
    let settleRounds = 0;
    for (; settleRounds < 3; settleRounds++) {
      await server.collectGarbage();
      await sleep(1000);
      end = await takeSample(server.pid, server.httpUrl, 'end');
      if (
        end.heapUsedBytes <= start.heapUsedBytes + 2 * 1024 * 1024 &&
        end.fds <= start.fds &&
        end.activeResources <= start.activeResources
      )
        break;
      await sleep(5000);
    }
    samples.push(end);
    o.log(`end: ${describe(end)}`);
    await prober.stop();
    const exitCode = await server.stop();
    const firstHalf = samples.filter((x) => x.label === 'churn' && x.at < churnStart + (churnSeconds * 1000) / 2);
    const { verdicts, unexpectedLogs } = judge(start, end, firstHalf, server.logs, server.stderr, prober.failures, tally.failures);
    verdicts.push({ name: 'server exits 0 on SIGTERM', ok: exitCode === 0, detail: String(exitCode) });
    const { log: _log, ...options } = o;
    return {
      options,
      churnSeconds,
      cycles,
      tally,
      start,
      end,
      samples,
      settleRounds: settleRounds + 1,
      healthProbes: prober.probes,
      healthFailures: prober.failures,
      warnLogs: server.logs.filter((l) => l.level >= 40),
      unexpectedLogs,
      stderr: server.stderr,
      exitCode,
      verdicts,
      passed: verdicts.every((v) => v.ok),
    };
  } finally {
    if (sampler) clearInterval(sampler);
    await prober.stop();
    await server.stop();
  }
}

function describe(s: Sample): string {
  const live = LIVE_GAUGES.filter((g) => s.live[g] !== 0).map((g) => `${g.replace('switchboard_', '')}=${s.live[g]}`);
  return `rss ${(s.rssBytes / 1048576).toFixed(1)} MB, heap ${(s.heapUsedBytes / 1048576).toFixed(1)} MB, external ${(s.externalBytes / 1048576).toFixed(1)} MB, fds ${s.fds}, handles ${s.activeHandles}, resources ${s.activeResources}${live.length ? `, ${live.join(' ')}` : ''}`;
}
