/**
 * Relay load from coturn's own test client, `turnutils_uclient` (Debian package coturn), against
 * any TURN server. One step = one offered rate:
 *
 *   K uclient processes (≤ clientsPerProc clients each, in parallel: uclient sets its clients
 *   up one after another, ~0.1 s each) × `-m` clients, each with one allocation (`-c`: no RTCP
 *   allocation) and one channel, each sending a `-l`-byte ChannelData message every `-z` ms for
 *   sendSeconds (`-n` messages). Two ways to close the loop:
 *     - 'c2c' (`-y`): clients in pairs, each with a channel to the other's relayed address;
 *       a message goes client A → server → relay A → relay B → server → client B;
 *     - 'echo': every client has a channel to `turnutils_peer`, a UDP echo: client → server →
 *       peer → server → client.
 *   Either way the server forwards two datagrams per message (in at a client or relay socket,
 *   out at the other), so relayed packets = 2 × messages delivered. c2c needs half the load
 *   generator's work per relayed packet (no echo hop), which matters with one core for it.
 *
 * How uclient behaves, and how the step copes with it:
 *   - each client starts sending 1–6 s (random) after setup, so the full rate holds only from
 *     6 s after setup to 1 s + sendSeconds after it; throughput and CPU are measured in that
 *     window, from the cumulative counters uclient prints once a second (stdout made line-
 *     buffered with stdbuf) and /proc samples taken at the window's edges;
 *   - sending is open loop (a 1 ms timer), so an overloaded server shows up as loss, not as a
 *     lower send rate; a send rate below the offered one means uclient itself fell behind;
 *   - the counters of all processes are interpolated to the window's edges (lines arrive
 *     once a second, at a different phase in each process);
 *   - with any loss uclient waits 10 s before exiting; the step stops it once everything is
 *     sent and nothing more arrives, and takes the totals from its last counter line.
 */
import { performance } from 'node:perf_hooks';
import {
  startChild,
  stopServer,
  cpuTicks,
  processTicks,
  processTree,
  treeCpuTicks,
  otherTicks,
  udpRcvbufErrors,
  udpSocketDrops,
  CLK_TCK,
  type Child,
} from './proc.js';

export interface RelayStepOptions {
  server: { host: string; port: number };
  /** Ports the uclient processes are spread over, one port per process in turn (TURN workers); default [server.port]. */
  ports?: readonly number[];
  mode: 'c2c' | 'echo';
  /** The echo peer (mode 'echo' only). */
  peer: { host: string; port: number; pid: number } | undefined;
  serverPid: number;
  username: string;
  password: string;
  /** Offered messages/s, all clients together (each message is echoed: two relayed packets). */
  rate: number;
  intervalMs: number;
  clientsPerProc: number;
  sendSeconds: number;
  messageBytes: number;
  /** CPU core(s) for the uclient processes (taskset -c: "1" or "0,1"). */
  core: number | string;
  /**
   * Local address of the clients (uclient -L). A new one per step: a step stopped early leaves
   * live allocations behind, and a new client that got one of their 5-tuples would get 437.
   */
  localHost: string;
  /** Extra uclient flags (e.g. ['-s'] for Send indications instead of channels). */
  extraArgs: string[];
}

export interface RelayStepResult {
  rate: number;
  clients: number;
  procs: number;
  messagesPerClient: number;
  /** Totals over the whole step (ramp-up and -down included), from uclient's counters. */
  sent: number;
  received: number;
  runLossPct: number;
  /** Full-rate window. */
  windowS: number;
  sentPerS: number;
  receivedPerS: number;
  windowLossPct: number;
  /** Relayed packets/s in the window: 2 × messages delivered/s (two server hops each). */
  relayedPerS: number;
  serverCpuPct: number;
  /** Server CPU µs per relayed packet in the window. */
  cpuUsPerPacket: number;
  /** CPU of the uclient processes (and the echo peer) (% of one core). */
  genCpuPct: number;
  /** CPU of every other user process (not the bench's) over the whole step, % of one core: noise on a shared machine. */
  otherPct: number;
  /** Messages lost (sent − delivered) per second of the step, from uclient's counter lines. */
  lossBySecond: number[];
  /**
   * UDP datagrams dropped for full receive buffers during the step: machine-wide, and at the
   * sockets of the server, the echo peer and the uclient processes (those still open at the
   * end of the step: a server's relay sockets of finished allocations are not counted).
   */
  udpDrops: number;
  serverDrops: number;
  peerDrops: number;
  clientDrops: number;
  /** Why the step has no usable numbers, if it has none. */
  failure: string | undefined;
  notes: string[];
}

