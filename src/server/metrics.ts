/** Prometheus metrics for one server instance (its own registry, so tests can run several). */
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SignalingObserver, SignalingStats } from '../signaling/SignalingObserver.js';
import type { TurnSnapshot } from '../turn/counters.js';
import type { TurnWorkerPool } from './workers/turn-pool.js';
import type { WebRtcServer } from '../rtc/WebRtcServer.js';
import type { SfuRoom } from '../session/SfuRoom.js';
import type { SfuParticipant } from '../session/SfuParticipant.js';
import type { SfuRooms } from './sfu.js';
import type { MediaWorkerPool } from './workers/MediaWorkerPool.js';
import { entryFaults } from '../util/guarded.js';

export interface Metrics {
  registry: Registry;
  observer: SignalingObserver;
  httpRequests: Counter<'route' | 'status'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'switchboard_process_' });
  const messages = new Counter({
    name: 'switchboard_messages_total',
    help: 'Valid signaling messages received, by type',
    labelNames: ['type'],
    registers: [registry],
  });
  const relayed = new Counter({
    name: 'switchboard_relayed_total',
    help: 'Messages relayed to a peer, by type',
    labelNames: ['type'],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'switchboard_errors_total',
    help: 'Errors answered or inputs dropped, by code',
    labelNames: ['code'],
    registers: [registry],
  });
  const callsEnded = new Counter({
    name: 'switchboard_calls_ended_total',
    help: '1:1 calls ended, by reason',
    labelNames: ['reason'],
    registers: [registry],
  });
  const callsRefused = new Counter({
    name: 'switchboard_calls_refused_total',
    help: 'Call attempts refused, by code (rate-limited: over the per-caller or per-callee limit)',
    labelNames: ['code'],
    registers: [registry],
  });
  const serverCloses = new Counter({
    name: 'switchboard_signaling_server_closes_total',
    labelNames: ['reason'],
    registers: [registry],
    help: 'Signaling connections closed by the server, by reason (slow-reader: over maxOutboundBufferBytes; hello-timeout: no hello within helloTimeoutMs; fault: an exception of ours)',
  });
  const upgradesRefused = new Counter({
    name: 'switchboard_signaling_upgrades_refused_total',
    help: 'WebSocket upgrades refused, by reason (per-ip-limit: maxConnectionsPerIp reached, answered 429)',
    labelNames: ['reason'],
    registers: [registry],
  });
  const resumeQueueDropped = new Counter({
    name: 'switchboard_signaling_resume_queue_dropped_total',
    help: "Frames dropped from a disconnected session's resume queue (256 frames or maxOutboundBufferBytes)",
    registers: [registry],
  });
  const httpRequests = new Counter({
    name: 'switchboard_http_requests_total',
    help: 'HTTP requests, by route and status',
    labelNames: ['route', 'status'],
    registers: [registry],
  });
  new Gauge({
    name: 'switchboard_entry_faults_total',
    help: 'Exceptions caught at a network or timer entry point (the input was dropped), by entry point',
    labelNames: ['where'],
    registers: [registry],
    collect() {
      for (const [where, n] of entryFaults.byEntryPoint()) this.set({ where }, n);
    },
  });
  return {
    registry,
    httpRequests,
    observer: {
      messageIn: (type) => messages.inc({ type }),
      relayed: (type) => relayed.inc({ type }),
      error: (code) => errors.inc({ code }),
      callEnded: (reason) => callsEnded.inc({ reason }),
      callRefused: (code) => callsRefused.inc({ code }),
      connectionClosed: (reason) => serverCloses.inc({ reason }),
      upgradeRefused: (reason) => upgradesRefused.inc({ reason }),
      resumeQueueDropped: () => resumeQueueDropped.inc(),
    },
  };
}

/** Gauges read the signaling state when scraped, not on every change. */
export function registerSignalingGauges(metrics: Metrics, stats: () => SignalingStats): void {
  const gauge = (name: string, help: string, pick: (s: SignalingStats) => number): void => {
    new Gauge({
      name,
      help,
      registers: [metrics.registry],
      collect() {
        this.set(pick(stats()));
      },
    });
  };
  gauge('switchboard_rooms', 'Rooms with at least one participant', (s) => s.rooms);
  gauge('switchboard_participants', 'Participants in rooms', (s) => s.participants);
  gauge('switchboard_sessions', 'Identified sessions, including those waiting for resume', (s) => s.sessions);
  gauge('switchboard_connections', 'Open signaling WebSockets', (s) => s.connections);
  gauge('switchboard_calls', 'Ringing or active 1:1 calls', (s) => s.calls);
  gauge(
    'switchboard_signaling_outbound_buffered_bytes',
    'Bytes held for signaling connections that read slower than they are written to (each at most maxOutboundBufferBytes + one frame)',
    (s) => s.outboundBufferedBytes,
  );
}

