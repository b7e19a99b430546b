/**
 * STUN/TURN load generator for bench/turn.ts, built on our codec (src/stun). The same code
 * drives every server under test, over UDP on loopback:
 *
 *   - Binding: closed loop, `inflight` requests outstanding over `sockets` sockets; a response
 *     frees its slot and the next request goes out at once. Every response is matched by
 *     transaction ID; 1 in 64 is fully decoded and its XOR-MAPPED-ADDRESS checked.
 *   - Allocate: `concurrency` sessions, each on its own socket, looping over the exchange a
 *     browser does: Allocate → 401 (REALM, NONCE) → Allocate with long-term credentials →
 *     success (MESSAGE-INTEGRITY and XOR-RELAYED-ADDRESS checked) → Refresh LIFETIME 0 →
 *     success. One completed loop is one allocation; the next one starts on a new socket.
 *
 * Both count what went wrong (timeouts, error codes, bad responses) instead of stopping, and
 * report the generator's own CPU so a saturated generator is visible.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  Attr,
  StunClass,
  StunMethod,
  StunMessageBuilder,
  checkIntegrity,
  decodeErrorCode,
  decodeStun,
  decodeXorAddress,
  getAttribute,
  longTermKey,
  type StunMessage,
} from '../../src/stun/index.js';

export interface Target {
  host: string;
  port: number;
}

export interface LoadWindow {
  /** Completed operations (Binding responses, or full allocation loops) inside the window. */
  done: number;
  seconds: number;
  perS: number;
  /** Requests put on the wire inside the window. */
  requests: number;
  serverCpuS: number;
  /** Server CPU per completed operation, µs. */
  cpuUsPerOp: number;
  serverCpuPct: number;
  /** CPU of processes other than the server and this one (% of one core, all cores): noise. */
  otherPct: number;
  /** Datagrams the server's UDP sockets dropped for a full receive buffer in the window. */
  serverDrops: number;
  loadCpuPct: number;
  errors: Record<string, number>;
}

