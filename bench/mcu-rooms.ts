/**
 * What MCU rooms cost the server process, idle and in use (the figures behind `maxMcuRooms`).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/mcu-rooms.js [--idle-rooms 20] [--members 2]
 *       [--active-rooms 1,2,4] [--seconds 5] [--max-mcu-rooms N] [--peer ndc|werift] [--layout-burst 220]
 *
 * The server is `switchboard serve` in a child process on 127.0.0.1 (RTC port on loopback, TURN
 * off); its CPU (utime + stime from /proc) and RSS are read over each window, and `/healthz` is
 * asked every 250 ms during it (latency = how long its event loop keeps a request waiting).
 *
 * - idle: `--idle-rooms` MCU rooms, each with `--members` WebSocket members who join and never
 *   publish or answer the subscribe offer (no media connection ever comes up).
 * - active: for each count in `--active-rooms`, that many MCU rooms, each with one headless
 *   peer (test/helpers/sfu-node-peer.ts; node-datachannel by default, werift's pure-JS stack
 *   could not keep three up on 2 shared cores) that publishes the recorded Chromium VP8 + Opus
 *   and answers its subscribe offers: a connected viewer, so the room composes, encodes and mixes.
 *   CPU per active room sizes the default of `maxMcuRooms`.
 * - layout burst: one room in use; server CPU over 8 s without, then with `--layout-burst` N
 *   `mcu-layout` changes from the connected peer, spread evenly over the 8 s.
 *
 * The bench process (WebSockets, werift peers) is not measured; on a 2-core machine it shares
 * the cores with the server, so run it on a quiet machine and read the spread across runs.
 */
import { cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { CLK_TCK, cpuTicks, loopbackServeArgs, nonNegative, rssKiB, spawnServer, stopServer, type ServerChild } from './lib/proc.js';
import { SfuNodePeer } from '../test/helpers/sfu-node-peer.js';
import { NodeDataChannelRtc } from '../test/helpers/sfu-node-peer-ndc.js';
import { WeriftRtc } from '../test/helpers/sfu-node-peer-werift.js';

interface Options {
  idleRooms: number;
  members: number;
  activeRooms: number[];
  seconds: number;
  maxMcuRooms: number | undefined;
  peer: 'ndc' | 'werift';
  layoutBurst: number;
}

function usage(problem: string): never {
  console.error(
    `${problem}\nusage: node dist/bench/mcu-rooms.js [--idle-rooms 20] [--members 2] [--active-rooms 1,2,4] [--seconds 5] [--max-mcu-rooms N] [--peer ndc|werift] [--layout-burst 220]`,
  );
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const o: Options = { idleRooms: 20, members: 2, activeRooms: [1, 2, 4], seconds: 5, maxMcuRooms: undefined, peer: 'ndc', layoutBurst: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--idle-rooms') o.idleRooms = Math.floor(nonNegative('idle-rooms', argv[++i], usage));
    else if (a === '--members') o.members = Math.max(1, Math.floor(nonNegative('members', argv[++i], usage)));
    else if (a === '--active-rooms')
      o.activeRooms = (argv[++i] ?? '')
        .split(',')
        .filter(Boolean)
        .map((v) => Math.floor(nonNegative('active-rooms', v, usage)));
    else if (a === '--seconds') o.seconds = Math.max(1, nonNegative('seconds', argv[++i], usage));
    else if (a === '--max-mcu-rooms') o.maxMcuRooms = Math.floor(nonNegative('max-mcu-rooms', argv[++i], usage));
    else if (a === '--layout-burst') o.layoutBurst = Math.floor(nonNegative('layout-burst', argv[++i], usage));
    else if (a === '--peer') {
      const p = argv[++i];
      if (p !== 'ndc' && p !== 'werift') usage('--peer is ndc or werift');
      o.peer = p;
    } else usage(`unknown option ${a}`);
  }
  return o;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const MAIN = join(dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');

async function startServer(maxMcuRooms: number | undefined): Promise<ServerChild> {
  const args = loopbackServeArgs(MAIN, ['--announced-ip', '127.0.0.1']);
  // The base commit has no such flag: only pass it when asked.
  if (maxMcuRooms !== undefined) args.push('--max-mcu-rooms', String(maxMcuRooms));
  // The CLI prints its listening line at any log level.
  return spawnServer('switchboard', args, { startTimeoutMs: 20_000 });
}

/** A WebSocket member of MCU room `room` that never answers anything. */
async function idleMember(wsUrl: string, room: string, name: string): Promise<WebSocket> {
  const ws = new WebSocket(wsUrl);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const joined = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${name}: no joined within 5 s`)), 5000);
    ws.on('message', (data: Buffer) => {
      const m = JSON.parse(data.toString()) as { type: string; code?: string; message?: string };
      if (m.type === 'joined') {
        clearTimeout(t);
        resolve();
      }
      if (m.type === 'error') {
        clearTimeout(t);
        reject(new Error(`${name}: ${m.code} ${m.message}`));
      }
    });
  });
  ws.send(JSON.stringify({ type: 'hello', name }));
  ws.send(JSON.stringify({ type: 'join', room, topology: 'mcu' }));
  await joined;
  return ws;
}

interface Window {
  cpuPct: number;
  rssMiB: number;
  healthzMs: { p50: number; max: number };
}

/** Server CPU (% of one core), RSS and /healthz latency over `seconds`. */
async function measure(server: ServerChild, seconds: number): Promise<Window> {
  const url = `http://${server.host}:${server.port}/healthz`;
  const latencies: number[] = [];
  const t0 = performance.now();
  const c0 = cpuTicks(server.pid);
  while (performance.now() - t0 < seconds * 1000) {
    const s = performance.now();
    await fetch(url).then((r) => r.text());
    latencies.push(performance.now() - s);
    await sleep(250);
  }
  const elapsed = (performance.now() - t0) / 1000;
  const cpuPct = ((cpuTicks(server.pid) - c0) / CLK_TCK / elapsed) * 100;
  latencies.sort((a, b) => a - b);
  return {
    cpuPct,
    rssMiB: rssKiB(server.pid) / 1024,
    healthzMs: { p50: latencies[Math.floor(latencies.length / 2)] ?? 0, max: latencies[latencies.length - 1] ?? 0 },
  };
}

async function metric(server: ServerChild, name: string): Promise<string> {
  const text = await fetch(`http://${server.host}:${server.port}/metrics`).then((r) => r.text());
  const lines = text.split('\n').filter((l) => l.startsWith(name));
  return lines.length > 0 ? lines.map((l) => l.slice(name.length).trim()).join(' ') : 'n/a';
}

const f = (n: number, d = 0): string => n.toFixed(d);
const line = (label: string, w: Window): string =>
  `${label.padEnd(34)} CPU ${f(w.cpuPct).padStart(4)} % of a core | RSS ${f(w.rssMiB).padStart(5)} MiB | /healthz p50 ${f(w.healthzMs.p50, 1)} ms, max ${f(w.healthzMs.max, 1)} ms`;

async function idlePhase(o: Options): Promise<void> {
  const server = await startServer(o.maxMcuRooms);
  const wsUrl = `ws://${server.host}:${server.port}/ws`;
  const sockets: WebSocket[] = [];
  try {
    await sleep(1000);
    console.log(line('no rooms', await measure(server, o.seconds)));
    let refused = 0;
    for (let r = 0; r < o.idleRooms; r++) {
      for (let m = 0; m < o.members; m++) {
        try {
          sockets.push(await idleMember(wsUrl, `idle-${r}`, `m${r}-${m}`));
        } catch (err) {
          refused++;
          if (refused === 1) console.log(`  join refused: ${(err as Error).message}`);
        }
      }
    }
    await sleep(1000);
    const w = await measure(server, o.seconds);
    console.log(line(`${o.idleRooms} idle MCU rooms × ${o.members}`, w));
    console.log(
      `  joins refused: ${refused}; mcu rooms gauge: ${await metric(server, 'switchboard_mcu_rooms ')}; compositions encoded gauge: ${await metric(server, 'switchboard_mcu_compositions_encoded ')}`,
    );
  } finally {
    for (const s of sockets) s.terminate();
    await stopServer(server);
  }
}

async function activePhase(o: Options, rooms: number): Promise<void> {
  const server = await startServer(o.maxMcuRooms);
  const wsUrl = `ws://${server.host}:${server.port}/ws`;
  const peers: SfuNodePeer[] = [];
  try {
    for (let r = 0; r < rooms; r++) {
      const rtc = o.peer === 'ndc' ? new NodeDataChannelRtc(`p${r}`) : new WeriftRtc();
      peers.push(await SfuNodePeer.join(wsUrl, `active-${r}`, `p${r}`, rtc, 20_000, 'mcu'));
    }
    // Until every peer receives its composite (ICE + DTLS up, the first keyframe through).
    for (let i = 0; i < 200 && !peers.every((p) => p.receivedFrom('mixer').videoPackets > 0); i++) await sleep(100);
    const receiving = peers.filter((p) => p.receivedFrom('mixer').videoPackets > 0).length;
    await sleep(1000);
    const w = await measure(server, o.seconds);
    console.log(
      line(`${rooms} active MCU room(s)`, w) +
        ` | ${f(w.cpuPct / Math.max(1, rooms))} % per room; ${receiving}/${rooms} peers receive the composite`,
    );
  } finally {
    await Promise.allSettled(peers.map((p) => p.close()));
    await stopServer(server);
  }
}

const BURST_SECONDS = 8;

async function layoutBurstPhase(o: Options): Promise<void> {
  const server = await startServer(o.maxMcuRooms);
  const wsUrl = `ws://${server.host}:${server.port}/ws`;
  let peer: SfuNodePeer | undefined;
  try {
    const rtc = o.peer === 'ndc' ? new NodeDataChannelRtc('layout') : new WeriftRtc();
    peer = await SfuNodePeer.join(wsUrl, 'burst', 'layout', rtc, 20_000, 'mcu');
    for (let i = 0; i < 200 && peer.receivedFrom('mixer').videoPackets === 0; i++) await sleep(100);
    await sleep(1000);
    const quiet = await measure(server, BURST_SECONDS);
    console.log(line('1 room in use, no layout changes', quiet));
    const layouts = ['speaker', 'presentation', 'grid'] as const;
    const errorsBefore = peer.errors.length;
    const sending = (async () => {
      const t0 = performance.now();
      for (let i = 0; i < o.layoutBurst; i++) {
        const due = t0 + (i * BURST_SECONDS * 1000) / o.layoutBurst;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        peer.setLayout(layouts[i % layouts.length]!);
      }
    })();
    const burst = await measure(server, BURST_SECONDS);
    await sending;
    const limited = peer.errors.slice(errorsBefore).filter((e) => e.includes('rate-limited')).length;
    console.log(
      line(`same, ${o.layoutBurst} layout changes in ${BURST_SECONDS} s`, burst) +
        ` | +${f(((burst.cpuPct - quiet.cpuPct) / 100) * BURST_SECONDS, 1)} s of CPU; ${limited} rate-limited answers`,
    );
  } finally {
    await peer?.close();
    await stopServer(server);
  }
}

const opts = parseArgs(process.argv.slice(2));
console.log(
  `mcu-rooms: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${opts.seconds} s windows, server = switchboard serve (child process), ${opts.peer} peers`,
);
if (opts.idleRooms > 0) await idlePhase(opts);
for (const n of opts.activeRooms) if (n > 0) await activePhase(opts, n);
if (opts.layoutBurst > 0) await layoutBurstPhase(opts);
process.exit(0);
