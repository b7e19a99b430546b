/**
 * One signaling WebSocket: its rate limit, heartbeat state, timers and close. The Session (if
 * any) is what survives a reconnect; a Connection ends with its socket.
 */
import type { WebSocket } from 'ws';
import type { ServerMessage } from '../../protocol/index.js';
import { guarded } from '../../util/guarded.js';
import { RateLimit } from '../../util/RateLimit.js';
import type { Session } from '../Session.js';
import { sendBounded, type OutboundPolicy } from './outbound.js';

/** At most one rate-limited error per connection per this many ms: errors must not amplify a flood. */
const RATE_ERROR_INTERVAL_MS = 1000;
/**
 * After the server closes a connection, how long the peer has to answer the close before
 * its socket is destroyed: a peer that does not read never will, and what `ws` holds for it
 * is released only with the socket.
 */
const CLOSE_GRACE_MS = 1000;

export class Connection {
  session: Session | null = null;
  readonly rate: RateLimit;
  /** When the peer last sent anything (a frame or a pong). */
  lastSeenAt = Date.now();
  /** When we pinged and are still waiting for any answer; 0 when not waiting. */
  pingSentAt = 0;
  /** Messages are handled one after another, even when one awaits (token verification). */
  chain: Promise<void> = Promise.resolve();
  /** Until `hello`/`resume` succeeds; null after. */
  helloTimer: NodeJS.Timeout | null = null;
  /** Set once the server has started closing this connection. */
  private closeTimer: NodeJS.Timeout | null = null;
  private closingStarted = false;

  constructor(
    readonly socket: WebSocket,
    /** The host the client reached us by, for ICE server URLs on this same host. */
    readonly host: string | undefined,
    /** The client's IP address, as counted for the per-address cap. */
    readonly address: string,
    /** Which heartbeat slice checks this connection. */
    readonly slice: number,
    rateLimit: { perSecond: number; burst: number },
    private readonly outbound: OutboundPolicy,
  ) {
    this.rate = new RateLimit(rateLimit.perSecond, rateLimit.burst, RATE_ERROR_INTERVAL_MS, this.lastSeenAt);
  }

  get closing(): boolean {
    return this.closingStarted;
  }

  /** The peer sent something: it is alive. */
  heard(): void {
    this.lastSeenAt = Date.now();
    this.pingSentAt = 0;
  }

  send(msg: ServerMessage): void {
    if (this.socket.readyState === 1) sendBounded(this.socket, JSON.stringify(msg), this.outbound);
  }

  /** `session` now speaks through this connection: the hello deadline no longer applies. */
  identify(session: Session): void {
    this.session = session;
    this.clearHelloTimer();
  }

  /**
   * Closes from our side with `code`; false if already closing. The socket is destroyed
   * CLOSE_GRACE_MS later if the peer has not completed the close by then; 'close' follows
   * either way.
   */
  close(code: number, reason: string): boolean {
    if (this.closingStarted) return false;
    this.closingStarted = true;
    this.socket.close(code, reason);
    this.closeTimer = setTimeout(
      guarded('signaling.close-grace', () => this.socket.terminate()),
      CLOSE_GRACE_MS,
    );
    this.closeTimer.unref();
    return true;
  }

  /** The socket is gone (or going for good): no timer of this connection may fire. */
  release(): void {
    this.clearHelloTimer();
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.closeTimer = null;
  }

  private clearHelloTimer(): void {
    if (this.helloTimer) clearTimeout(this.helloTimer);
    this.helloTimer = null;
  }
}
