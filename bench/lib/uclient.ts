/**
 * Relay load from coturn's own test client, `turnutils_uclient` (Debian package coturn), against
 * any TURN server, echoed by `turnutils_peer`. One step = one offered rate:
 *
 *   K uclient processes (≤ clientsPerProc clients each, in parallel: uclient sets its clients
 *   up one after another, ~0.1 s each) × `-m` clients, each with one allocation and one channel
 *   to the peer (`-c`: no RTCP allocation), each sending a `-l`-byte ChannelData message every
 *   `-z` ms for sendSeconds (`-n` messages), which the peer echoes back through the relay.
 *
 * How uclient behaves, and how the step copes with it:
 *   - each client starts sending 1–6 s (random) after setup, so the full rate holds only from
 *     6 s after setup to 1 s + sendSeconds after it; throughput and CPU are measured in that
 *     window, from the cumulative counters uclient prints once a second (stdout made line-
 *     buffered with stdbuf) and /proc samples taken at the window's edges;
 *   - sending is open loop (a 1 ms timer), so an overloaded server shows up as loss, not as a
 *     lower send rate; a send rate below the offered one means uclient itself fell behind;
 *   - with any loss uclient waits 10 s before exiting; the step stops it once everything is
 *     sent and nothing more arrives, and takes the totals from its last counter line.
 */
import { performance } from 'node:perf_hooks';
import { startChild, stopServer, cpuTicks, coreBusyTicks, udpRcvbufErrors, udpSocketDrops, CLK_TCK, type Child } from './proc.js';

export interface RelayStepOptions {
  server: { host: string; port: number };
  peer: { host: string; port: number; pid: number };
  serverPid: number;
  username: string;
  password: string;
  /** Offered messages/s, all clients together (each message is echoed: two relayed packets). */
  rate: number;
  intervalMs: number;
  clientsPerProc: number;
  sendSeconds: number;
  messageBytes: number;
  /** CPU core for the uclient processes (taskset). */
  core: number;
  /**
   * Local address of the clients (uclient -L). A new one per step: a step stopped early leaves
   * live allocations behind, and a new client that got one of their 5-tuples would get 437.
   */
  localHost: string;
  /** Extra uclient flags (e.g. ['-s'] for Send indications instead of channels). */
  extraArgs: string[];
}

export interface RelayStepResult {
  rate: number; clients: number; procs: number; messagesPerClient: number;
  /** Totals over the whole step (ramp-up and -down included), from uclient's counters. */
  sent: number; received: number; runLossPct: number;
  /** Full-rate window. */
  windowS: number; sentPerS: number; receivedPerS: number; windowLossPct: number;
  /** Relayed packets/s in the window: 2 × echoed messages/s (client→peer and peer→client). */
  relayedPerS: number;
  serverCpuPct: number;
  /** Server CPU µs per relayed packet in the window. */
  cpuUsPerPacket: number;
  /** Busy % of the load generator's core (uclient, peer, this process, anything else there). */
  genCoreBusyPct: number;
  /** CPU of the uclient processes and the echo peer alone (% of one core). */
  genCpuPct: number;
  /**
   * UDP datagrams dropped for full receive buffers during the step: machine-wide, and at the
   * sockets of the server, the echo peer and the uclient processes (those still open at the
   * end of the step: a server's relay sockets of finished allocations are not counted).
   */
  udpDrops: number; serverDrops: number; peerDrops: number; clientDrops: number;
  /** Why the step has no usable numbers, if it has none. */
  failure: string | undefined;
  notes: string[];
}

const STATS_RE = /start_mclient: msz=\d+, tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/;
const FINAL_RE = /start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/;
const CONNECTED_RE = /Total connect time is/;

interface Sample { t: number; sent: number; recv: number }

