/**
 * MediaWorkerPool: the media server as signaling sees it (MediaRooms), run in worker processes
 * (media-worker.ts). Worker i — the `workers` media workers first, then the `mcuWorkers` MCU
 * workers (niceness 10) — owns RTC port `rtcPort + i`. Each room lives on one worker, chosen
 * when the room is created by the workers' measured load (see `placementScore`); every call for
 * the room goes to that worker, and what the worker sends a participant comes back as an event
 * and is handed to the participant's session here.
 *
 * A worker that exits unasked (crash, kill -9) is counted and logged, its rooms' members get
 * `media-lost` and are taken out of their rooms (signaling's MediaRoomsHost.evict), and it is
 * started again on its port after a backoff (1 s, doubling to 30 s while it keeps dying within a
 * minute of its start). Nothing else is touched: other rooms keep their workers.
 */
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { SwitchboardError, type McuLayout } from '../../protocol/index.js';
import type { IceCandidate } from '../../rtc/RtcPort.js';
import type { MediaParticipant, MediaRooms, MediaRoomsHost, MediaTopology } from '../../signaling/MediaRooms.js';
import { guarded } from '../../util/guarded.js';
import type { ConfigSection } from '../config.js';
import type { MediaWorkerEvents, MediaWorkerInit, MediaWorkerKind, MediaWorkerMethods, MetricJson, WorkerLoad } from './media-ipc.js';
import { WorkerProcess } from './WorkerProcess.js';

export interface MediaWorkerPoolOptions {
  /** Media workers (SFU rooms, and MCU rooms when there are no MCU workers); at least 1. */
  workers: number;
  /** Workers for MCU rooms only, started at niceness MCU_NICENESS. */
  mcuWorkers: number;
  rtc: ConfigSection<'rtc'>;
  mcu: ConfigSection<'mcu'>;
  logLevel: string;
  logger: Logger;
  /** How often each worker reports its load (default 1000 ms). */
  loadIntervalMs?: number;
  /** First restart delay after a crash (default 1000 ms); doubles up to maxRestartDelayMs. */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
}

/** Niceness of MCU workers: the kernel serves SFU forwarding, TURN and signaling first. */
export const MCU_NICENESS = 10;

/** One worker process slot: its port stays, its process may be replaced. */
export interface WorkerSlot {
  readonly index: number;
  readonly name: string;
  readonly kind: MediaWorkerKind;
  /** The RTC port: rtcPort + index, or the one the first start picked with rtcPort 0. */
  port: number;
  process: WorkerProcess<MediaWorkerMethods, MediaWorkerEvents> | undefined;
  candidates: IceCandidate[];
  load: WorkerLoad;
  /** Rooms placed here (main's view: counted at once, before the worker reports). */
  readonly rooms: Set<string>;
  participants: number;
  startedAt: number;
  restarts: number;
  restartDelayMs: number;
  restartTimer: NodeJS.Timeout | undefined;
}

/** One worker as /healthz shows it. */
export interface WorkerStatus {
  name: string;
  kind: MediaWorkerKind;
  pid: number | null;
  port: number;
  rooms: number;
  participants: number;
  cpu: number;
  up: boolean;
  restarts: number;
}

interface PlacedRoom {
  readonly slot: WorkerSlot;
  readonly topology: MediaTopology;
  readonly members: Map<string, MediaParticipant>;
}

const IDLE_LOAD: WorkerLoad = { cpu: 0, elu: 0, packetsPerSec: 0, rooms: 0, participants: 0 };
/** Packets per second that count as one busy core in the score (an SFU forwards a few tens of thousands per core). */
const PACKETS_PER_CORE = 20_000;
/** Scores closer than this are a tie (measurement noise); the tie goes to fewer participants. */
const SCORE_TIE = 0.05;
/** How long a /metrics scrape waits for a worker's metrics. */
const METRICS_TIMEOUT_MS = 2000;
const MEDIA_WORKER_ENTRY = fileURLToPath(new URL('./media-worker.js', import.meta.url));