/** How the server is watched: its CPU ticks, other processes' ticks between two points, its UDP drops. */
export interface Meter {
  serverTicks: () => number;
  othersSince: () => () => number;
  serverDrops: () => number;
  clkTck: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function bindSocket(host: string): Promise<Socket> {
  const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, host, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

/** Resolves once `target` answers a Binding request; rejects after `timeoutMs`. */
export async function waitForStun(target: Target, timeoutMs: number): Promise<void> {
  const s = await bindSocket(target.host);
  try {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const req = new StunMessageBuilder(StunMethod.Binding, StunClass.Request);
      const answered = new Promise<boolean>((resolve) => {
        const t = setTimeout(() => {
          s.off('message', on);
          resolve(false);
        }, 100);
        const on = (buf: Buffer) => {
          const r = decodeStun(buf);
          if (r.ok && r.message.transactionId.equals(req.transactionId)) {
            clearTimeout(t);
            s.off('message', on);
            resolve(true);
          }
        };
        s.on('message', on);
      });
      s.send(req.build(), target.port, target.host);
      if (await answered) return;
    }
    throw new Error(`no STUN Binding response from ${target.host}:${target.port} within ${timeoutMs} ms`);
  } finally {
    s.close();
  }
}

/**
 * Runs `load` for warm-up + measurement: counters and CPU are sampled at the window edges
 * only, so warm-up (JIT, first allocations) and the drain are not in the numbers.
 */
async function measure(
  counters: { done: number; requests: number },
  errors: Record<string, number>,
  meter: Meter,
  warmupS: number,
  seconds: number,
): Promise<LoadWindow> {
  await sleep(warmupS * 1000);
  for (const k of Object.keys(errors)) delete errors[k];
  const d0 = counters.done,
    r0 = counters.requests,
    k0 = meter.serverTicks(),
    others = meter.othersSince(),
    x0 = meter.serverDrops(),
    c0 = process.cpuUsage(),
    t0 = performance.now();
  await sleep(seconds * 1000);
  const d1 = counters.done,
    r1 = counters.requests,
    k1 = meter.serverTicks(),
    o1 = others(),
    x1 = meter.serverDrops(),
    c1 = process.cpuUsage(c0),
    t1 = performance.now();
  const s = (t1 - t0) / 1000;
  const serverCpuS = (k1 - k0) / meter.clkTck;
  return {
    done: d1 - d0,
    seconds: s,
    perS: (d1 - d0) / s,
    requests: r1 - r0,
    serverCpuS,
    cpuUsPerOp: d1 > d0 ? (serverCpuS * 1e6) / (d1 - d0) : NaN,
    serverCpuPct: (100 * serverCpuS) / s,
    otherPct: (100 * o1) / meter.clkTck / s,
    serverDrops: x1 - x0,
    loadCpuPct: (100 * (c1.user + c1.system)) / 1e6 / s,
    errors: { ...errors },
  };
}

function bump(errors: Record<string, number>, key: string): void {
  errors[key] = (errors[key] ?? 0) + 1;
}

// ---- Binding ---------------------------------------------------------------------------------

export interface BindingOptions {
  sockets: number;
  inflight: number;
  warmupS: number;
  seconds: number;
  timeoutMs: number;
}

/**
 * Closed-loop Binding requests. The transaction ID carries (4 random bytes, slot, sequence),
 * so a response is matched to its slot without a map lookup, and a late answer to a request
 * already given up on is recognised as such.
 */
export async function runBindingLoad(target: Target, o: BindingOptions, meter: Meter): Promise<LoadWindow> {
  const sockets = await Promise.all(Array.from({ length: o.sockets }, () => bindSocket(target.host)));
  const errors: Record<string, number> = {};
  const counters = { done: 0, requests: 0 };
  const prefix = randomBytes(4).readUInt32BE(0);
  const slots = Math.max(o.inflight, o.sockets);
  const seq = new Uint32Array(slots);
  const sentAt = new Float64Array(slots).fill(performance.now());
  let running = true;
  let spot = 0;

  const send = (slot: number) => {
    const sock = sockets[slot % sockets.length]!;
    const req = Buffer.alloc(20);
    req.writeUInt16BE(0x0001, 0); // Binding request, no attributes: what an ICE agent sends to a STUN server
    req.writeUInt32BE(0x2112a442, 4);
    req.writeUInt32BE(prefix, 8);
    req.writeUInt32BE(slot, 12);
    req.writeUInt32BE(++seq[slot]!, 16);
    sentAt[slot] = performance.now();
    counters.requests++;
    sock.send(req, target.port, target.host);
  };

  for (const sock of sockets) {
    const local = sock.address();
    sock.on('error', (e) => bump(errors, `socket:${(e as NodeJS.ErrnoException).code ?? e.message}`));
    sock.on('message', (buf: Buffer) => {
      if (buf.length < 20 || buf.readUInt32BE(8) !== prefix) {
        bump(errors, 'not ours');
        return;
      }
      const slot = buf.readUInt32BE(12);
      if (slot >= slots || buf.readUInt32BE(16) !== seq[slot]) {
        bump(errors, 'late');
        return;
      }
      if (buf.readUInt16BE(0) !== 0x0101) {
        bump(errors, `type 0x${buf.readUInt16BE(0).toString(16)}`);
      } else if ((++spot & 63) === 0) {
        const r = decodeStun(buf);
        const xma = r.ok ? getAttribute(r.message, Attr.XorMappedAddress) : undefined;
        const a = xma && r.ok ? decodeXorAddress(xma, r.message.transactionId) : undefined;
        if (!a || a.port !== local.port || a.address !== local.address) bump(errors, 'bad XOR-MAPPED-ADDRESS');
      }
      counters.done++;
      if (running) send(slot);
    });
  }
  // A lost request would freeze its slot: give up on it after timeoutMs and send a new one.
  const sweep = setInterval(
    () => {
      const now = performance.now();
      for (let i = 0; i < slots; i++)
        if (now - sentAt[i]! > o.timeoutMs) {
          bump(errors, 'timeout');
          send(i);
        }
    },
    Math.min(250, o.timeoutMs),
  );
  // Fill the window over ~100 ms: all at once would overflow a server's receive buffer while it
  // is still cold, and those requests would show up as timeouts in the measured window.
  for (let i = 0; i < slots; i++)
    setTimeout(
      () => {
        if (running) send(i);
      },
      (i * 100) / slots,
    );
  try {
    return await measure(counters, errors, meter, o.warmupS, o.seconds);
  } finally {
    running = false;
    clearInterval(sweep);
    await sleep(100);
    for (const s of sockets) s.close();
  }
}

// ---- Allocate --------------------------------------------------------------------------------

export interface AllocateOptions {
  concurrency: number;
  warmupS: number;
  seconds: number;
  timeoutMs: number;
  username: string;
  password: string;
  /**
   * Local address for each new socket. A server keeps a deleted allocation's 5-tuple for a
   * while (coturn ~1 s, answering 437 to a new Allocate from it), and the kernel soon hands
   * out a freed port again, so spreading sockets over many loopback addresses (127.1.0.0/16)
   * keeps every allocation on a new 5-tuple, as distinct clients would be.
   */
  localAddress: () => string;
}

const REQUESTED_TRANSPORT_UDP = Buffer.from([17, 0, 0, 0]);
const LIFETIME_0 = Buffer.alloc(4);

type Step = 'challenge' | 'allocate' | 'release';

/** One client: a socket doing Allocate → 401 → Allocate → 200 → Refresh(0) → 200, again and again. */
class AllocSession {
  private sock!: Socket;
  private step: Step = 'challenge';
  private txid: Buffer = Buffer.alloc(12);
  private realm = '';
  private nonce = Buffer.alloc(0);
  private key: Buffer | undefined;
  private sentAt = 0;
  private running = true;

  constructor(
    private readonly target: Target,
    private readonly o: AllocateOptions,
    private readonly counters: { done: number; requests: number },
    private readonly errors: Record<string, number>,
  ) {}

