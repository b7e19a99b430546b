/**
 * A signaling session: one identified client. It outlives its WebSocket for the resume
 * grace period so that a network blip does not look like a leave/join to others.
 */
import type { WebSocket } from 'ws';
import type { ParticipantInfo, ServerMessage } from '../protocol/index.js';
import type { AccessGrant } from './auth.js';
import type { Room } from './Room.js';
import { sendBounded, type OutboundPolicy } from './connections/outbound.js';

/** Frames kept for a disconnected session; beyond this the oldest are dropped. */
export const MAX_QUEUED_WHILE_DISCONNECTED = 256;

export class Session {
  socket: WebSocket | null = null;
  room: Room<Session> | null = null;
  callId: string | null = null;
  graceTimer: NodeJS.Timeout | null = null;
  private queue: string[] = [];
  /** UTF-8 bytes of the frames in `queue`. */
  private queuedBytes = 0;
  droppedWhileDisconnected = 0;

  constructor(
    readonly id: string,
    readonly identity: string,
    readonly name: string,
    /** Secret: resumes the session and authenticates REST calls. */
    readonly token: string,
    /** The token grant when auth is on; undefined in open mode. */
    readonly grant: AccessGrant | undefined,
    /** The outbound bound, shared by every session of one server. */
    private readonly outbound: OutboundPolicy,
  ) {}

  get info(): ParticipantInfo {
    return { id: this.id, identity: this.identity, name: this.name };
  }

  get connected(): boolean {
    return this.socket !== null && this.socket.readyState === 1; // OPEN
  }

  send(msg: ServerMessage): void {
    this.sendRaw(JSON.stringify(msg));
  }

  /**
   * Sends an already serialised frame (broadcasts serialise once for all members). A frame
   * for a connection that is gone, closing, or over its outbound bound (which closes it) goes
   * to the resume queue instead.
   */
  sendRaw(frame: string): void {
    if (this.socket && this.socket.readyState === 1 && sendBounded(this.socket, frame, this.outbound)) return;
    this.enqueue(frame);
  }

  /**
   * The resume queue holds at most MAX_QUEUED_WHILE_DISCONNECTED frames and at most the
   * outbound bound in bytes; the oldest frames go first (counted), since a client that resumes
   * re-reads the room from `resumed` anyway.
   */
  private enqueue(frame: string): void {
    const bytes = Buffer.byteLength(frame);
    this.queue.push(frame);
    this.queuedBytes += bytes;
    while (
      this.queue.length > MAX_QUEUED_WHILE_DISCONNECTED ||
      (this.queuedBytes > this.outbound.maxBufferedBytes && this.queue.length > 0)
    ) {
      const dropped = this.queue.shift() as string;
      this.queuedBytes -= Buffer.byteLength(dropped);
      this.droppedWhileDisconnected++;
      this.outbound.queueDropped();
    }
  }

  /** Delivers what was queued while disconnected, in order. */
  flushQueue(): void {
    const frames = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    for (const f of frames) this.sendRaw(f);
  }
}
