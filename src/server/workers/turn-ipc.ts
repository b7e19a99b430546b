/**
 * What the main process and a TURN worker process (turn-worker.ts) say to each other over IPC
 * (ipc.ts envelopes). Everything here is plain data.
 */
import type { TurnSnapshot } from '../../turn/counters.js';
import type { TurnServerSettings } from '../turn.js';

export interface OwnEndpoint {
  ip: string;
  port: number;
}

export interface TurnWorkerInit {
  /** 0-based: the worker's ports are the base ports + index, its relay ports a slice of the range. */
  index: number;
  /** TurnServer options (ports, relay slice, siblings' slices, quotas, secret, certificates). */
  settings: TurnServerSettings;
  /** Endpoints of this host a relay may reach (the SFU's RTC ports), known so far. */
  ownEndpoints: OwnEndpoint[];
  logLevel: string;
  /** How often the worker sends its `snapshot` event. */
  snapshotMs: number;
}

export interface TurnWorkerMethods {
  /** Adds endpoints of this host that relays may reach (TurnServer.allowOwnEndpoints). */
  allowOwnEndpoints: { params: { endpoints: OwnEndpoint[] }; result: null };
  /** The counters now (tests; /metrics uses the pushed snapshots, never waits on a worker). */
  snapshot: { params: null; result: TurnSnapshot };
}

export interface TurnWorkerEvents {
  ready: { pid: number; port: number; tlsPort: number; addresses: string[] };
  /** Every `snapshotMs`: the TURN counters, and the worker's entry faults (guarded.ts) by entry point. */
  snapshot: { turn: TurnSnapshot; entryFaults: Array<[where: string, count: number]> };
}