/** Where the TURN counters come from: the in-process server (worker "main") or each TURN worker's last snapshot. */
export type TurnSnapshots = () => ReadonlyArray<{ worker: string; snapshot: TurnSnapshot }>;

/**
 * TURN counters, read when scraped, labelled by `worker`: the relay's per-packet path only bumps
 * plain numbers (in a TURN worker, pushed to the main process every second). Counters that only
 * grow are exposed as gauges of their running total (Prometheus `_total` names), since
 * prom-client counters cannot be set; a restarted worker's totals start again at 0, which
 * Prometheus reads as a counter reset.
 */
export function registerTurnGauges(metrics: Metrics, snapshots: TurnSnapshots): void {
  const gauge = (name: string, help: string, read: (s: TurnSnapshot) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['worker'],
      registers: [metrics.registry],
      collect() {
        for (const { worker, snapshot } of snapshots()) this.set({ worker }, read(snapshot));
      },
    });
  };
  /** A gauge with a second label whose values `read` lists. */
  const labelled = (name: string, help: string, label: string, read: (s: TurnSnapshot) => Array<[string, number]>): void => {
    new Gauge({
      name,
      help,
      labelNames: ['worker', label],
      registers: [metrics.registry],
      collect() {
        for (const { worker, snapshot } of snapshots()) for (const [value, n] of read(snapshot)) this.set({ worker, [label]: value }, n);
      },
    });
  };
  labelled('switchboard_turn_allocations', 'Live TURN allocations, by client transport', 'transport', (s) =>
    Object.entries(s.allocationsByTransport),
  );
  gauge('switchboard_turn_allocations_created_total', 'TURN allocations created', (s) => s.counters.allocationsCreated);
  gauge('switchboard_turn_binding_requests_total', 'STUN Binding requests answered', (s) => s.counters.bindingRequests);
  gauge(
    'switchboard_turn_dropped_total',
    'Relay packets dropped (no permission or channel, over the bandwidth cap)',
    (s) => s.counters.dropped,
  );
  gauge(
    'switchboard_turn_malformed_total',
    'Inputs that were not valid STUN/ChannelData (or came from port 0, or a reset connection)',
    (s) => s.counters.malformed,
  );
  gauge(
    'switchboard_turn_send_failures_total',
    'UDP sends Node refused (closed socket, bad port): the packet was lost',
    (s) => s.counters.sendFailures,
  );
  gauge(
    'switchboard_turn_streams_timed_out_total',
    'TCP/TLS connections closed at their allocate deadline',
    (s) => s.counters.streamsTimedOut,
  );
  gauge('switchboard_turn_reservations', 'Relay ports held for RESERVATION-TOKENs', (s) => s.heldReservations);
  labelled(
    'switchboard_turn_slow_reader_total',
    'TCP/TLS clients over their unread-bytes cap: media dropped, connections closed',
    'action',
    (s) => [
      ['media_dropped', s.counters.slowReaderDrops],
      ['connection_closed', s.counters.slowReaderCloses],
    ],
  );
  labelled('switchboard_turn_relayed_packets_total', 'Packets relayed, by direction', 'direction', (s) => [
    ['to_peer', s.counters.toPeerPackets],
    ['to_client', s.counters.toClientPackets],
  ]);
  labelled('switchboard_turn_relayed_bytes_total', 'Payload bytes relayed, by direction', 'direction', (s) => [
    ['to_peer', s.counters.toPeerBytes],
    ['to_client', s.counters.toClientBytes],
  ]);
  labelled('switchboard_turn_error_responses_total', 'TURN error responses, by code', 'code', (s) => Object.entries(s.counters.errors));
}

/** TURN worker processes: up or not, restarts, and the entry faults counted inside them. */
export function registerTurnWorkerGauges(metrics: Metrics, pool: TurnWorkerPool): void {
  new Gauge({
    name: 'switchboard_turn_worker_up',
    help: 'Whether a TURN worker process is running (0 while it is being restarted)',
    labelNames: ['worker'],
    registers: [metrics.registry],
    collect() {
      for (const w of pool.status()) this.set({ worker: String(w.worker) }, w.up ? 1 : 0);
    },
  });
  new Gauge({
    name: 'switchboard_turn_worker_restarts_total',
    help: 'TURN worker processes that exited unasked and were restarted',
    labelNames: ['worker'],
    registers: [metrics.registry],
    collect() {
      for (const w of pool.status()) this.set({ worker: String(w.worker) }, w.restarts);
    },
  });
  new Gauge({
    name: 'switchboard_turn_worker_entry_faults_total',
    help: 'Exceptions caught at an entry point inside a TURN worker (the input was dropped), by worker and entry point',
    labelNames: ['worker', 'where'],
    registers: [metrics.registry],
    collect() {
      for (const f of pool.entryFaults()) this.set({ worker: f.worker, where: f.where }, f.count);
    },
  });
}

