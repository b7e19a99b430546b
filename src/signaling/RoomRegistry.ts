/**
 * The rooms of one signaling server: created by their first member (who picks the topology),
 * gone with their last. Joining checks capacity and, for SFU and MCU rooms, asks the media
 * server first; members hear `participant-joined` / `participant-left` from here.
 */
import { SwitchboardError, type ErrorCode, type Topology } from '../protocol/index.js';
import type { MediaRooms } from './MediaRooms.js';
import { Room, type RoomTopology } from './Room.js';
import type { Session } from './Session.js';

export interface RoomLimits {
  maxRoomParticipants: number;
  /** Mesh rooms hold at most this many (default 8): every page connects to every other. */
  maxMeshParticipants?: number;
}

/** Why a member left: a `leave` (or clean close), or the end of its resume grace. */
export type LeaveReason = 'left' | 'disconnected';

export class RoomRegistry {
  private readonly rooms = new Map<string, Room<Session>>();

  /** `media`: the media server for SFU and MCU rooms; without it those topologies are refused. */
  constructor(
    private readonly limits: RoomLimits,
    private readonly media: MediaRooms | undefined,
  ) {}

  get size(): number {
    return this.rooms.size;
  }

  /** Members of every room. */
  get participants(): number {
    let n = 0;
    for (const r of this.rooms.values()) n += r.members.size;
    return n;
  }

  /**
   * `session` (in no room) joins `roomName`, created with `topology` if it does not exist:
   * it gets `joined` (answering request `ref`) with the others, and they get `participant-joined`.
   */
  join(session: Session, roomName: string, topology: Topology | undefined, ref: string | number | undefined): void {
    // SFU and MCU rooms need the media server; 'auto' starts as mesh.
    if ((topology === 'sfu' || topology === 'mcu') && !this.media) {
      throw new SwitchboardError('unsupported-topology', `topology "${topology}" is not available on this server`, 'topology');
    }
    let room = this.rooms.get(roomName);
    // The room's first member picks its topology; later members join it as it is.
    if (room && room.members.size >= this.limits.maxRoomParticipants) {
      throw new SwitchboardError('room-full', `room "${roomName}" is full (${this.limits.maxRoomParticipants} participants)`);
    }
    const meshCap = this.limits.maxMeshParticipants ?? 8;
    if (room && room.topology === 'mesh' && room.members.size >= meshCap) {
      throw new SwitchboardError('room-full', `room "${roomName}" is full: mesh rooms hold at most ${meshCap} participants`);
    }
    if (!room) {
      const chosen: RoomTopology = topology === 'sfu' || topology === 'mcu' ? topology : 'mesh';
      if (chosen !== 'mesh') this.media?.admitRoom(roomName, chosen); // e.g. mcu-capacity: nothing is created
      room = new Room<Session>(roomName, chosen);
      this.rooms.set(roomName, room);
    }
    const participants = room.participants();
    room.members.set(session.id, session);
    session.room = room;
    session.send({
      type: 'joined',
      ...(ref !== undefined ? { ref } : {}),
      room: room.name,
      topology: room.topology,
      self: session.info,
      participants,
    });
    room.broadcast({ type: 'participant-joined', room: room.name, participant: session.info }, session);
    // After `joined`: the media server's first subscribe offer must find the page in SFU mode.
    if (room.topology !== 'mesh') this.media?.join(room.name, session, room.topology);
  }

  /** The media server lost `roomName`'s media (MediaRoomsHost.evict): these members get `error` and leave it. */
  evict(roomName: string, participantIds: readonly string[], code: ErrorCode, message: string): void {
    const room = this.rooms.get(roomName);
    if (!room) return;
    for (const id of participantIds) {
      const session = room.members.get(id);
      if (!session) continue;
      session.send({ type: 'error', code, message });
      this.leave(session, 'left');
    }
  }

  /** `session` leaves its room, if any; the others hear why. An empty room is gone. */
  leave(session: Session, reason: LeaveReason): void {
    const room = session.room;
    if (!room) return;
    room.members.delete(session.id);
    session.room = null;
    if (room.topology !== 'mesh') this.media?.leave(room.name, session.id);
    if (room.members.size === 0) this.rooms.delete(room.name);
    else room.broadcast({ type: 'participant-left', room: room.name, participantId: session.id, reason });
  }
}
