/**
 * RFC 6455 §5.5.2 keep-alive: a connection silent for a heartbeat interval is pinged; one that
 * has sent nothing (no pong, no message) by its next check, an interval later, is dead.
 * Connections that are talking need no ping: their frames prove they are alive.
 */
import { guarded } from '../../util/guarded.js';
import type { Connection } from './Connection.js';

/**
 * The heartbeat interval is cut into this many slices and each connection is checked in its
 * own slice: pinging thousands of sockets in one tick stalls the event loop (~90 ms for 2,000).
 */
const HEARTBEAT_SLICES = 50;

export class Heartbeat {
  private readonly timer: NodeJS.Timeout;
  private slice = 0;
  private assigned = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly connections: () => Iterable<Connection>,
  ) {
    this.timer = setInterval(
      guarded('signaling.heartbeat', () => this.check()),
      intervalMs / HEARTBEAT_SLICES,
    );
    this.timer.unref();
  }

  /** The slice a new connection is checked in: round robin. */
  nextSlice(): number {
    return this.assigned++ % HEARTBEAT_SLICES;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const slice = this.slice;
    this.slice = (slice + 1) % HEARTBEAT_SLICES;
    const now = Date.now();
    for (const conn of this.connections()) {
      if (conn.slice !== slice) continue;
      if (conn.pingSentAt !== 0) {
        conn.socket.terminate();
        continue;
      }
      if (conn.closing) continue;
      if (now - conn.lastSeenAt < this.intervalMs) continue;
      conn.pingSentAt = now;
      conn.socket.ping();
    }
  }
}