/** SFU: rooms, participants, tracks and the RTC port's counters (read at scrape time). */
export function registerSfuGauges(metrics: Pick<Metrics, 'registry'>, rtc: WebRtcServer, sfu: SfuRooms): void {
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers: [metrics.registry],
      collect() {
        this.set(read());
      },
    });
  };
  const count = (pick: (r: SfuRoom) => number): number => {
    let n = 0;
    for (const r of sfu.rooms.values()) n += pick(r);
    return n;
  };
  gauge('switchboard_sfu_rooms', 'SFU rooms with at least one participant', () => sfu.rooms.size);
  gauge('switchboard_sfu_participants', 'Participants in SFU rooms', () => count((r) => r.participants.size));
  gauge('switchboard_sfu_producers', 'Tracks received by the SFU', () => count((r) => r.producers.length));
  gauge('switchboard_sfu_consumers', 'Tracks sent by the SFU', () =>
    count((r) => r.producers.reduce((n, p) => n + r.router.consumersOf(p).size, 0)),
  );
  gauge('switchboard_rtc_transports', 'Live WebRTC transports on the RTC port', () => rtc.transportCount);
  gauge('switchboard_sfu_data_messages_relayed_total', 'Data-channel messages relayed by live SFU rooms', () =>
    count((r) => r.data.relayed),
  );
  gauge(
    'switchboard_sfu_data_messages_dropped_total',
    'Data-channel messages dropped (receiver too slow or not connected) by live SFU rooms',
    () => count((r) => r.data.dropped),
  );
  const s = rtc.port.stats;
  new Gauge({
    name: 'switchboard_rtc_port_dropped_total',
    help: 'Packets dropped at the RTC port, by reason',
    labelNames: ['reason'],
    registers: [metrics.registry],
    collect() {
      this.set({ reason: 'unknown_ufrag' }, s.unknownUfrag);
      this.set({ reason: 'unknown_tuple' }, s.unknownTuple);
      this.set({ reason: 'malformed' }, s.malformed);
      this.set({ reason: 'check_rejected' }, s.checksRejected);
      this.set({ reason: 'send_queue_full' }, s.sendQueueFull);
    },
  });
  new Gauge({
    name: 'switchboard_rtc_port_tcp_closed_total',
    help: 'ICE-TCP connections the RTC port closed, by reason',
    labelNames: ['reason'],
    registers: [metrics.registry],
    collect() {
      this.set({ reason: 'garbage' }, s.tcpClosedGarbage);
      this.set({ reason: 'unbound' }, s.tcpClosedUnbound);
      this.set({ reason: 'slow_reader' }, s.tcpClosedSlow);
    },
  });
  // Bandwidth estimation (src/sfu/bwe/): one observation per subscriber, taken at scrape time.
  const subscribers = function* (): Generator<SfuParticipant> {
    for (const r of sfu.rooms.values()) yield* r.participants.values();
  };
  new Histogram({
    name: 'switchboard_sfu_subscriber_estimate_bps',
    help: 'Send-side bandwidth estimate toward each SFU subscriber (bit/s), at scrape time',
    buckets: [50e3, 100e3, 200e3, 300e3, 500e3, 1e6, 1.5e6, 2.5e6, 5e6, 10e6, 20e6],
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const p of subscribers()) this.observe(p.subscribe.estimateBps);
    },
  });
  gauge('switchboard_sfu_transport_feedbacks_total', 'transport-cc feedback packets received from subscribers of live SFU rooms', () => {
    let n = 0;
    for (const p of subscribers()) n += p.subscribe.bwe.counters.feedbacks;
    return n;
  });
  gauge(
    'switchboard_sfu_rtx_held_back_total',
    "Retransmissions not sent because they would exceed the subscriber's estimate, in live SFU rooms",
    () => {
      let n = 0;
      for (const p of subscribers()) n += p.subscribe.rtxBudget.dropped;
      return n;
    },
  );
  // MCU rooms: how many, and what they encode now (only for members whose connection is up).
  gauge('switchboard_mcu_rooms', 'MCU rooms with at least one participant', () => sfu.mixers.size);
  gauge('switchboard_mcu_rooms_max', 'MCU rooms allowed at once (maxMcuRooms); -1 when unlimited', () =>
    Number.isFinite(sfu.maxMcuRooms) ? sfu.maxMcuRooms : -1,
  );
  gauge(
    'switchboard_mcu_compositions_encoded',
    'MCU compositions being composed and encoded now (at least one viewer connected)',
    () => sfu.mcuStats.compositionsEncoded,
  );
  gauge('switchboard_mcu_mixes_encoded', 'MCU audio mixes being encoded now (one per connected listener)', () => sfu.mcuStats.mixesEncoded);
  gauge('switchboard_mcu_rooms_refused_total', 'Joins refused with mcu-capacity (maxMcuRooms reached)', () => sfu.mcuRoomsRefused);
  gauge(
    'switchboard_mcu_layout_changes_dropped_total',
    'mcu-layout changes dropped over the per-participant rate limit',
    () => sfu.layoutLimit.dropped,
  );
  gauge(
    'switchboard_mcu_video_encoders_opened_total',
    'libvpx encoders opened by MCU compositions',
    () => sfu.mcuStats.counters.videoEncodersOpened,
  );
  gauge(
    'switchboard_mcu_video_frames_encoded_total',
    'Composite video frames encoded by MCU rooms (all tiers)',
    () => sfu.mcuStats.counters.videoFramesEncoded,
  );
  gauge(
    'switchboard_mcu_video_frames_decoded_total',
    "Participants' video frames decoded by MCU rooms",
    () => sfu.mcuStats.counters.videoFramesDecoded,
  );
  gauge(
    'switchboard_mcu_audio_frames_encoded_total',
    'Opus frames encoded by MCU rooms (one per connected listener per 20 ms)',
    () => sfu.mcuStats.counters.audioFramesEncoded,
  );
  gauge('switchboard_rtc_port_udp_datagrams_total', 'UDP datagrams received on the RTC port', () => s.udpDatagrams);
  gauge('switchboard_rtc_port_tcp_frames_total', 'ICE-TCP frames received on the RTC port', () => s.tcpFrames);
}

