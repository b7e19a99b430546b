/** Prometheus metrics for one server instance (its own registry, so tests can run several). */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { SignalingObserver } from '../signaling/SignalingObserver.js';

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
