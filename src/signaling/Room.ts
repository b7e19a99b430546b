/** A signaling room: who is in it. Messages only ever fan out to a room's own members. */
import type { ParticipantInfo, RoomTopology, ServerMessage } from '../protocol/index.js';

export type { RoomTopology } from '../protocol/media.js';

/** What a room needs of a member (a Session): who they are, and a way to send them a frame. */
export interface RoomMember {
  readonly info: ParticipantInfo;
  sendRaw(frame: string): void;
}

export class Room<M extends RoomMember = RoomMember> {
  readonly members = new Map<string, M>();

  constructor(
    readonly name: string,
    readonly topology: RoomTopology,
  ) {}

  participants(except?: M): ParticipantInfo[] {
    const out: ParticipantInfo[] = [];
    for (const s of this.members.values()) if (s !== except) out.push(s.info);
    return out;
  }

  broadcast(msg: ServerMessage, except?: M): void {
    const frame = JSON.stringify(msg);
    for (const s of this.members.values()) if (s !== except) s.sendRaw(frame);
  }
}
