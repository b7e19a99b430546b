/**
 * The sessions of one signaling server, by id, resume token and identity. A session outlives
 * its WebSocket: a clean close (1000 normal, 1001 page going away) is a departure, any other
 * loss may be a network blip, so the session waits `resumeGraceMs` for a `resume` on a new
 * connection before it ends.
 *
 * Takeover rules: a `hello` never takes an identity from a live session (`identity-in-use`,
 * also during its grace period); a `resume` with the session's token takes the session over
 * from whatever socket had it, which is closed with 4000.
 */
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import { SwitchboardError } from '../protocol/index.js';
import { guarded } from '../util/guarded.js';
import type { AccessGrant } from './auth.js';
import type { OutboundPolicy } from './connections/outbound.js';
import type { LeaveReason } from './RoomRegistry.js';
import { Session } from './Session.js';

export interface SessionRegistryOptions {
  resumeGraceMs: number;
  /** The outbound bound every session's sends and resume queue obey. */
  outbound: OutboundPolicy;
  /** `session` ended (before it leaves the maps): take it out of its room and call. */
  onEnded(session: Session, reason: LeaveReason): void;
}

export class SessionRegistry {
  private readonly byId = new Map<string, Session>();
  private readonly byToken = new Map<string, Session>();
  private readonly byIdentity = new Map<string, Session>();

  constructor(private readonly opts: SessionRegistryOptions) {}

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Session | undefined {
    return this.byId.get(id);
  }

  withToken(token: string): Session | undefined {
    return this.byToken.get(token);
  }

  withIdentity(identity: string): Session | undefined {
    return this.byIdentity.get(identity);
  }

  /**
   * A new session for `identity` on `socket`; null when the socket closed meanwhile (the
   * token was being checked). Throws `identity-in-use` while another session has it.
   */
  open(socket: WebSocket, identity: string, name: string, grant: AccessGrant | undefined): Session | null {
    if (this.byIdentity.has(identity))
      throw new SwitchboardError('identity-in-use', `identity "${identity}" is already connected`, 'identity');
    if (socket.readyState !== 1) return null;
    const id = `p-${randomBytes(9).toString('base64url')}`;
    const session = new Session(id, identity, name, randomBytes(32).toString('base64url'), grant, this.opts.outbound);
    session.socket = socket;
    this.byId.set(session.id, session);
    this.byToken.set(session.token, session);
    this.byIdentity.set(identity, session);
    return session;
  }

  /** The session of resume token `token`, now on `socket`; throws `resume-failed` when there is none. */
  resume(token: string, socket: WebSocket): Session {
    const session = this.byToken.get(token);
    if (!session) throw new SwitchboardError('resume-failed', 'unknown session or its grace period is over', 'sessionToken');
    if (session.graceTimer) clearTimeout(session.graceTimer);
    session.graceTimer = null;
    const old = session.socket;
    session.socket = socket;
    // The old socket may still look open (half-dead TCP); it no longer speaks for the session.
    if (old && old !== socket) old.close(4000, 'session resumed elsewhere');
    return session;
  }

  /** `socket` closed with `code`; if it was `session`'s, the session ends or waits for `resume`. */
  socketClosed(session: Session, socket: WebSocket, code: number): void {
    if (session.socket !== socket) return;
    session.socket = null;
    if (code === 1000 || code === 1001) {
      this.remove(session, 'left');
      return;
    }
    session.graceTimer = setTimeout(
      guarded('signaling.resume-grace', () => this.remove(session, 'disconnected')),
      this.opts.resumeGraceMs,
    );
    session.graceTimer.unref();
  }

  /** Ends `session` for good. */
  private remove(session: Session, reason: LeaveReason): void {
    if (!this.byId.has(session.id)) return;
    if (session.graceTimer) clearTimeout(session.graceTimer);
    session.graceTimer = null;
    this.opts.onEnded(session, reason);
    this.byId.delete(session.id);
    this.byToken.delete(session.token);
    if (this.byIdentity.get(session.identity) === session) this.byIdentity.delete(session.identity);
  }

  /** Server shutdown: no grace timer may fire. */
  close(): void {
    for (const s of this.byId.values()) if (s.graceTimer) clearTimeout(s.graceTimer);
  }
}
