/**
 * The media worker's IPC contract (media-worker.ts ↔ MediaWorkerPool.ts): the MediaRooms calls
 * as requests, and what the worker tells the main process as events.
 */
import type { McuLayout, MediaTopology, ParticipantInfo, ServerMessage } from '../../protocol/index.js';
import type { IceCandidate } from '../../rtc/RtcPort.js';
import type { ConfigSection } from '../config.js';

export type MediaWorkerKind = 'media' | 'mcu';

/** What the main process hands a media worker at start. */
export interface MediaWorkerInit {
  /** "media-0", "mcu-2": the `worker` field of its logs and label of its metrics. */
  name: string;
  kind: MediaWorkerKind;
  /** MCU rooms may be placed here (an MCU worker, or a media worker when there are no MCU workers): load the MCU. */
  hostsMcu: boolean;
  rtc: { port: number; host?: string; announcedIps: string[] };
  mcu: ConfigSection<'mcu'>;
  logLevel: string;
  /** How often the worker sends `load`. */
  loadIntervalMs: number;
}

/** One metric of the worker's registry as prom-client's getMetricsAsJSON gives it. */
export interface MetricJson {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}

export interface MediaWorkerMethods {
  join: { params: { room: string; participant: ParticipantInfo; topology: MediaTopology }; result: void };
  leave: { params: { room: string; participantId: string }; result: void };
  publish: { params: { room: string; participantId: string; sdp: string }; result: string };
  subscribeAnswer: { params: { room: string; participantId: string; revision: number; sdp: string }; result: void };
  videoSize: { params: { room: string; participantId: string; trackId: string; width: number; height: number }; result: void };
  videoSource: { params: { room: string; participantId: string; source: 'camera' | 'screen' }; result: void };
  layout: { params: { room: string; participantId: string; layout: McuLayout }; result: void };
  /** The worker's metrics (SFU/MCU gauges, its entry faults) for /metrics. */
  metrics: { params: null; result: MetricJson[] };
}

/** A worker's load over its last interval: what placement reads (MediaWorkerPool, "Placement"). */
export interface WorkerLoad {
  /** CPU time (user + system) over wall time, of one core: 1 = a core busy. */
  cpu: number;
  /** Event-loop utilisation, 0..1. */
  elu: number;
  /** Packets routed in at the RTC port per second. */
  packetsPerSec: number;
  rooms: number;
  participants: number;
}

export interface MediaWorkerEvents {
  ready: { pid: number; udpPort: number; tcpPort: number; candidates: IceCandidate[] };
  /** A message for a participant's page (`participant.send` in the worker). */
  send: { room: string; participantId: string; msg: ServerMessage };
  load: WorkerLoad;
}