/**
 * Media workers (config workers > 0): per worker its CPU, restarts and whether it is up, and the
 * MCU admission the main process keeps (maxMcuRooms holds across workers). The SFU/MCU gauges
 * themselves come from the workers: `workerMetricsText`.
 */
export function registerWorkerGauges(metrics: Metrics, pool: MediaWorkerPool): void {
  const perWorker = (name: string, help: string, read: (s: MediaWorkerPool['slots'][number]) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['worker', 'kind'],
      registers: [metrics.registry],
      collect() {
        for (const s of pool.slots) this.set({ worker: s.name, kind: s.kind }, read(s));
      },
    });
  };
  perWorker('switchboard_worker_cpu_ratio', 'Worker process CPU over its last load interval (1 = one core)', (s) => s.load.cpu);
  perWorker('switchboard_worker_event_loop_utilization', 'Worker event-loop utilisation over its last load interval', (s) => s.load.elu);
  perWorker('switchboard_worker_restarts_total', 'Worker processes started again after they exited unasked', (s) => s.restarts);
  perWorker('switchboard_worker_up', 'Whether the worker process is running (1) or being restarted (0)', (s) =>
    s.process && !s.process.exited ? 1 : 0,
  );
  perWorker('switchboard_worker_rooms', 'Rooms placed on the worker', (s) => s.rooms.size);
  new Gauge({
    name: 'switchboard_mcu_rooms_max',
    help: 'MCU rooms allowed at once (maxMcuRooms); -1 when unlimited',
    registers: [metrics.registry],
    collect() {
      this.set(Number.isFinite(pool.maxMcuRooms) ? pool.maxMcuRooms : -1);
    },
  });
  new Gauge({
    name: 'switchboard_mcu_rooms_refused_total',
    help: 'Joins refused with mcu-capacity (maxMcuRooms reached)',
    registers: [metrics.registry],
    collect() {
      this.set(pool.mcuRoomsRefused);
    },
  });
}

/** The workers' own metrics (same names as in-process, one `worker` label each) as Prometheus text. */
export async function workerMetricsText(pool: MediaWorkerPool): Promise<string> {
  const perWorker = await pool.metrics();
  if (perWorker.length === 0) return '';
  // Each value carries its worker label, so aggregation keeps every worker's series apart.
  return AggregatorRegistry.aggregate(perWorker).metrics();
}
