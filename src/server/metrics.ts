/** Prometheus metrics for one server instance (its own registry, so tests can run several). */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { SignalingObserver } from '../signaling/SignalingObserver.js';
import type { TurnServer } from '../turn/TurnServer.js';

export interface Metrics {
  registry: Registry;
  observer: SignalingObserver;
  httpRequests: Counter<'route' | 'status'>;
}

export interface SignalingStats { connections: number; sessions: number; rooms: number; participants: number; calls: number }

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'switchboard_process_' });
  const messages = new Counter({ name: 'switchboard_messages_total', help: 'Valid signaling messages received, by type', labelNames: ['type'], registers: [registry] });
  const relayed = new Counter({ name: 'switchboard_relayed_total', help: 'Messages relayed to a peer, by type', labelNames: ['type'], registers: [registry] });
  const errors = new Counter({ name: 'switchboard_errors_total', help: 'Errors answered or inputs dropped, by code', labelNames: ['code'], registers: [registry] });
  const callsEnded = new Counter({ name: 'switchboard_calls_ended_total', help: '1:1 calls ended, by reason', labelNames: ['reason'], registers: [registry] });
  const httpRequests = new Counter({ name: 'switchboard_http_requests_total', help: 'HTTP requests, by route and status', labelNames: ['route', 'status'], registers: [registry] });
  return {
    registry,
    httpRequests,
    observer: {
      messageIn: (type) => messages.inc({ type }),
      relayed: (type) => relayed.inc({ type }),
      error: (code) => errors.inc({ code }),
      callEnded: (reason) => callsEnded.inc({ reason }),
    },
  };
}

/** Gauges read the signaling state when scraped, not on every change. */
export function registerSignalingGauges(metrics: Metrics, stats: () => SignalingStats): void {
  const gauge = (name: string, help: string, pick: (s: SignalingStats) => number): void => {
    new Gauge({ name, help, registers: [metrics.registry], collect() { this.set(pick(stats())); } });
  };
  gauge('switchboard_rooms', 'Rooms with at least one participant', (s) => s.rooms);
  gauge('switchboard_participants', 'Participants in rooms', (s) => s.participants);
  gauge('switchboard_sessions', 'Identified sessions, including those waiting for resume', (s) => s.sessions);
  gauge('switchboard_connections', 'Open signaling WebSockets', (s) => s.connections);
  gauge('switchboard_calls', 'Ringing or active 1:1 calls', (s) => s.calls);
}

/**
 * TURN counters, read when scraped: the relay's per-packet path only bumps plain numbers.
 * Counters that only grow are exposed as gauges of their running total (Prometheus
 * `_total` names), since prom-client counters cannot be set.
 */
export function registerTurnGauges(metrics: Metrics, turn: TurnServer): void {
  const c = turn.counters;
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({ name, help, registers: [metrics.registry], collect() { this.set(read()); } });
  };
  gauge('switchboard_turn_allocations', 'Live TURN allocations', () => turn.activeAllocations);
  gauge('switchboard_turn_allocations_created_total', 'TURN allocations created', () => c.allocationsCreated);
  gauge('switchboard_turn_binding_requests_total', 'STUN Binding requests answered', () => c.bindingRequests);
  gauge('switchboard_turn_dropped_total', 'Relay packets dropped (no permission or channel, over the bandwidth cap)', () => c.dropped);
  gauge('switchboard_turn_malformed_total', 'Inputs that were not valid STUN/ChannelData', () => c.malformed);
  new Gauge({
    name: 'switchboard_turn_relayed_packets_total', help: 'Packets relayed, by direction', labelNames: ['direction'], registers: [metrics.registry],
    collect() { this.set({ direction: 'to_peer' }, c.toPeerPackets); this.set({ direction: 'to_client' }, c.toClientPackets); },
  });
  new Gauge({
    name: 'switchboard_turn_relayed_bytes_total', help: 'Payload bytes relayed, by direction', labelNames: ['direction'], registers: [metrics.registry],
    collect() { this.set({ direction: 'to_peer' }, c.toPeerBytes); this.set({ direction: 'to_client' }, c.toClientBytes); },
  });
  new Gauge({
    name: 'switchboard_turn_error_responses_total', help: 'TURN error responses, by code', labelNames: ['code'], registers: [metrics.registry],
    collect() { for (const [code, n] of Object.entries(c.errors)) this.set({ code }, n); },
  });
}