interface Proc {
  child: Child;
  clients: number;
  connectedAt: number | undefined;
  samples: Sample[];
  final: { sent: number; recv: number } | undefined;
  exited: boolean;
  problems: string[];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Rates from one process's counter lines inside [t0, t1]: first and last line in the window. */
function windowRates(p: Proc, t0: number, t1: number): { sentPerS: number; recvPerS: number } | undefined {
  const inside = p.samples.filter((s) => s.t >= t0 && s.t <= t1);
  const a = inside[0], b = inside[inside.length - 1];
  if (!a || !b || b.t - a.t < 500) return undefined;
  const dt = (b.t - a.t) / 1000;
  return { sentPerS: (b.sent - a.sent) / dt, recvPerS: (b.recv - a.recv) / dt };
}

export async function runRelayStep(o: RelayStepOptions): Promise<RelayStepResult> {
  const clients = Math.max(1, Math.round((o.rate * o.intervalMs) / 1000));
  const rate = (clients * 1000) / o.intervalMs;
  const procCount = Math.ceil(clients / o.clientsPerProc);
  const n = Math.max(1, Math.round((o.sendSeconds * 1000) / o.intervalMs));
  const notes: string[] = [];
  const procs: Proc[] = [];
  const udp0 = udpRcvbufErrors(), peer0 = udpSocketDrops(o.peer.pid), server0 = udpSocketDrops(o.serverPid);

  for (let i = 0; i < procCount; i++) {
    const m = Math.floor(clients / procCount) + (i < clients % procCount ? 1 : 0);
    const args = [
      '-c', String(o.core), 'stdbuf', '-oL', 'turnutils_uclient',
      '-l', String(o.messageBytes), '-n', String(n), '-m', String(m), '-z', String(o.intervalMs), '-c',
      '-e', o.peer.host, '-r', String(o.peer.port), '-u', o.username, '-w', o.password,
      '-p', String(o.server.port), '-L', o.localHost, ...o.extraArgs, o.server.host,
    ];
    const child = startChild(`uclient ${i + 1}/${procCount}`, 'taskset', args);
    const p: Proc = { child, clients: m, connectedAt: undefined, samples: [], final: undefined, exited: false, problems: [] };
    child.onLine = (line) => {
      let r: RegExpExecArray | null;
      if ((r = STATS_RE.exec(line))) p.samples.push({ t: performance.now(), sent: Number(r[1]), recv: Number(r[2]) });
      else if ((r = FINAL_RE.exec(line))) p.final = { sent: Number(r[1]), recv: Number(r[2]) };
      else if (p.connectedAt === undefined && CONNECTED_RE.test(line)) p.connectedAt = performance.now();
      else if (/error|cannot|failed|wrong/i.test(line) && p.problems.length < 5) p.problems.push(line.replace(/^\d+: : /, ''));
    };
    child.proc.on('exit', () => { p.exited = true; });
    procs.push(p);
  }

  const drops = () => ({
    udpDrops: udpRcvbufErrors() - udp0, serverDrops: udpSocketDrops(o.serverPid) - server0,
    peerDrops: udpSocketDrops(o.peer.pid) - peer0,
    clientDrops: procs.reduce((a, p) => a + (p.exited ? 0 : udpSocketDrops(p.child.pid) || 0), 0),
  });
  const fail = async (why: string): Promise<RelayStepResult> => {
    await Promise.all(procs.map((p) => stopServer({ proc: p.child.proc }, 500)));
    const problems = procs.flatMap((p) => p.problems).slice(0, 3);
    return {
      rate, clients, procs: procCount, messagesPerClient: n, sent: 0, received: 0, runLossPct: NaN, windowS: 0,
      sentPerS: NaN, receivedPerS: NaN, windowLossPct: NaN, relayedPerS: NaN, serverCpuPct: NaN, cpuUsPerPacket: NaN,
      genCoreBusyPct: NaN, genCpuPct: NaN, ...drops(),
      failure: why + (problems.length ? ` (uclient: ${problems.join(' | ')})` : ''), notes,
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
  const genTicks = () => procs.reduce((a, p) => a + (p.exited ? 0 : cpuTicks(p.child.pid)), cpuTicks(o.peer.pid));
  const k0 = cpuTicks(o.serverPid), g0 = coreBusyTicks(o.core), u0 = genTicks(), w0 = performance.now();
  await sleep(t1 - performance.now());
  const k1 = cpuTicks(o.serverPid), g1 = coreBusyTicks(o.core), u1 = genTicks(), w1 = performance.now();
  const windowS = (w1 - w0) / 1000;

  // 3. Drain: stop once all is sent and the received count stands still for 1.5 s (or uclient exits).
  const total = (p: Proc) => p.clients * n;
  const drainDeadline = performance.now() + 6000 + 1000 * o.sendSeconds;
  let lastRecv = -1, stillSince = performance.now();
  for (;;) {
    const allSent = procs.every((p) => p.exited || (p.samples[p.samples.length - 1]?.sent ?? 0) >= total(p));
    const recv = procs.reduce((a, p) => a + (p.final?.recv ?? p.samples[p.samples.length - 1]?.recv ?? 0), 0);
    if (recv !== lastRecv) { lastRecv = recv; stillSince = performance.now(); }
    if (procs.every((p) => p.exited)) break;
    if (allSent && performance.now() - stillSince > 1500) break;
    if (performance.now() > drainDeadline) { notes.push('uclient did not finish sending in time; stopped'); break; }
    await sleep(100);
  }
  const dropCounts = drops();
  await Promise.all(procs.map((p) => stopServer({ proc: p.child.proc }, 500)));

  let sent = 0, received = 0, sentPerS = 0, receivedPerS = 0;
  for (const p of procs) {
    const last = p.final ?? p.samples[p.samples.length - 1];
    sent += last?.sent ?? 0;
    received += last?.recv ?? 0;
    const w = windowRates(p, w0 - 50, w1 + 50);
    if (!w) return fail(`no uclient counter lines in the full-rate window (${p.child.name})`);
    sentPerS += w.sentPerS;
    receivedPerS += w.recvPerS;
  }
  const problems = procs.flatMap((p) => p.problems);
  if (problems.length) notes.push(`uclient said: ${problems.slice(0, 3).join(' | ')}`);
  if (sent < clients * n) notes.push(`uclient sent ${sent} of ${clients * n} messages`);
  const relayedPerS = 2 * receivedPerS;
  const serverCpuS = (k1 - k0) / CLK_TCK;
  return {
    rate, clients, procs: procCount, messagesPerClient: n,
    sent, received, runLossPct: sent ? (100 * Math.max(0, sent - received)) / sent : NaN,
    windowS, sentPerS, receivedPerS, windowLossPct: sentPerS ? (100 * (sentPerS - receivedPerS)) / sentPerS : NaN,
    relayedPerS, serverCpuPct: (100 * serverCpuS) / windowS, cpuUsPerPacket: relayedPerS ? (serverCpuS * 1e6) / windowS / relayedPerS : NaN,
    genCoreBusyPct: (100 * (g1 - g0)) / CLK_TCK / windowS, genCpuPct: (100 * (u1 - u0)) / CLK_TCK / windowS, ...dropCounts, failure: undefined, notes,
  };
}
