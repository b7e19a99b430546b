/**
 * The live fuzz harness: a real `switchboard serve` child process under hostile input on every
 * port it opens — STUN/TURN over UDP, TCP and TLS; the RTC port outside and inside an SFU
 * session; signaling frames and SDP; REST — in seeded batches, with a health probe after every
 * batch. `npm test` runs a bounded pass (test/server/live-fuzz.test.ts); longer runs:
 *
 *   node dist/test/fuzz/live-fuzz.js --inputs 2000000 [--seed N]
 *   node dist/test/fuzz/live-fuzz.js --minutes 30
 *
 * Needs root and python3 for its raw-socket batch (UDP from port 0, connections reset before accept).
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { makeTestCert } from '../helpers/tls-cert.js';
import { mulberry32 } from '../helpers/random.js';
import { rawBatch } from './raw-target.js';
import { RtcTarget } from './rtc-target.js';
import { startServerChild, type ServerChild } from '../helpers/server-child.js';
import { countFds, fetchText, parseMetricSamples, readRssBytes } from '../helpers/server-probes.js';
import { SignalingTarget } from './signaling-target.js';
import { TurnTarget } from './turn-target.js';
import type { Rand } from './mutate.js';

export interface LiveFuzzOptions {
  /** Stop after this many inputs… */
  inputs: number;
  /** …or this much time, whichever comes first. */
  maxMs?: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface LiveFuzzReport {
  seed: number;
  inputsByTarget: Record<string, number>;
  inputs: number;
  batches: number;
  durationMs: number;
  /** Batches after which /healthz did not answer 200 within 5 s (or the process had exited). */
  unhealthy: string[];
  exitCode: number | null;
  exitSignal: string | null;
  /** switchboard_entry_faults_total by entry point (guarded exceptions and the process backstop), the media workers' own (`worker: where`), and worker restarts. */
  faults: Record<string, number>;
  rssStartBytes: number;
  rssEndBytes: number;
  fdsStart: number;
  fdsEnd: number;
  /** Log lines at error level or above (pino level ≥ 50), and anything on stderr. */
  errorLogs: string[];
}

type Batch = { name: string; run: (rand: Rand) => Promise<number> };

/** GET /healthz answered 200 within 5 s by a server that has not exited. */
async function healthy(server: ServerChild): Promise<boolean> {
  if (server.exit) return false;
  try {
    return (await fetchText(`${server.httpUrl}/healthz`, 5000)).status === 200;
  } catch {
    return false;
  }
}

