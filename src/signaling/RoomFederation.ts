/**
 * What signaling needs from a federation of nodes that share rooms (src/cluster implements it
 * over Redis; without one, every room lives on this node alone). A room's members may be
 * connected to different nodes: each node keeps its own members (`Room`), and the federation
 * knows the others, tells them about this node's joins and leaves, and carries relayed messages
 * to a member on another node. Signaling never imports the cluster: src/server hands it one.
 *
 * Refusals are SwitchboardErrors with a client-facing code (`cluster-unavailable`,
 * `identity-in-use`…); the joiner gets an `error` with it.
 */
import type {
  ParticipantInfo,
  ParticipantLeftReason,
  RelayedAnswerMsg,
  RelayedCandidateMsg,
  RelayedEndOfCandidatesMsg,
  RelayedOfferMsg,
} from '../protocol/index.js';
import type { RoomTopology } from '../protocol/media.js';

/** What the JSEP relay carries to a member (always stamped with the sender's id; never a call's). */
export type RelayedMessage = RelayedOfferMsg | RelayedAnswerMsg | RelayedCandidateMsg | RelayedEndOfCandidatesMsg;

export interface FederatedJoin {
  /** The room's topology as the cluster records it (its first claimer's choice, cluster-wide). */
  topology: RoomTopology;
  /** Members connected to other nodes, as this node knows them when the join completes. */
  remote: ParticipantInfo[];
}

/** What the federation tells this node's rooms (RoomRegistry implements it: federation-events.ts). */
export interface FederationEvents {
  /** A member joined `room` on another node: this node's members hear `participant-joined`. */
  remoteJoined(room: string, member: ParticipantInfo): void;
  /** A member on another node left (or its node was lost): this node's members hear `participant-left`. */
  remoteLeft(room: string, participantId: string, reason: ParticipantLeftReason): void;
  /** A relayed message from a member on another node to member `to` of `room` on this node. */
  deliver(room: string, to: string, msg: RelayedMessage): void;
  /**
   * Member `participantId` of `room` on this node shares its identity with a member on another
   * node who joined first (both nodes decide alike): it is taken out of the room.
   */
  evict(room: string, participantId: string): void;
}

export interface RoomFederation {
  /** Where the federation's events go; called once, by the signaling server. */
  attach(events: FederationEvents): void;
  /**
   * `member` (on this node) joins `room`, created with `topology` if the cluster has no record of
   * it. Resolves once the members on the other nodes are known (a bounded wait for the nodes the
   * room's record lists); the other nodes' members hear of the newcomer. Rejects when the cluster
   * cannot be reached (`cluster-unavailable`) or the identity is in the room on another node
   * (`identity-in-use`); nothing of the join is left behind then.
   */
  join(room: string, member: ParticipantInfo, topology: RoomTopology): Promise<FederatedJoin>;
  /** A member on this node left `room` (after a resolved `join`): the other nodes hear why. Never waits. */
  leave(room: string, participantId: string, reason: ParticipantLeftReason): void;
  /** Members of `room` connected to other nodes, as known now. */
  remoteMembers(room: string): ParticipantInfo[];
  /** Whether `participantId` is a member of `room` on another node. */
  isRemoteMember(room: string, participantId: string): boolean;
  /**
   * Sends `msg` to member `to` of `room` on another node. Never waits; throws a SwitchboardError
   * (`peer-not-found`, `message-too-large`) when it cannot be sent.
   */
  relay(room: string, to: string, msg: RelayedMessage): void;
}
