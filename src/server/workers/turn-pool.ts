/**
 * TurnWorkerPool: the TURN server as N worker processes (turn-worker.ts), one per core by
 * default (config `turnWorkers`). Worker i listens on `turnPort` + i (UDP and TCP) and
 * `turnTlsPort` + i (TLS), relays from slice i of the relay port range, and holds its share of
 * the total allocation quota. Each client is handed the URLs of one worker, picked by a hash of
 * its identity (`endpointFor`), so that an identity's allocations all count against one
 * worker's per-identity quota (see docs/ARCHITECTURE.md, "TURN workers").
 *
 * A worker that dies is counted, logged and started again on the same ports after a bounded
 * backoff; the others and the main process go on. /metrics reads the counters each worker
 * pushes every `snapshotMs`: a scrape never waits on a worker.
 */
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { SwitchboardError } from '../../protocol/errors.js';
import { splitRange, type PortRange } from '../../turn/allocations/port-range.js';
import type { TurnSnapshot } from '../../turn/counters.js';
import { guarded } from '../../util/guarded.js';
import type { TurnEndpoint, TurnServerSettings } from '../turn.js';
import type { OwnEndpoint, TurnWorkerEvents, TurnWorkerInit, TurnWorkerMethods } from './turn-ipc.js';
import { WorkerProcess } from './WorkerProcess.js';

const ENTRY = fileURLToPath(new URL('./turn-worker.js', import.meta.url));

export interface TurnWorkerPoolOptions {
  /** How many workers (≥ 1). */
  count: number;
  /** The whole server's settings: base ports, the whole relay range, the total quota. */
  settings: TurnServerSettings;
  logLevel: string;
  logger: Logger;
  /** How often each worker pushes its counters; default 1000 ms. */
  snapshotMs?: number;
  /** Restart backoff: the first delay, doubled per failure in a row up to `restartMaxMs`; defaults 100 ms, 5 s. */
  restartMinMs?: number;
  restartMaxMs?: number;
}

/** What /healthz shows of one worker. */
export interface TurnWorkerStatus {
  worker: number;
  up: boolean;
  pid: number | undefined;
  port: number;
  tlsPort: number;
  relayPorts: PortRange;
  restarts: number;
}

type TurnWorker = WorkerProcess<TurnWorkerMethods, TurnWorkerEvents>;

/** Own endpoints (the SFU's RTC ports: a few per media worker and address) a pool keeps. */
const MAX_OWN_ENDPOINTS = 4096;

/** A worker that ran this long before dying starts its backoff afresh. */
const STABLE_MS = 30_000;

/** One worker's place: its ports and slice stay, the process behind it may be replaced. */
class TurnWorkerSlot implements TurnEndpoint {
  process: TurnWorker | undefined;
  port: number;
  tlsPort: number;
  addresses: readonly string[] = [];
  restarts = 0;
  /** Failures (deaths or failed starts) in a row: the backoff's exponent. */
  failures = 0;
  startedAt = 0;
  turn: TurnSnapshot | undefined;
  entryFaults: ReadonlyArray<[string, number]> = [];
  restartTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly index: number,
    readonly settings: TurnServerSettings,
  ) {
    this.port = settings.port;
    this.tlsPort = settings.tls?.port ?? 0;
  }

  get up(): boolean {
    return this.process !== undefined && !this.process.exited;
  }
}

