/** What the signaling server reports for metrics; src/server implements it with prom-client. */
import type { ErrorCode } from '../protocol/index.js';

/** What the signaling server holds now, read at scrape time (SignalingServer.stats). */
export interface SignalingStats {
  connections: number;
  sessions: number;
  rooms: number;
  participants: number;
  calls: number;
  outboundBufferedBytes: number;
}

export interface SignalingObserver {
  messageIn(type: string): void;
  error(code: ErrorCode): void;
  relayed(type: string): void;
  callEnded(reason: string): void;
  /** A call attempt (REST) was refused with `code` (`rate-limited`, `callee-not-found`, `busy`, …). */
  callRefused(code: ErrorCode): void;
  /** The server closed a connection: a slow reader over its outbound bound, no hello in time, or a fault of ours. */
  connectionClosed(reason: 'slow-reader' | 'hello-timeout' | 'fault'): void;
  /** A WebSocket upgrade was refused before it became a connection. */
  upgradeRefused(reason: 'per-ip-limit'): void;
  /** A frame for a disconnected session was dropped: its resume queue was full. */
  resumeQueueDropped(): void;
}

export const nullObserver: SignalingObserver = {
  messageIn: () => undefined,
  error: () => undefined,
  relayed: () => undefined,
  callEnded: () => undefined,
  callRefused: () => undefined,
  connectionClosed: () => undefined,
  upgradeRefused: () => undefined,
  resumeQueueDropped: () => undefined,
};
