/**
 * The load generator: N WebSocket clients in rooms, speaking the Switchboard protocol
 * (hello → welcome, join → joined / participant-joined, offer/candidate relayed `to` a peer).
 *
 * Each relayed payload carries a marker `bench-ts=PHASE,SENDER,T;` inside the SDP string
 * (offers) or the candidate string (candidates) — fields the protocol allows to be any text —
 * where T is performance.now() at send. Sender and receiver live in this process, so the
 * receiver computes relay latency on the same clock. The receive fast path finds the marker
 * with Buffer.indexOf and does not JSON.parse the ~2 KB frame (1 in 64 frames is fully
 * parsed to check `type` and `from`), to keep the load generator cheap.
 */
import { performance, monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { LatencyHistogram } from './histogram.js';
import { machineTicks } from './proc.js';

const MARKER = 'bench-ts=';
const MARKER_BUF = Buffer.from(MARKER);

/** ~2 KB SDP-like offer body (a realistic audio+video offer is 2–6 KB). */
function makeSdp(targetBytes: number): { head: string; tail: string } {
  const head =
    'v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n' +
    'a=extmap-allow-mixed\r\na=msid-semantic: WMS stream\r\n' +
    'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n' +
    'a=ice-ufrag:Xk3b\r\na=ice-pwd:9Jd2lq0Xb1l0sQ3mPq7yT8aB\r\na=ice-options:trickle\r\n' +
    'a=fingerprint:sha-256 4F:1A:9C:22:3B:7E:11:8D:0C:55:AA:31:6F:02:9B:DE:47:12:C3:88:5D:E0:19:7A:2B:66:F1:04:93:CE:08:B7\r\n' +
    'a=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=';
  let tail =
    '\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n' +
    'm=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107 108 109 127 125 39 40 45 46 98 99 100 101\r\n' +
    'c=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendrecv\r\na=rtcp-mux\r\na=rtcp-rsize\r\n';
  let n = 96;
  while (head.length + tail.length < targetBytes - 40) {
    tail += `a=rtpmap:${n} VP8/90000\r\na=rtcp-fb:${n} goog-remb\r\na=rtcp-fb:${n} nack pli\r\n`;
    n = n >= 127 ? 96 : n + 1;
  }
  return { head, tail };
}

export interface LoadOptions {
  clients: number;
  roomSize: number;
  sdpBytes: number;
  /** Fraction of relayed messages that are offers (the rest are candidates). */
  offerRatio: number;
  connectConcurrency: number;
  connectTimeoutMs: number;
}

export interface PhaseResult {
  label: string;
  durationS: number;
  sent: number;
  received: number;
  /** Received before the phase ended (for throughput). */
  receivedInWindow: number;
  lost: number;
  msgsPerS: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  serverCpuS: number;
  serverCpuPct: number;
  cpuUsPerMsg: number;
  loadCpuPct: number;
  loopDelayP99Ms: number;
  /** Whole machine (all cores, % of one core): busy, kernel softirq (loopback TCP), and what is
   *  neither the server's nor the generator's process time (softirq + other processes). */
  machineBusyPct: number;
  softirqPct: number;
  otherPct: number;
  fromMismatch: number;
  errors: Record<string, number>;
  /** Open loop: messages the scheduler could not send on time (generator saturated). */
  lateSends: number;
  bytesPerMsg: number;
}

class Client {
  ws!: WebSocket;
  sessionId = '';
  readonly peers: string[] = [];
  inflight = 0;
  lastProgress = 0;
  joined = false;
  constructor(
    readonly idx: number,
    readonly room: number,
  ) {}
}

export class LoadGenerator {
  readonly clients: Client[] = [];
  private readonly bySession = new Map<string, Client>();
  private readonly sdp: { head: string; tail: string };
  private readonly sdpHeadJson: string;
  private readonly sdpTailJson: string;
  private phase = 0;
  private running = false;
  private readonly sent = new Map<number, number>();
  private readonly received = new Map<number, number>();
  private receivedInWindow = 0;
  private hist = new LatencyHistogram();
  private fromMismatch = 0;
  private errors: Record<string, number> = {};
  private bytesSent = 0;
  private spot = 0;
  private window = 1;
  /** Closed-loop: receipt of one of a client's messages lets it send the next. */
  private closedLoop = false;

  constructor(
    readonly url: string,
    readonly opts: LoadOptions,
    readonly cpuTicksOfServer: () => number,
    readonly clkTck: number,
  ) {
    this.sdp = makeSdp(opts.sdpBytes);
    this.sdpHeadJson = JSON.stringify(this.sdp.head).slice(1, -1);
    this.sdpTailJson = JSON.stringify(this.sdp.tail).slice(1, -1);
  }

  // ---- connect + join ----------------------------------------------------------------

  /** Connects all clients with at most `connectConcurrency` handshakes in flight. Returns seconds. */
  async connectAll(): Promise<number> {
    const { clients: n, roomSize } = this.opts;
    for (let i = 0; i < n; i++) this.clients.push(new Client(i, Math.floor(i / roomSize)));
    const t0 = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < n) {
        const c = this.clients[next++]!;
        await this.connectOne(c);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.connectConcurrency, n) }, worker));
    // Rosters: everyone must know every other member of its room (participant-joined may trail).
    const deadline = performance.now() + 10_000;
    while (performance.now() < deadline) {
      if (this.clients.every((c) => c.peers.length === this.roomMembers(c) - 1)) break;
      await sleep(20);
    }
    const incomplete = this.clients.filter((c) => c.peers.length !== this.roomMembers(c) - 1).length;
    if (incomplete) throw new Error(`${incomplete} clients have an incomplete room roster after join`);
    return (performance.now() - t0) / 1000;
  }

  private roomMembers(c: Client): number {
    const { clients: n, roomSize } = this.opts;
    return Math.min(roomSize, n - c.room * roomSize);
  }

  private connectOne(c: Client): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url, { perMessageDeflate: false, handshakeTimeout: this.opts.connectTimeoutMs });
      c.ws = ws;
      const timer = setTimeout(
        () => reject(new Error(`client ${c.idx}: no joined within ${this.opts.connectTimeoutMs} ms`)),
        this.opts.connectTimeoutMs,
      );
      ws.on('open', () => {
        ws.send(JSON.stringify({ type: 'hello', id: 1, identity: `bench-${c.idx}`, name: `bench ${c.idx}` }));
      });
      ws.on('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`client ${c.idx}: ${e.message}`));
      });
      ws.on('close', (code) => {
        if (!c.joined) {
          clearTimeout(timer);
          reject(new Error(`client ${c.idx}: closed (${code}) before joined`));
        } else if (this.running) this.count(`closed-${code}`);
      });
      ws.on('message', (data: Buffer) => {
        if (data.indexOf(MARKER_BUF) >= 0) {
          this.onRelay(c, data);
          return;
        }
        let m: { type?: string; [k: string]: unknown };
        try {
          m = JSON.parse(data.toString()) as typeof m;
        } catch {
          this.count('client-bad-json');
          return;
        }
        switch (m.type) {
          case 'welcome':
            c.sessionId = String(m.sessionId);
            this.bySession.set(c.sessionId, c);
            ws.send(JSON.stringify({ type: 'join', id: 2, room: `bench-${c.room}`, topology: 'mesh' }));
            break;
          case 'joined': {
            for (const p of (m.participants as { id: string }[]) ?? [])
              if (p.id !== c.sessionId && !c.peers.includes(p.id)) c.peers.push(p.id);
            c.joined = true;
            clearTimeout(timer);
            resolve();
            break;
          }
          case 'participant-joined': {
            const id = (m.participant as { id: string }).id;
            if (id !== c.sessionId && !c.peers.includes(id)) c.peers.push(id);
            break;
          }
          case 'participant-left': {
            const i = c.peers.indexOf(String(m.participantId));
            if (i >= 0) c.peers.splice(i, 1);
            break;
          }
          case 'error': {
            this.count(`error:${String(m.code)}`);
            if (!c.joined) {
              clearTimeout(timer);
              reject(new Error(`client ${c.idx}: error before joined: ${JSON.stringify(m)}`));
            } else if (this.closedLoop && this.running && c.inflight > 0) {
              // A rejected relay (e.g. rate-limited) frees its window slot; retry a little later.
              c.inflight--;
              setTimeout(() => {
                if (this.running && this.closedLoop) this.sendOne(c);
              }, 20);
            }
            break;
          }
          case 'ping':
          case 'pong':
            break;
          default:
            this.count(`other:${String(m.type)}`);
        }
      });
    });
  }

  // ---- relay -----------------------------------------------------------------------------

  private count(key: string): void {
    this.errors[key] = (this.errors[key] ?? 0) + 1;
  }

  private sendOne(c: Client): void {
    const to = c.peers[(Math.random() * c.peers.length) | 0];
    if (to === undefined) return;
    const mark = `${MARKER}${this.phase},${c.idx},${performance.now().toFixed(3)};`;
    let frame: string;
    if (Math.random() < this.opts.offerRatio) {
      frame = `{"type":"offer","to":"${to}","sdp":"${this.sdpHeadJson}${mark}${this.sdpTailJson}"}`;
    } else {
      frame = `{"type":"candidate","to":"${to}","candidate":{"candidate":"candidate:842163049 1 udp 1677729535 198.51.100.7 ${40000 + (c.idx % 20000)} typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag Xk3b network-cost 999 ${mark}","sdpMid":"0","sdpMLineIndex":0}}`;
    }
    this.bytesSent += frame.length;
    this.sent.set(this.phase, (this.sent.get(this.phase) ?? 0) + 1);
    c.inflight++;
    c.ws.send(frame);
  }

  private onRelay(receiver: Client, data: Buffer): void {
    const now = performance.now();
    const k = data.indexOf(MARKER_BUF) + MARKER_BUF.length;
    const s = data.toString('latin1', k, Math.min(data.length, k + 48));
    const c1 = s.indexOf(','),
      c2 = s.indexOf(',', c1 + 1),
      end = s.indexOf(';', c2 + 1);
    const phase = Number(s.slice(0, c1));
    const senderIdx = Number(s.slice(c1 + 1, c2));
    const ts = Number(s.slice(c2 + 1, end));
    this.received.set(phase, (this.received.get(phase) ?? 0) + 1);
    if (phase !== this.phase) return;
    const sender = this.clients[senderIdx];
    if ((++this.spot & 63) === 0) {
      try {
        const m = JSON.parse(data.toString()) as { type?: string; from?: string };
        if ((m.type !== 'offer' && m.type !== 'candidate') || !sender || m.from !== sender.sessionId) this.fromMismatch++;
        if (!sender || sender.room !== receiver.room) this.fromMismatch++;
      } catch {
        this.fromMismatch++;
      }
    }
    if (!this.running) return;
    this.hist.record(now - ts);
    this.receivedInWindow++;
    if (sender) {
      sender.inflight--;
      sender.lastProgress = now;
      if (this.closedLoop) this.sendOne(sender);
    }
  }

  /** Open loop: `rate` messages/s in total, spread round-robin over clients in shuffled order. */
  async runOpenLoop(label: string, rate: number, seconds: number, drainMs: number): Promise<PhaseResult> {
    const order = shuffle(this.clients.slice());
    let rr = 0;
    let late = 0;
    return this.runPhase(
      label,
      seconds,
      drainMs,
      (stop) => {
        const t0 = performance.now();
        let issued = 0;
        const tick = () => {
          const due = Math.floor(((performance.now() - t0) / 1000) * rate);
          let n = due - issued;
          const cap = Math.max(1, Math.ceil(rate * 0.05)); // never burst more than 50 ms worth
          if (n > cap) {
            late += n - cap;
            issued += n - cap;
            n = cap;
          }
          for (let i = 0; i < n; i++) {
            this.sendOne(order[rr]!);
            rr = (rr + 1) % order.length;
          }
          issued += n;
        };
        const iv = setInterval(tick, 2);
        void stop.then(() => clearInterval(iv));
      },
      () => late,
    );
  }

  /** Closed loop: every client keeps `window` relays in flight; a delivered one triggers the next. */
  async runClosedLoop(label: string, window: number, seconds: number, drainMs: number): Promise<PhaseResult> {
    this.window = window;
    let stalled = 0;
    return this.runPhase(
      label,
      seconds,
      drainMs,
      (stop) => {
        this.closedLoop = true;
        const now = performance.now();
        for (const c of this.clients) {
          c.inflight = 0;
          c.lastProgress = now;
        }
        for (const c of this.clients) for (let i = 0; i < this.window; i++) this.sendOne(c);
        // A lost message would freeze its client's window; refill after 3 s without progress.
        const iv = setInterval(() => {
          const t = performance.now();
          for (const c of this.clients) {
            if (c.inflight > 0 && t - c.lastProgress > 3000) {
              stalled += c.inflight;
              c.inflight = 0;
              c.lastProgress = t;
              for (let i = 0; i < this.window; i++) this.sendOne(c);
            }
          }
        }, 500);
        void stop.then(() => {
          clearInterval(iv);
          this.closedLoop = false;
        });
      },
      () => stalled,
    );
  }

  private async runPhase(
    label: string,
    seconds: number,
    drainMs: number,
    start: (stop: Promise<void>) => void,
    late: () => number,
  ): Promise<PhaseResult> {
    this.phase++;
    const phase = this.phase;
    this.hist = new LatencyHistogram();
    this.receivedInWindow = 0;
    this.fromMismatch = 0;
    this.errors = {};
    this.bytesSent = 0;
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const cpu0 = process.cpuUsage();
    const ticks0 = this.cpuTicksOfServer();
    const m0 = machineTicks();
    const t0 = performance.now();
    this.running = true;
    let stopNow!: () => void;
    const stop = new Promise<void>((r) => (stopNow = r));
    start(stop);
    await sleep(seconds * 1000);
    this.running = false;
    stopNow();
    const elapsed = (performance.now() - t0) / 1000;
    const ticks1 = this.cpuTicksOfServer();
    const m1 = machineTicks();
    const cpu1 = process.cpuUsage(cpu0);
    loop.disable();
    const receivedInWindow = this.receivedInWindow;
    // Drain: wait for stragglers so loss counts only what never arrived.
    const drainEnd = performance.now() + drainMs;
    while (performance.now() < drainEnd && (this.received.get(phase) ?? 0) < (this.sent.get(phase) ?? 0)) await sleep(20);
    const sent = this.sent.get(phase) ?? 0;
    const received = this.received.get(phase) ?? 0;
    const serverCpuS = (ticks1 - ticks0) / this.clkTck;
    const h = this.hist;
    return {
      label,
      durationS: elapsed,
      sent,
      received,
      receivedInWindow,
      lost: sent - received,
      msgsPerS: receivedInWindow / elapsed,
      p50: h.quantile(0.5),
      p90: h.quantile(0.9),
      p99: h.quantile(0.99),
      p999: h.quantile(0.999),
      max: h.max,
      mean: h.mean(),
      serverCpuS,
      serverCpuPct: (100 * serverCpuS) / elapsed,
      cpuUsPerMsg: receivedInWindow ? (serverCpuS * 1e6) / receivedInWindow : NaN,
      loadCpuPct: (100 * (cpu1.user + cpu1.system)) / 1e6 / elapsed,
      loopDelayP99Ms: loop.percentile(99) / 1e6,
      machineBusyPct: (100 * (m1.busy - m0.busy)) / this.clkTck / elapsed,
      softirqPct: (100 * (m1.softirq - m0.softirq)) / this.clkTck / elapsed,
      otherPct:
        (100 * (m1.busy - m0.busy)) / this.clkTck / elapsed -
        (100 * serverCpuS) / elapsed -
        (100 * (cpu1.user + cpu1.system)) / 1e6 / elapsed,
      fromMismatch: this.fromMismatch,
      errors: { ...this.errors },
      lateSends: late(),
      bytesPerMsg: sent ? this.bytesSent / sent : 0,
    };
  }

  async closeAll(): Promise<void> {
    this.running = false;
    for (const c of this.clients) c.ws?.terminate();
    await sleep(100);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = (Math.random() * (i + 1)) | 0;
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