export async function runLiveFuzz(opts: LiveFuzzOptions): Promise<LiveFuzzReport> {
  const seed = opts.seed ?? 1;
  const rand = mulberry32(seed);
  const log = opts.log ?? ((): void => undefined);
  const cert = makeTestCert();
  const secret = randomBytes(16).toString('hex');
  const realm = 'fuzz';
  const server = await startServerChild({
    args: [
      '--log-level',
      'warn',
      '--turn-tls-port',
      '0',
      '--turn-tls-cert',
      cert.certFile,
      '--turn-tls-key',
      cert.keyFile,
      '--turn-secret',
      secret,
      '--turn-realm',
      realm,
      '--turn-allow-peer',
      '127.0.0.1/32',
      '--announced-ip',
      '127.0.0.1',
    ],
  });
  const ports = { turn: server.turnPort, rtc: server.rtcPort };
  const { wsUrl } = server;
  const turn = await TurnTarget.open('127.0.0.1', server.turnPort, server.turnTlsPort, secret, realm);
  const rtc = new RtcTarget('127.0.0.1', server.rtcPort, wsUrl);
  const signaling = new SignalingTarget(wsUrl, server.httpUrl);
  const batches: Batch[] = [
    { name: 'turn-udp', run: (r) => turn.udpBatch(r, 400) },
    { name: 'turn-tcp', run: (r) => turn.streamBatch(r, 'tcp', 20, 12) },
    { name: 'turn-tls', run: (r) => turn.streamBatch(r, 'tls', 8, 12) },
    { name: 'rtc-udp', run: (r) => rtc.rawBatch(r, 400) },
    { name: 'rtc-ice-tcp', run: (r) => rtc.tcpBatch(r, 20) },
    { name: 'rtc-session', run: (r) => rtc.sessionBatch(r, 400) },
    { name: 'signaling', run: (r) => signaling.batch(r, 8, 25) },
    { name: 'http', run: (r) => signaling.httpBatch(r, 10) },
    { name: 'raw-port0-and-resets', run: (r) => rawBatch(r, ports) },
  ];
  const report: LiveFuzzReport = {
    seed,
    inputsByTarget: {},
    inputs: 0,
    batches: 0,
    durationMs: 0,
    unhealthy: [],
    exitCode: null,
    exitSignal: null,
    faults: {},
    rssStartBytes: 0,
    rssEndBytes: 0,
    fdsStart: 0,
    fdsEnd: 0,
    errorLogs: [],
  };
  const started = Date.now();
  try {
    for (let i = 0; report.inputs < opts.inputs && Date.now() - started < (opts.maxMs ?? Infinity); i++) {
      const batch = batches[i % batches.length]!;
      let n = 0;
      try {
        n = await batch.run(rand);
      } catch (err) {
        // The harness's own client could not get through (e.g. a session the server rightly closed).
        log(`batch ${i} ${batch.name}: client side: ${(err as Error).message}`);
      }
      report.inputsByTarget[batch.name] = (report.inputsByTarget[batch.name] ?? 0) + n;
      report.inputs += n;
      report.batches++;
      if (!(await healthy(server))) {
        report.unhealthy.push(`after batch ${i} (${batch.name}), ${report.inputs} inputs`);
        if (server.exit) break;
      }
      // The first full round warms every path up: memory is measured from there.
      if (i === batches.length - 1) {
        report.rssStartBytes = readRssBytes(server.pid);
        report.fdsStart = countFds(server.pid);
      }
      if (i % batches.length === batches.length - 1) {
        log(
          `${report.inputs} inputs, ${Math.round((Date.now() - started) / 1000)} s, rss ${(readRssBytes(server.pid) / 2 ** 20).toFixed(0)} MB, ` +
            `rtc sessions ${rtc.sessionsMade} (subscriber got ${rtc.subscriberRtp} RTP), relayed to our peer ${turn.received}`,
        );
      }
    }
    turn.close();
    rtc.close();
    // Let resume grace, stream idle timers and closes settle before the last measurement.
    await new Promise((r) => setTimeout(r, 3000));
    if (!server.exit) {
      report.rssEndBytes = readRssBytes(server.pid);
      report.fdsEnd = countFds(server.pid);
      for (const { name, labels, value } of parseMetricSamples((await fetchText(`${server.httpUrl}/metrics`)).text)) {
        const where = /^\{where="([^"]+)"\}$/.exec(labels);
        if (name === 'switchboard_entry_faults_total' && where) report.faults[where[1]!] = value;
        // Media worker processes: their own entry faults, and a restart is a worker that crashed.
        const workerWhere = /where="([^"]+)"/.exec(labels)?.[1];
        const worker = /worker="([^"]+)"/.exec(labels)?.[1];
        if (name === 'switchboard_worker_entry_faults_total' && worker && workerWhere) report.faults[`${worker}: ${workerWhere}`] = value;
        if (name === 'switchboard_worker_restarts_total' && worker && value > 0) report.faults[`${worker}: worker restarts`] = value;
        // Faults caught inside TURN worker processes count the same.
        const inWorker = /^\{worker="([^"]+)",where="([^"]+)"\}$/.exec(labels);
        if (name === 'switchboard_turn_worker_entry_faults_total' && inWorker) report.faults[`turn-${inWorker[1]}:${inWorker[2]}`] = value;
        if (name === 'switchboard_turn_worker_restarts_total' && worker && value > 0)
          report.faults[`turn-${worker}: worker restarts`] = value;
        if (/^switchboard_turn_(allocations_created|error_responses|malformed)/.test(name)) log(`${name}${labels} ${value}`);
      }
    }
  } finally {
    report.durationMs = Date.now() - started;
    // An exit before the harness's SIGTERM is a crash.
    const crashed = server.exit;
    await server.stop();
    report.exitCode = crashed?.code ?? null;
    report.exitSignal = crashed?.signal ?? null;
    report.errorLogs = [...server.logs.filter((l) => l.level >= 50).map((l) => l.raw), ...server.stderr];
    cert.remove();
  }
  return report;
}

export function formatReport(r: LiveFuzzReport): string {
  const mb = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MB`;
  return [
    `live fuzz, seed ${r.seed}: ${r.inputs} inputs in ${r.batches} batches, ${(r.durationMs / 1000).toFixed(0)} s`,
    `  by target: ${Object.entries(r.inputsByTarget)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `  crashes: ${r.exitCode !== null || r.exitSignal !== null ? `1 (exit ${r.exitCode ?? r.exitSignal})` : 0}; failed health probes: ${r.unhealthy.length}`,
    `  faults caught at entry points: ${
      Object.keys(r.faults).length === 0
        ? 'none'
        : Object.entries(r.faults)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')
    }`,
    `  server RSS ${mb(r.rssStartBytes)} after the first round → ${mb(r.rssEndBytes)} at the end; fds ${r.fdsStart} → ${r.fdsEnd}`,
    `  error logs: ${r.errorLogs.length}`,
  ].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const minutes = Number(flag('--minutes') ?? 0);
  const report = await runLiveFuzz({
    inputs: Number(flag('--inputs') ?? (minutes > 0 ? Infinity : 200_000)),
    ...(minutes > 0 ? { maxMs: minutes * 60_000 } : {}),
    seed: Number(flag('--seed') ?? Date.now() % 1e6),
    log: (l) => process.stderr.write(l + '\n'),
  });
  process.stdout.write(formatReport(report) + '\n');
  for (const l of report.errorLogs.slice(0, 20)) process.stdout.write(`  ${l.slice(0, 300)}\n`);
  const bad =
    report.exitCode !== null || report.exitSignal !== null || report.unhealthy.length > 0 || Object.keys(report.faults).length > 0;
  process.exit(bad ? 1 : 0);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) void main();