  async start(): Promise<void> {
    this.sock = await bindSocket(this.o.localAddress());
    if (!this.running) {
      this.close();
      return;
    }
    this.sock.on('message', (b: Buffer) => this.onMessage(b));
    this.sock.on('error', (e) => bump(this.errors, `socket:${(e as NodeJS.ErrnoException).code ?? e.message}`));
    this.send('challenge');
  }

  stop(): void {
    this.running = false;
    this.close();
  }

  private close(): void {
    try {
      this.sock.close();
    } catch {
      /* already closed */
    }
  }

  /** Called by the sweeper: a request unanswered for timeoutMs starts the loop over on a new socket. */
  checkTimeout(now: number): void {
    if (!this.running || now - this.sentAt <= this.o.timeoutMs) return;
    bump(this.errors, `timeout:${this.step}`);
    // The old 5-tuple may still hold an allocation; a fresh socket avoids a 437 mismatch.
    this.close();
    this.sentAt = now;
    this.start().catch((e: unknown) => bump(this.errors, `rebind:${String(e)}`));
  }

  private send(step: Step): void {
    this.step = step;
    const method = step === 'release' ? StunMethod.Refresh : StunMethod.Allocate;
    const b = new StunMessageBuilder(method, StunClass.Request);
    if (step === 'release') b.add(Attr.Lifetime, LIFETIME_0);
    else b.add(Attr.RequestedTransport, REQUESTED_TRANSPORT_UDP);
    if (step !== 'challenge') {
      b.add(Attr.Username, Buffer.from(this.o.username))
        .add(Attr.Realm, Buffer.from(this.realm))
        .add(Attr.Nonce, this.nonce)
        .addIntegrity(this.key!);
    }
    this.txid = b.transactionId;
    this.sentAt = performance.now();
    this.counters.requests++;
    this.sock.send(b.build(), this.target.port, this.target.host);
  }

  /** Counts the failure and starts over on a new socket (after a 437 the old 5-tuple is stuck). */
  private restart(reason: string): void {
    bump(this.errors, reason);
    this.close();
    this.sentAt = performance.now();
    setTimeout(() => {
      if (this.running) this.start().catch((e: unknown) => bump(this.errors, `rebind:${String(e)}`));
    }, 10);
  }

  private onMessage(buf: Buffer): void {
    if (!this.running) return;
    const r = decodeStun(buf);
    if (!r.ok) {
      bump(this.errors, 'undecodable');
      return;
    }
    const m = r.message;
    if (!m.transactionId.equals(this.txid)) {
      bump(this.errors, 'late');
      return;
    }
    if (m.cls === StunClass.Error) {
      this.onError(m);
      return;
    }
    if (m.cls !== StunClass.Success) {
      this.restart(`class ${m.cls}`);
      return;
    }
    if (this.step === 'challenge') {
      this.restart('challenge: success without auth');
      return;
    }
    if (!checkIntegrity(m, this.key!)) {
      this.restart(`${this.step}: bad MESSAGE-INTEGRITY`);
      return;
    }
    if (this.step === 'allocate') {
      if (!getAttribute(m, Attr.XorRelayedAddress)) {
        this.restart('allocate: no XOR-RELAYED-ADDRESS');
        return;
      }
      this.send('release');
    } else {
      this.counters.done++;
      this.close();
      this.start().catch((e: unknown) => bump(this.errors, `rebind:${String(e)}`));
    }
  }

  private onError(m: StunMessage): void {
    const ec = getAttribute(m, Attr.ErrorCode);
    const code = ec ? decodeErrorCode(ec)?.code : undefined;
    const realm = getAttribute(m, Attr.Realm);
    const nonce = getAttribute(m, Attr.Nonce);
    if (code === 401 && this.step === 'challenge' && realm && nonce) {
      const r = realm.toString('utf8');
      if (r !== this.realm || !this.key) {
        this.realm = r;
        this.key = longTermKey(this.o.username, r, this.o.password);
      }
      this.nonce = Buffer.from(nonce);
      this.send('allocate');
    } else if (code === 438 && nonce && this.step !== 'challenge') {
      bump(this.errors, `${this.step}: 438 stale nonce`);
      this.nonce = Buffer.from(nonce);
      this.send(this.step);
    } else {
      this.restart(`${this.step}: ${code ?? 'error without ERROR-CODE'}`);
    }
  }
}

export async function runAllocateLoad(target: Target, o: AllocateOptions, meter: Meter): Promise<LoadWindow> {
  const errors: Record<string, number> = {};
  const counters = { done: 0, requests: 0 };
  const sessions = Array.from({ length: o.concurrency }, () => new AllocSession(target, o, counters, errors));
  await Promise.all(sessions.map((s) => s.start()));
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const s of sessions) s.checkTimeout(now);
  }, 250);
  try {
    return await measure(counters, errors, meter, o.warmupS, o.seconds);
  } finally {
    clearInterval(sweep);
    for (const s of sessions) s.stop();
  }
}