/**
 * How busy a worker is, in cores: the larger of its CPU fraction and its event-loop utilisation
 * (a loop near 1 cannot take more work whatever the CPU says), plus its packet rate in cores.
 */
export function placementScore(load: WorkerLoad): number {
  return Math.max(load.cpu, load.elu) + load.packetsPerSec / PACKETS_PER_CORE;
}

export class MediaWorkerPool implements MediaRooms {
  readonly slots: WorkerSlot[] = [];
  private readonly rooms = new Map<string, PlacedRoom>();
  private host: MediaRoomsHost | undefined;
  private closed = false;
  readonly maxMcuRooms: number;
  /** Joins refused because `maxMcuRooms` MCU rooms were running. */
  mcuRoomsRefused = 0;
  /** Worker exits nobody asked for. */
  crashes = 0;
  /** Called when a worker's candidates change (a restart with rtcPort 0 may pick another port). */
  onCandidates: (() => void) | undefined;

  private constructor(private readonly opts: MediaWorkerPoolOptions) {
    this.maxMcuRooms = opts.mcu.maxMcuRooms;
  }

  /** Starts every worker (in parallel); fails, with every started one closed, if one cannot start. */
  static async start(opts: MediaWorkerPoolOptions): Promise<MediaWorkerPool> {
    const pool = new MediaWorkerPool(opts);
    const total = opts.workers + opts.mcuWorkers;
    for (let i = 0; i < total; i++) {
      const kind: MediaWorkerKind = i < opts.workers ? 'media' : 'mcu';
      pool.slots.push({
        index: i,
        name: `${kind}-${i}`,
        kind,
        port: opts.rtc.port === 0 ? 0 : opts.rtc.port + i,
        process: undefined,
        candidates: [],
        load: IDLE_LOAD,
        rooms: new Set(),
        participants: 0,
        startedAt: 0,
        restarts: 0,
        restartDelayMs: opts.restartDelayMs ?? 1000,
        restartTimer: undefined,
      });
    }
    const results = await Promise.allSettled(pool.slots.map((s) => pool.startWorker(s)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await pool.close();
      throw failed.reason;
    }
    return pool;
  }

  /** The first and last RTC port of the workers (as bound). */
  get portRange(): { first: number; last: number } {
    const ports = this.slots.map((s) => s.port);
    return { first: Math.min(...ports), last: Math.max(...ports) };
  }

  /** Every worker's ICE candidates: TURN lets relays reach exactly these. */
  get candidates(): IceCandidate[] {
    return this.slots.flatMap((s) => s.candidates);
  }

  /** The workers, for /healthz. */
  status(): WorkerStatus[] {
    return this.slots.map((s) => ({
      name: s.name,
      kind: s.kind,
      pid: s.process?.pid ?? null,
      port: s.port,
      rooms: s.rooms.size,
      participants: s.participants,
      cpu: Math.round(s.load.cpu * 1000) / 1000,
      up: this.isUp(s),
      restarts: s.restarts,
    }));
  }

  /** The worker a room is placed on (its slot name), if the room exists. */
  workerOf(room: string): WorkerSlot | undefined {
    return this.rooms.get(room)?.slot;
  }

  /** MCU rooms now (placed, whichever worker). */
  get mcuRooms(): number {
    let n = 0;
    for (const r of this.rooms.values()) if (r.topology === 'mcu') n++;
    return n;
  }

  /**
   * Every live worker's metrics, each value labelled with its worker; a worker that does not
   * answer within METRICS_TIMEOUT_MS is left out (a scrape must not hang on a stuck worker).
   */
  async metrics(): Promise<MetricJson[][]> {
    const live = this.slots.filter((s) => this.isUp(s));
    const answers = await Promise.allSettled(
      live.map((s) => withTimeout((s.process as NonNullable<WorkerSlot['process']>).request('metrics', null), METRICS_TIMEOUT_MS)),
    );
    const out: MetricJson[][] = [];
    answers.forEach((a, i) => {
      if (a.status !== 'fulfilled') return;
      const worker = live[i]!.name;
      for (const m of a.value) for (const v of m.values) v.labels = { ...v.labels, worker };
      out.push(a.value);
    });
    return out;
  }

  attachHost(host: MediaRoomsHost): void {
    this.host = host;
  }

  admitRoom(room: string, topology: MediaTopology): void {
    if (topology === 'mcu' && this.mcuRooms >= this.maxMcuRooms) {
      this.mcuRoomsRefused++;
      this.opts.logger.warn({ room, maxMcuRooms: this.maxMcuRooms }, 'MCU room refused: at capacity');
      throw new SwitchboardError(
        'mcu-capacity',
        this.maxMcuRooms === 0
          ? 'this server runs no MCU rooms (maxMcuRooms is 0); use topology "sfu"'
          : `this server already runs its maximum of ${this.maxMcuRooms} MCU rooms; join an existing room, use topology "sfu", or try again later`,
      );
    }
    if (!this.placeFor(topology))
      throw new SwitchboardError('media-lost', 'no media worker is running now (one is being restarted); try again in a few seconds');
  }

  join(room: string, participant: MediaParticipant, topology: MediaTopology = 'sfu'): void {
    let placed = this.rooms.get(room);
    if (!placed) {
      const slot = this.placeFor(topology);
      if (!slot) {
        // admitRoom said yes a moment ago; the worker died in between.
        participant.send({ type: 'error', code: 'media-lost', message: `room "${room}" has no media worker now; join again` });
        return;
      }
      placed = { slot, topology, members: new Map() };
      this.rooms.set(room, placed);
      slot.rooms.add(room);
      this.opts.logger.debug({ room, worker: slot.name, topology, score: placementScore(slot.load) }, 'room placed');
    }
    if (!placed.members.has(participant.info.id)) placed.slot.participants++;
    placed.members.set(participant.info.id, participant);
    this.call(placed, 'join', { room, participant: participant.info, topology }).catch(
      guarded('media-pool.join-failed', (err: unknown) => {
        this.opts.logger.warn({ room, participant: participant.info.id, err: String(err) }, 'media worker refused a join');
      }),
    );
  }

  leave(room: string, participantId: string): void {
    const placed = this.rooms.get(room);
    if (!placed || !placed.members.delete(participantId)) return;
    placed.slot.participants--;
    if (placed.members.size === 0) {
      this.rooms.delete(room);
      placed.slot.rooms.delete(room);
    }
    // The worker closes its side; a worker that is gone has nothing left to close.
    this.call(placed, 'leave', { room, participantId }).catch(() => {});
  }

  publish(room: string, participantId: string, sdp: string): Promise<string> {
    return this.call(this.memberRoom(room, participantId), 'publish', { room, participantId, sdp });
  }

  subscribeAnswer(room: string, participantId: string, revision: number, sdp: string): Promise<void> {
    return this.call(this.memberRoom(room, participantId), 'subscribeAnswer', { room, participantId, revision, sdp });
  }

  videoSize(room: string, participantId: string, trackId: string, width: number, height: number): Promise<void> {
    return this.call(this.memberRoom(room, participantId), 'videoSize', { room, participantId, trackId, width, height });
  }

  videoSource(room: string, participantId: string, source: 'camera' | 'screen'): Promise<void> {
    return this.call(this.memberRoom(room, participantId), 'videoSource', { room, participantId, source });
  }

  layout(room: string, participantId: string, layout: McuLayout): Promise<void> {
    return this.call(this.memberRoom(room, participantId), 'layout', { room, participantId, layout });
  }

  /** Closes every worker (each closes its rooms and its port) and stops restarting them. */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.slots) clearTimeout(s.restartTimer);
    await Promise.all(this.slots.map((s) => (s.process ? s.process.close() : Promise.resolve())));
    this.rooms.clear();
  }

  // ---- placement --------------------------------------------------------------------------

  /**
   * The worker for a new room: MCU rooms on the MCU workers (the media workers when there are
   * none), SFU rooms on the media workers; the lowest placementScore, a tie (within SCORE_TIE)
   * to fewer participants, then fewer rooms, then the lower index. Workers being restarted are
   * skipped; undefined when none is up.
   */
  private placeFor(topology: MediaTopology): WorkerSlot | undefined {
    const kind: MediaWorkerKind = topology === 'mcu' && this.opts.mcuWorkers > 0 ? 'mcu' : 'media';
    let best: WorkerSlot | undefined;
    for (const s of this.slots) {
      if (s.kind !== kind || !this.isUp(s)) continue;
      if (!best) {
        best = s;
        continue;
      }
      const d = placementScore(s.load) - placementScore(best.load);
      if (d < -SCORE_TIE) best = s;
      else if (d <= SCORE_TIE) {
        if (s.participants < best.participants || (s.participants === best.participants && s.rooms.size < best.rooms.size)) best = s;
      }
    }
    return best;
  }

  private isUp(s: WorkerSlot): boolean {
    return s.process !== undefined && !s.process.exited;
  }

  private memberRoom(room: string, participantId: string): PlacedRoom {
    const placed = this.rooms.get(room);
    if (!placed || !placed.members.has(participantId)) throw new SwitchboardError('not-in-room', `not in SFU room "${room}"`);
    return placed;
  }

  private call<K extends keyof MediaWorkerMethods>(
    placed: PlacedRoom,
    method: K,
    params: MediaWorkerMethods[K]['params'],
  ): Promise<MediaWorkerMethods[K]['result']> {
    const p = placed.slot.process;
    if (!p || p.exited) return Promise.reject(new SwitchboardError('media-lost', 'the media worker of this room stopped; join again'));
    return p.request(method, params).catch((err: unknown) => {
      // A worker that died mid-request: the client sees media-lost, as its room's members do.
      if (err instanceof SwitchboardError && err.code === 'unavailable')
        throw new SwitchboardError('media-lost', `the media worker of this room stopped (${err.message}); join again`);
      throw err;
    });
  }

  // ---- worker lifecycle -------------------------------------------------------------------

  private async startWorker(slot: WorkerSlot): Promise<void> {
    const init: MediaWorkerInit = {
      name: slot.name,
      kind: slot.kind,
      hostsMcu: slot.kind === 'mcu' || this.opts.mcuWorkers === 0,
      rtc: {
        port: slot.port,
        ...(this.opts.rtc.host !== undefined ? { host: this.opts.rtc.host } : {}),
        announcedIps: [...this.opts.rtc.announcedIps],
      },
      mcu: this.opts.mcu,
      logLevel: this.opts.logLevel,
      loadIntervalMs: this.opts.loadIntervalMs ?? 1000,
    };
    let started;
    try {
      started = await WorkerProcess.start<MediaWorkerMethods, MediaWorkerEvents>({
        name: slot.name,
        entry: MEDIA_WORKER_ENTRY,
        init,
      });
    } catch (err) {
      const { first, last } = this.configuredRange();
      throw new SwitchboardError(
        'unavailable',
        `media worker ${slot.name} could not start on RTC port ${slot.port || 'any'} ` +
          `(--rtc-port ${this.opts.rtc.port}: the workers use ports ${first}-${last}): ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const { worker, ready } = started;
    // Niceness once it is ready: at 10 from the fork, a busy machine stretched its start (3.9 s
    // against 1.6 s for 2 workers without it, load average 7 on 2 cores).
    if (slot.kind === 'mcu') worker.setNiceness(MCU_NICENESS);
    if (this.closed) {
      await worker.close();
      return;
    }
    slot.process = worker;
    slot.port = ready.udpPort;
    slot.candidates = ready.candidates;
    slot.load = IDLE_LOAD;
    slot.startedAt = Date.now();
    worker.on(
      'event',
      guarded('media-pool.event', (name: keyof MediaWorkerEvents, data: MediaWorkerEvents[keyof MediaWorkerEvents]) =>
        this.onWorkerEvent(slot, name, data),
      ),
    );
    worker.on(
      'exit',
      guarded('media-pool.exit', (code: number | null, signal: NodeJS.Signals | null) => this.onWorkerExit(slot, worker, code, signal)),
    );
    this.onCandidates?.();
  }

  private configuredRange(): { first: number; last: number } {
    const p = this.opts.rtc.port;
    return p === 0 ? { first: 0, last: 0 } : { first: p, last: p + this.slots.length - 1 };
  }

  private onWorkerEvent(slot: WorkerSlot, name: keyof MediaWorkerEvents, data: MediaWorkerEvents[keyof MediaWorkerEvents]): void {
    if (name === 'send') {
      const { room, participantId, msg } = data as MediaWorkerEvents['send'];
      const placed = this.rooms.get(room);
      // Only the room's current worker speaks for it (a message in flight from a dead one is dropped).
      if (placed?.slot === slot) placed.members.get(participantId)?.send(msg);
    } else if (name === 'load') {
      slot.load = data as WorkerLoad;
    }
  }

  private onWorkerExit(
    slot: WorkerSlot,
    worker: WorkerProcess<MediaWorkerMethods, MediaWorkerEvents>,
    code: number | null,
    signal: string | null,
  ): void {
    if (slot.process !== worker) return;
    slot.process = undefined;
    if (this.closed) return;
    this.crashes++;
    const lost = [...slot.rooms];
    this.opts.logger.error(
      { worker: slot.name, pid: worker.pid, code, signal, rooms: lost.length, restartInMs: slot.restartDelayMs },
      'media worker exited; its rooms are lost',
    );
    for (const room of lost) {
      const placed = this.rooms.get(room);
      this.rooms.delete(room);
      if (!placed) continue;
      this.host?.evict(
        room,
        [...placed.members.keys()],
        'media-lost',
        `the media server process of room "${room}" stopped; join the room again to continue`,
      );
    }
    slot.rooms.clear();
    slot.participants = 0;
    slot.load = IDLE_LOAD;
    const delay = slot.restartDelayMs;
    // Dying again soon after a start: wait longer next time (up to the bound); a long life resets it.
    const livedLong = Date.now() - slot.startedAt > 60_000;
    slot.restartDelayMs = livedLong
      ? (this.opts.restartDelayMs ?? 1000)
      : Math.min(slot.restartDelayMs * 2, this.opts.maxRestartDelayMs ?? 30_000);
    this.scheduleRestart(slot, delay);
  }

  private scheduleRestart(slot: WorkerSlot, delayMs: number): void {
    slot.restartTimer = setTimeout(
      guarded('media-pool.restart', () => {
        if (this.closed) return;
        this.startWorker(slot).then(
          () => {
            slot.restarts++;
            this.opts.logger.info({ worker: slot.name, pid: slot.process?.pid, port: slot.port }, 'media worker restarted');
          },
          (err: unknown) => {
            this.opts.logger.error({ worker: slot.name, err: String(err) }, 'media worker restart failed; trying again');
            const next = slot.restartDelayMs;
            slot.restartDelayMs = Math.min(next * 2, this.opts.maxRestartDelayMs ?? 30_000);
            this.scheduleRestart(slot, next);
          },
        );
      }),
      delayMs,
    );
  }
}

/** `p`, or a rejection after `ms`. */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      guarded('media-pool.metrics-timeout', () => reject(new SwitchboardError('unavailable', `no answer within ${ms} ms`))),
      ms,
    );
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
