/**
 * The rooms of one signaling server: created by their first member (who picks the topology),
 * gone with their last. Joining checks capacity and, for SFU and MCU rooms, asks the media
 * server first; members hear `participant-joined` / `participant-left` from here.
 * With a federation (several nodes, src/cluster), a room's members on other nodes are counted
 * and listed too, and the cluster's record of the room decides its topology.
 */
import { SwitchboardError, type ErrorCode, type ParticipantInfo, type Topology } from '../protocol/index.js';
import type { MediaRooms } from './MediaRooms.js';
import { Room, type RoomTopology } from './Room.js';
import type { FederatedJoin, RelayedMessage, RoomFederation } from './RoomFederation.js';
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
  /** Set by SignalingServer.federate() when the node is part of a cluster. */
  private federation: RoomFederation | undefined;
  /** Sessions whose join waits for the cluster; `ended` when the session ended meanwhile. */
  private readonly joining = new Map<Session, { ended: boolean }>();
  /** A draining node takes no new participants (SignalingServer.drain()). */
  draining = false;

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
  async join(session: Session, roomName: string, topology: Topology | undefined, ref: string | number | undefined): Promise<void> {
    if (this.draining) throw new SwitchboardError('draining', 'this server is shutting down and takes no new participants');
    // SFU and MCU rooms need the media server; 'auto' starts as mesh.
    if ((topology === 'sfu' || topology === 'mcu') && !this.media) {
      throw new SwitchboardError('unsupported-topology', `topology "${topology}" is not available on this server`, 'topology');
    }
    if (!this.federation) return this.joinHere(session, roomName, topology, undefined, ref);
    const federated = await this.joinFederation(session, roomName, topology);
    if (!federated) return; // the session ended while the cluster answered
    try {
      this.joinHere(session, roomName, federated.topology, federated, ref);
    } catch (err) {
      this.federation.leave(roomName, session.id, 'left');
      throw err;
    }
  }

  /** The local half of a join; `federated`: the cluster's answer (topology, members elsewhere). */
  private joinHere(
    session: Session,
    roomName: string,
    topology: Topology | undefined,
    federated: FederatedJoin | undefined,
    ref: string | number | undefined,
  ): void {
    if ((topology === 'sfu' || topology === 'mcu') && !this.media) {
      throw new SwitchboardError(
        'unsupported-topology',
        `room "${roomName}" is a ${topology} room, not available on this server`,
        'topology',
      );
    }
    let room = this.rooms.get(roomName);
    const remote = federated?.remote ?? [];
    const size = (room?.members.size ?? 0) + remote.length;
    // The room's first member picks its topology; later members join it as it is.
    if (size >= this.limits.maxRoomParticipants) {
      throw new SwitchboardError('room-full', `room "${roomName}" is full (${this.limits.maxRoomParticipants} participants)`);
    }
    const meshCap = this.limits.maxMeshParticipants ?? 8;
    if ((room?.topology ?? topology ?? 'mesh') === 'mesh' && size >= meshCap) {
      throw new SwitchboardError('room-full', `room "${roomName}" is full: mesh rooms hold at most ${meshCap} participants`);
    }
    if (!room) {
      const chosen: RoomTopology = topology === 'sfu' || topology === 'mcu' ? topology : 'mesh';
      if (chosen !== 'mesh') this.media?.admitRoom(roomName, chosen); // e.g. mcu-capacity: nothing is created
      room = new Room<Session>(roomName, chosen);
      this.rooms.set(roomName, room);
    }
    const participants = [...room.participants(), ...remote];
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
    const pending = this.joining.get(session);
    if (pending) pending.ended = true;
    const room = session.room;
    if (!room) return;
    room.members.delete(session.id);
    session.room = null;
    this.federation?.leave(room.name, session.id, reason);
    if (room.topology !== 'mesh') this.media?.leave(room.name, session.id);
    if (room.members.size === 0) this.rooms.delete(room.name);
    else room.broadcast({ type: 'participant-left', room: room.name, participantId: session.id, reason });
  }

  // ---- several nodes (RoomFederation) ------------------------------------------------------

  /** From now on rooms span the nodes of `federation` (set once, before the first join). */
  federate(federation: RoomFederation): void {
    this.federation = federation;
  }

  /** The room of this node named `name`, if it has members here. */
  room(name: string): Room<Session> | undefined {
    return this.rooms.get(name);
  }

  /** Everyone in `room` but `except`: this node's members, then those on other nodes. */
  participantsOf(room: Room<Session>, except?: Session): ParticipantInfo[] {
    const local = room.participants(except);
    return this.federation ? [...local, ...this.federation.remoteMembers(room.name)] : local;
  }

  /** Whether `to` is a member of `room` connected to another node. */
  isRemoteMember(room: Room, to: string): boolean {
    return this.federation?.isRemoteMember(room.name, to) ?? false;
  }

  /** Relays `msg` to `to`, a member of `room` on another node (isRemoteMember). */
  relayToRemote(room: Room, to: string, msg: RelayedMessage): void {
    if (!this.federation) throw new SwitchboardError('peer-not-found', `no peer "${to}" in your room or call`, 'to');
    this.federation.relay(room.name, to, msg);
  }

  /** The cluster's part of a join; undefined when the session ended meanwhile (its join was undone). */
  private async joinFederation(session: Session, roomName: string, topology: Topology | undefined): Promise<FederatedJoin | undefined> {
    const federation = this.federation as RoomFederation;
    // A resumed session may send `join` on its new connection while the old one's join waits.
    if (this.joining.has(session)) throw new SwitchboardError('already-in-room', 'a join of this session is in progress');
    const state = { ended: false };
    this.joining.set(session, state);
    let federated: FederatedJoin;
    try {
      federated = await federation.join(roomName, session.info, topology === 'sfu' || topology === 'mcu' ? topology : 'mesh');
    } finally {
      this.joining.delete(session);
    }
    if (state.ended || session.room) {
      federation.leave(roomName, session.id, 'left');
      return undefined;
    }
    return federated;
  }
}