const STATS_RE = /start_mclient: msz=\d+, tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/;
const FINAL_RE = /start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/;
const CONNECTED_RE = /Total connect time is/;

interface Sample {
  t: number;
  sent: number;
  recv: number;
}

interface Proc {
  child: Child;
  clients: number;
  connectedAt: number | undefined;
  samples: Sample[];
  final: { sent: number; recv: number } | undefined;
  finalAt: number;
  exited: boolean;
  problems: string[];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A process's counter lines, its final totals (if it printed them) as the last one. */
function samplesOf(p: Proc): Sample[] {
  const last = p.samples[p.samples.length - 1];
  return p.final && last ? [...p.samples, { t: Math.max(last.t, p.finalAt), ...p.final }] : p.samples;
}

/**
 * A process's cumulative counters at time t, interpolated between the lines around it (the
 * lines come once a second, so every process is read at the same instants).
 */
function countersAt(p: Proc, t: number): { sent: number; recv: number } | undefined {
  const ss = samplesOf(p);
  const j = ss.findIndex((s) => s.t >= t);
  if (j <= 0) return undefined;
  const a = ss[j - 1]!,
    b = ss[j]!;
  const x = b.t > a.t ? (t - a.t) / (b.t - a.t) : 1;
  return { sent: a.sent + x * (b.sent - a.sent), recv: a.recv + x * (b.recv - a.recv) };
}

/**
 * sent − delivered between consecutive counter lines, summed over processes into whole seconds
 * since `start` (by arrival time); shows whether loss came at full rate or in the ramps.
 */
function lossBySecond(procs: Proc[], start: number): number[] {
  const out: number[] = [];
  for (const p of procs) {
    let prev: Sample = { t: start, sent: 0, recv: 0 };
    for (const s of samplesOf(p)) {
      const i = Math.max(0, Math.floor((s.t - start) / 1000));
      while (out.length <= i) out.push(0);
      out[i]! += s.sent - prev.sent - (s.recv - prev.recv);
      prev = s;
    }
  }
  return out;
}

export async function runRelayStep(o: RelayStepOptions): Promise<RelayStepResult> {
  // c2c pairs clients within a process: even counts everywhere.
  const unit = o.mode === 'c2c' ? 2 : 1;
  const perProc = Math.max(unit, o.clientsPerProc - (o.clientsPerProc % unit));
  const clients = unit * Math.max(1, Math.round((o.rate * o.intervalMs) / 1000 / unit));
  const rate = (clients * 1000) / o.intervalMs;
  // A multiple of the port count, so that every port carries the same number of processes (and clients).
  const ports = o.ports?.length ?? 1;
  const procCount = Math.min(clients / unit, Math.ceil(Math.ceil(clients / perProc) / ports) * ports);
  const n = Math.max(1, Math.round((o.sendSeconds * 1000) / o.intervalMs));
  const notes: string[] = [];
  const procs: Proc[] = [];
  const start = performance.now();
  const pStart = processTicks();
  const peerPid = o.mode === 'echo' ? o.peer?.pid : undefined;
  const peerDrops = () => (peerPid === undefined ? 0 : udpSocketDrops(peerPid));
  const udp0 = udpRcvbufErrors(),
    peer0 = peerDrops(),
    // The server and its worker processes (TURN workers): CPU and socket drops of all of them.
    serverPids = processTree(o.serverPid),
    serverDrops = () => serverPids.reduce((a, pid) => a + (udpSocketDrops(pid) || 0), 0),
    server0 = serverDrops();

  for (let i = 0; i < procCount; i++) {
    const pairs = clients / unit;
    const m = unit * (Math.floor(pairs / procCount) + (i < pairs % procCount ? 1 : 0));
    const loop = o.mode === 'c2c' ? ['-y'] : ['-e', o.peer!.host, '-r', String(o.peer!.port)];
    const args = [
      '-c',
      String(o.core),
      'stdbuf',
      '-oL',
      'turnutils_uclient',
      '-l',
      String(o.messageBytes),
      '-n',
      String(n),
      '-m',
      String(m),
      '-z',
      String(o.intervalMs),
      '-c',
      ...loop,
      '-u',
      o.username,
      '-w',
      o.password,
      '-p',
      String(o.ports?.[i % o.ports.length] ?? o.server.port),
      '-L',
      o.localHost,
      ...o.extraArgs,
      o.server.host,
    ];
    const child = startChild(`uclient ${i + 1}/${procCount}`, 'taskset', args);
    const p: Proc = { child, clients: m, connectedAt: undefined, samples: [], final: undefined, finalAt: 0, exited: false, problems: [] };
    child.onLine = (line) => {
      let r: RegExpExecArray | null;
      if ((r = STATS_RE.exec(line))) p.samples.push({ t: performance.now(), sent: Number(r[1]), recv: Number(r[2]) });
      else if ((r = FINAL_RE.exec(line))) {
        p.final = { sent: Number(r[1]), recv: Number(r[2]) };
        p.finalAt = performance.now();
      } else if (p.connectedAt === undefined && CONNECTED_RE.test(line)) p.connectedAt = performance.now();
      else if (/error|cannot|failed|wrong/i.test(line) && p.problems.length < 5) p.problems.push(line.replace(/^\d+: : /, ''));
    };
    child.proc.on('exit', () => {
      p.exited = true;
    });
    procs.push(p);
  }

  const drops = () => ({
    udpDrops: udpRcvbufErrors() - udp0,
    serverDrops: serverDrops() - server0,
    peerDrops: peerDrops() - peer0,
    clientDrops: procs.reduce((a, p) => a + (p.exited ? 0 : udpSocketDrops(p.child.pid) || 0), 0),
  });
  const fail = async (why: string): Promise<RelayStepResult> => {
    await Promise.all(procs.map((p) => stopServer({ proc: p.child.proc }, 500)));
    const problems = procs.flatMap((p) => p.problems).slice(0, 3);
    return {
      rate,
      clients,
      procs: procCount,
      messagesPerClient: n,
      sent: 0,
      received: 0,
      runLossPct: NaN,
      windowS: 0,
      sentPerS: NaN,
      receivedPerS: NaN,
      windowLossPct: NaN,
      relayedPerS: NaN,
      serverCpuPct: NaN,
      cpuUsPerPacket: NaN,
      genCpuPct: NaN,
      otherPct: NaN,
      lossBySecond: lossBySecond(procs, start),
      ...drops(),
      failure: why + (problems.length ? ` (uclient: ${problems.join(' | ')})` : ''),
      notes,
    };
  };

  // 1. Setup: every process reports "Total connect time" (~0.1 s per client, plus allocation).
  const setupDeadline = performance.now() + 5000 + 250 * o.clientsPerProc;
  while (procs.some((p) => p.connectedAt === undefined)) {
    const dead = procs.find((p) => p.exited && p.connectedAt === undefined);
    if (dead) return fail(`uclient exited during setup (code ${dead.child.proc.exitCode}): ${dead.child.tail.slice(-3).join(' | ')}`);
    if (performance.now() > setupDeadline) return fail('uclient setup did not finish in time');
    await sleep(20);
  }
  const connected = procs.map((p) => p.connectedAt!);
  // 2. The full-rate window: all clients of all processes are sending.
  const t0 = Math.max(...connected) + 6100;
  const t1 = Math.min(...connected) + 1000 + o.sendSeconds * 1000 - 100;
  if (t1 - t0 < 1500) return fail(`full-rate window too short (${((t1 - t0) / 1000).toFixed(1)} s): raise sendSeconds`);
  await sleep(t0 - performance.now());
  const ticksOf = (pid: number) => {
    try {
      return cpuTicks(pid);
    } catch {
      return 0;
    }
  }; // a process may exit meanwhile
  const genTicks = () => procs.reduce((a, p) => a + (p.exited ? 0 : ticksOf(p.child.pid)), peerPid === undefined ? 0 : ticksOf(peerPid));
  const ours = () => [process.pid, ...serverPids, ...procs.map((p) => p.child.pid), ...(peerPid === undefined ? [] : [peerPid])];
  const k0 = treeCpuTicks(serverPids),
    u0 = genTicks(),
    w0 = performance.now();
  await sleep(t1 - performance.now());
  const k1 = treeCpuTicks(serverPids),
    u1 = genTicks(),
    w1 = performance.now();
  const windowS = (w1 - w0) / 1000;

  // 3. Drain: stop once all is sent and the received count stands still (or uclient exits).
  const total = (p: Proc) => p.clients * n;
  const drainDeadline = performance.now() + 6000 + 1000 * o.sendSeconds;
  let lastRecv = -1,
    stillSince = performance.now();
  for (;;) {
    const allSent = procs.every((p) => p.exited || (p.samples[p.samples.length - 1]?.sent ?? 0) >= total(p));
    const recv = procs.reduce((a, p) => a + (p.final?.recv ?? p.samples[p.samples.length - 1]?.recv ?? 0), 0);
    if (recv !== lastRecv) {
      lastRecv = recv;
      stillSince = performance.now();
    }
    if (procs.every((p) => p.exited)) break;
    // Two counter lines a second apart with the same count: nothing more is coming.
    if (allSent && performance.now() - stillSince > 1100) break;
    if (performance.now() > drainDeadline) {
      notes.push('uclient did not finish sending in time; stopped');
      break;
    }
    await sleep(100);
  }
  const dropCounts = drops();
  const otherPct = (100 * otherTicks(pStart, processTicks(), ours())) / CLK_TCK / ((performance.now() - start) / 1000);
  await Promise.all(procs.map((p) => stopServer({ proc: p.child.proc }, 500)));

  let sent = 0,
    received = 0,
    sentPerS = 0,
    receivedPerS = 0;
  for (const p of procs) {
    const last = p.final ?? p.samples[p.samples.length - 1];
    sent += last?.sent ?? 0;
    received += last?.recv ?? 0;
    const a = countersAt(p, w0),
      b = countersAt(p, w1);
    if (!a || !b) return fail(`no uclient counter lines around the full-rate window (${p.child.name})`);
    sentPerS += (b.sent - a.sent) / windowS;
    receivedPerS += (b.recv - a.recv) / windowS;
  }
  const problems = procs.flatMap((p) => p.problems);
  if (problems.length) notes.push(`uclient said: ${problems.slice(0, 3).join(' | ')}`);
  if (sent < clients * n) notes.push(`uclient sent ${sent} of ${clients * n} messages`);
  const relayedPerS = 2 * receivedPerS;
  const serverCpuS = (k1 - k0) / CLK_TCK;
  return {
    rate,
    clients,
    procs: procCount,
    messagesPerClient: n,
    sent,
    received,
    runLossPct: sent ? (100 * Math.max(0, sent - received)) / sent : NaN,
    windowS,
    sentPerS,
    receivedPerS,
    windowLossPct: sentPerS ? (100 * (sentPerS - receivedPerS)) / sentPerS : NaN,
    relayedPerS,
    serverCpuPct: (100 * serverCpuS) / windowS,
    cpuUsPerPacket: relayedPerS ? (serverCpuS * 1e6) / windowS / relayedPerS : NaN,
    genCpuPct: (100 * (u1 - u0)) / CLK_TCK / windowS,
    otherPct,
    lossBySecond: lossBySecond(procs, start),
    ...dropCounts,
    failure: undefined,
    notes,
  };
}
