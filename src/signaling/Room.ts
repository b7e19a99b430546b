/** A signaling room: who is in it. Messages only ever fan out to a room's own members. */
import type { ParticipantInfo, RoomTopology, ServerMessage } from '../protocol/index.js';
import type { Session } from './Session.js';

export type { RoomTopology } from '../protocol/media.js';

export class Room {
  readonly members = new Map<string, Session>();

  constructor(readonly name: string, readonly topology: RoomTopology) {}

  participants(except?: Session): ParticipantInfo[] {
    const out: ParticipantInfo[] = [];
    for (const s of this.members.values()) if (s !== except) out.push(s.info);
    return out;
  }

  broadcast(msg: ServerMessage, except?: Session): void {
    const frame = JSON.stringify(msg);
    for (const s of this.members.values()) if (s !== except) s.sendRaw(frame);
  }
}