/** FNV-1a (32 bits): a stable, cheap spread of identities over workers. */
export function identityHash(identity: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < identity.length; i++) {
    h ^= identity.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** `total` split into `n` shares that add up to it (each at least 1). */
function share(total: number, n: number, i: number): number {
  return Math.max(1, Math.floor(total / n) + (i < total % n ? 1 : 0));
}

export class TurnWorkerPool {
  private readonly slots: TurnWorkerSlot[];
  private readonly own: OwnEndpoint[] = [];
  private closing = false;
  private readonly snapshotMs: number;

  private constructor(private readonly opts: TurnWorkerPoolOptions) {
    const { count, settings } = opts;
    this.snapshotMs = opts.snapshotMs ?? 1000;
    const slices = splitRange(settings.relayPorts, count);
    this.slots = slices.map((relayPorts, i) => {
      const port = (base: number): number => (base === 0 ? 0 : base + i);
      return new TurnWorkerSlot(i, {
        ...settings,
        port: port(settings.port),
        ...(settings.tls ? { tls: { ...settings.tls, port: port(settings.tls.port) } } : {}),
        relayPorts,
        siblingRelayPorts: slices.filter((_, j) => j !== i),
        // The total is divided, so all workers together hold at most what one server would;
        // per identity and per IP each worker enforces the whole quota (docs/ARCHITECTURE.md).
        maxAllocations: share(settings.maxAllocations, count, i),
      });
    });
  }

  /** Starts every worker; on any failure the others are closed and the error names the flags and ports. */
  static async start(opts: TurnWorkerPoolOptions): Promise<TurnWorkerPool> {
    if (!Number.isInteger(opts.count) || opts.count < 1)
      throw new SwitchboardError('invalid-argument', 'TurnWorkerPool: count must be ≥ 1');
    const pool = new TurnWorkerPool(opts);
    const started = await Promise.allSettled(pool.slots.map((slot) => pool.startSlot(slot)));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await pool.close();
      throw pool.bindError(failed.reason);
    }
    return pool;
  }

  get count(): number {
    return this.slots.length;
  }

  /** The worker a client with this identity is handed: its hash's worker, or the next one up while that one restarts. */
  endpointFor(identity: string): TurnEndpoint {
    const n = this.slots.length;
    const first = identityHash(identity) % n;
    for (let k = 0; k < n; k++) {
      const slot = this.slots[(first + k) % n]!;
      if (slot.up) return slot;
    }
    return this.slots[first]!;
  }

  /** Worker i's ports and addresses. */
  endpoint(index: number): TurnEndpoint | undefined {
    return this.slots[index];
  }

  /**
   * Adds endpoints of this host that relays may reach (the SFU's RTC ports, also those of media
   * workers as they start): sent to every live worker, and to every worker (re)started later.
   */
  async allowOwnEndpoints(endpoints: readonly OwnEndpoint[]): Promise<void> {
    const fresh = endpoints.filter((e) => !this.own.some((o) => o.ip === e.ip && o.port === e.port));
    if (fresh.length === 0) return;
    // Every worker holds the list and gets it whole at each (re)start: bounded.
    if (this.own.length + fresh.length > MAX_OWN_ENDPOINTS)
      throw new SwitchboardError('invalid-argument', `at most ${MAX_OWN_ENDPOINTS} own endpoints may be opened to TURN relays`);
    this.own.push(...fresh.map((e) => ({ ip: e.ip, port: e.port })));
    // A worker that is down gets them in its init when it comes back.
    await Promise.all(
      this.slots.flatMap((slot) =>
        slot.up && slot.process ? [slot.process.request('allowOwnEndpoints', { endpoints: fresh }).catch(() => null)] : [],
      ),
    );
  }

  /** Each worker's last pushed counters (a dead worker's live gauges read 0), for /metrics. */
  snapshots(): Array<{ worker: string; snapshot: TurnSnapshot }> {
    const out: Array<{ worker: string; snapshot: TurnSnapshot }> = [];
    for (const slot of this.slots) {
      if (!slot.turn) continue;
      const snapshot = slot.up ? slot.turn : { ...slot.turn, allocationsByTransport: { udp: 0, tcp: 0, tls: 0 }, heldReservations: 0 };
      out.push({ worker: String(slot.index), snapshot });
    }
    return out;
  }

  /** Entry faults counted inside each worker (guarded.ts), by entry point. */
  entryFaults(): Array<{ worker: string; where: string; count: number }> {
    return this.slots.flatMap((slot) => slot.entryFaults.map(([where, count]) => ({ worker: String(slot.index), where, count })));
  }

  status(): TurnWorkerStatus[] {
    return this.slots.map((slot) => ({
      worker: slot.index,
      up: slot.up,
      pid: slot.up ? slot.process?.pid : undefined,
      port: slot.port,
      tlsPort: slot.tlsPort,
      relayPorts: slot.settings.relayPorts,
      restarts: slot.restarts,
    }));
  }

  /** The worker process of slot i (tests: its pid, to kill it). */
  processOf(index: number): TurnWorker | undefined {
    return this.slots[index]?.process;
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const slot of this.slots) clearTimeout(slot.restartTimer);
    await Promise.all(this.slots.flatMap((slot) => (slot.process ? [slot.process.close()] : [])));
  }

  private async startSlot(slot: TurnWorkerSlot): Promise<void> {
    // After the first start, a restart takes the ports the worker had (they were 0 only the first time).
    const settings: TurnServerSettings = {
      ...slot.settings,
      port: slot.port,
      ...(slot.settings.tls ? { tls: { ...slot.settings.tls, port: slot.tlsPort } } : {}),
    };
    const init: TurnWorkerInit = {
      index: slot.index,
      settings,
      ownEndpoints: this.own,
      logLevel: this.opts.logLevel,
      snapshotMs: this.snapshotMs,
    };
    const { worker, ready } = await WorkerProcess.start<TurnWorkerMethods, TurnWorkerEvents>({
      name: `turn-${slot.index}`,
      entry: ENTRY,
      init,
      startTimeoutMs: 15_000,
      requestTimeoutMs: 5_000,
      maxPendingRequests: 1_000,
    });
    if (this.closing) {
      await worker.close();
      return;
    }
    slot.process = worker;
    slot.port = ready.port;
    slot.tlsPort = ready.tlsPort;
    slot.addresses = ready.addresses;
    slot.startedAt = Date.now();
    worker.on(
      'event',
      guarded('turn-pool.event', (name: keyof TurnWorkerEvents, data: unknown) => {
        if (name !== 'snapshot') return;
        const snap = data as TurnWorkerEvents['snapshot'];
        slot.turn = snap.turn;
        slot.entryFaults = snap.entryFaults;
      }),
    );
    worker.on(
      'exit',
      guarded('turn-pool.exit', (code: number | null, signal: NodeJS.Signals | null) => this.onExit(slot, worker, code, signal)),
    );
  }

  private onExit(slot: TurnWorkerSlot, worker: TurnWorker, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.closing || slot.process !== worker) return;
    slot.restarts++;
    if (Date.now() - slot.startedAt > STABLE_MS) slot.failures = 0;
    this.opts.logger.error(
      { turnWorker: slot.index, pid: worker.pid, code, signal, restarts: slot.restarts },
      'TURN worker exited; its allocations are gone, restarting it on its ports',
    );
    this.scheduleRestart(slot);
  }

  private scheduleRestart(slot: TurnWorkerSlot): void {
    const min = this.opts.restartMinMs ?? 100;
    const delay = Math.min(this.opts.restartMaxMs ?? 5_000, min * 2 ** Math.min(slot.failures, 16));
    slot.failures++;
    slot.restartTimer = setTimeout(
      guarded('turn-pool.restart', () => {
        if (this.closing) return;
        this.startSlot(slot).catch((err: unknown) => {
          this.opts.logger.error({ turnWorker: slot.index, err, retryInMs: delay }, 'TURN worker could not be restarted');
          this.scheduleRestart(slot);
        });
      }),
      delay,
    );
  }

  private bindError(reason: unknown): SwitchboardError {
    const s = this.opts.settings;
    const n = this.slots.length;
    const range = (base: number): string => (base === 0 ? 'free ports' : n === 1 ? `port ${base}` : `ports ${base}-${base + n - 1}`);
    const tls = s.tls ? ` and TLS on ${range(s.tls.port)} (--turn-tls-port)` : '';
    const why = reason instanceof Error ? reason.message : String(reason);
    return new SwitchboardError(
      'unavailable',
      `TURN workers could not start (${why}): ${n} TURN workers listen on UDP/TCP ${range(s.port)} (--turn-port)${tls}, ` +
        `relaying from ports ${s.relayPorts.min}-${s.relayPorts.max} (--turn-relay-port-min/--turn-relay-port-max); ` +
        'set those, --turn-workers, or --turn-enabled false',
    );
  }
}
