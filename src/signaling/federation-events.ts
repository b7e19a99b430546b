/**
 * What the federation (members on other nodes) does to this node's rooms: their members hear
 * `participant-joined` / `participant-left` of members elsewhere, get the messages relayed to
 * them from there, and lose a member whose identity was taken first on another node.
 */
import type { ParticipantInfo, ParticipantLeftReason } from '../protocol/index.js';
import type { FederationEvents, RelayedMessage } from './RoomFederation.js';
import type { RoomRegistry } from './RoomRegistry.js';
import type { SignalingObserver } from './SignalingObserver.js';

export function federationEvents(rooms: RoomRegistry, observer: SignalingObserver): FederationEvents {
  return {
    remoteJoined(roomName: string, member: ParticipantInfo): void {
      rooms.room(roomName)?.broadcast({ type: 'participant-joined', room: roomName, participant: member });
    },
    remoteLeft(roomName: string, participantId: string, reason: ParticipantLeftReason): void {
      rooms.room(roomName)?.broadcast({ type: 'participant-left', room: roomName, participantId, reason });
    },
    deliver(roomName: string, to: string, msg: RelayedMessage): void {
      const target = rooms.room(roomName)?.members.get(to);
      if (!target) return; // left meanwhile: like a relay to a peer that just left
      target.send(msg);
      observer.relayed(msg.type);
    },
    evict(roomName: string, participantId: string): void {
      const session = rooms.room(roomName)?.members.get(participantId);
      if (!session) return;
      rooms.leave(session, 'left');
      session.send({
        type: 'error',
        code: 'identity-in-use',
        message: `identity "${session.identity}" joined room "${roomName}" earlier on another node; you were taken out of the room`,
      });
      session.send({ type: 'left', room: roomName });
    },
  };
}
