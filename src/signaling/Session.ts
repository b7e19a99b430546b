/**
 * A signaling session: one identified client. It outlives its WebSocket for the resume
 * grace period so that a network blip does not look like a leave/join to others.
 */
import type { WebSocket } from 'ws';
import type { ParticipantInfo, ServerMessage } from '../protocol/index.js';
import type { AccessGrant } from './auth.js';
import type { Room } from './Room.js';

/** Frames kept for a disconnected session; beyond this the oldest are dropped. */
export const MAX_QUEUED_WHILE_DISCONNECTED = 256;

export class Session {
  socket: WebSocket | null = null;
  room: Room | null = null;
  callId: string | null = null;
  graceTimer: NodeJS.Timeout | null = null;
  private queue: string[] = [];
  droppedWhileDisconnected = 0;

  constructor(
    readonly id: string,
    readonly identity: string,
    readonly name: string,
    /** Secret: resumes the session and authenticates REST calls. */
    readonly token: string,
    /** The token grant when auth is on; undefined in open mode. */
    readonly grant: AccessGrant | undefined,
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

  /** Sends an already serialised frame (broadcasts serialise once for all members). */
  sendRaw(frame: string): void {
    if (this.socket && this.socket.readyState === 1) {
      this.socket.send(frame);
      return;
    }
    if (this.queue.length >= MAX_QUEUED_WHILE_DISCONNECTED) {
      this.queue.shift();
      this.droppedWhileDisconnected++;
    }
    this.queue.push(frame);
  }

  /** Delivers what was queued while disconnected, in order. */
  flushQueue(): void {
    const frames = this.queue;
    this.queue = [];
    for (const f of frames) this.sendRaw(f);
  }
}
