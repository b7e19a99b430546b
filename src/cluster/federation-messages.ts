/**
 * The messages nodes exchange on the bus (ClusterBus) to share rooms, and the check of each
 * body: another node is trusted to be ours but not to be right, so everything received is
 * validated whole (field types, lengths, the protocol's id and room patterns, no unknown field)
 * and bounded before ClusterRooms looks at it.
 *
 * | type | channel | body | meaning |
 * |---|---|---|---|
 * | `member-joined` | room | `{ room, member, joinedAt }` | a member joined the room on the sender; receivers answer with `roster` |
 * | `member-left` | room | `{ room, id, reason }` | a member on the sender left (`left`, `disconnected`) |
 * | `roster` | room or node | `{ room, members, sync }` | every member of the room on the sender (replaces what the receiver knew of that node); `sync`: answer with yours (after a Redis outage) |
 * | `relay` | node | `{ room, to, message }` | a relayed `offer`/`answer`/`candidate`/`end-of-candidates` for member `to` on the receiver |
 */
import type { ParticipantInfo, ParticipantLeftReason } from '../protocol/index.js';
import { candidateSchema, ID_PATTERN, MAX_SDP_CHARS, ROOM_PATTERN } from '../protocol/messages.js';
import { int, isPlainObject, object, oneOf, str, validateObject, type Schema } from '../protocol/schema.js';
import type { RelayedMessage } from '../signaling/RoomFederation.js';
import type { BusValidators } from './bus-envelope.js';

/** Members listed in one `roster` (a room's members on one node); more is refused. */
export const MAX_ROSTER_MEMBERS = 1000;

export interface RosterEntry {
  member: ParticipantInfo;
  /** Epoch ms of the member's join on its node: of two members with one identity, the earlier stays. */
  joinedAt: number;
}

export interface FederationMessages {
  'member-joined': { room: string; member: ParticipantInfo; joinedAt: number };
  'member-left': { room: string; id: string; reason: Exclude<ParticipantLeftReason, 'node-lost'> };
  roster: { room: string; members: RosterEntry[]; sync: boolean };
  relay: { room: string; to: string; message: RelayedMessage };
}

const room = str({ max: 64, pattern: ROOM_PATTERN });
const participantId = str({ max: 64, pattern: ID_PATTERN });
const participantSchema: Schema = { id: participantId, identity: str({ max: 256 }), name: str({ min: 0, max: 256 }) };
const joinedAt = int({ min: 0, max: Number.MAX_SAFE_INTEGER });
const entrySchema: Schema = { member: object(participantSchema), joinedAt };
const bool = { check: (v: unknown) => (typeof v === 'boolean' ? undefined : 'must be a boolean') };

const RELAYED_SCHEMAS: Readonly<Record<RelayedMessage['type'], Schema>> = {
  offer: { type: str({ max: 32 }), from: participantId, sdp: str({ max: MAX_SDP_CHARS }) },
  answer: { type: str({ max: 32 }), from: participantId, sdp: str({ max: MAX_SDP_CHARS }) },
  candidate: { type: str({ max: 32 }), from: participantId, candidate: object(candidateSchema) },
  'end-of-candidates': { type: str({ max: 32 }), from: participantId },
};

function isRelayedMessage(v: unknown): v is RelayedMessage {
  if (!isPlainObject(v) || typeof v['type'] !== 'string' || !Object.hasOwn(RELAYED_SCHEMAS, v['type'])) return false;
  return validateObject(v, RELAYED_SCHEMAS[v['type'] as RelayedMessage['type']], '') === undefined;
}

function isRoster(v: unknown): v is FederationMessages['roster'] {
  if (validateObject(v, { room, members: { check: () => undefined }, sync: bool }, '') !== undefined) return false;
  const members = (v as Record<string, unknown>)['members'];
  return (
    Array.isArray(members) && members.length <= MAX_ROSTER_MEMBERS && members.every((e) => validateObject(e, entrySchema, '') === undefined)
  );
}

export const FEDERATION_VALIDATORS: BusValidators<FederationMessages> = {
  'member-joined': (v): v is FederationMessages['member-joined'] =>
    validateObject(v, { room, member: object(participantSchema), joinedAt }, '') === undefined,
  'member-left': (v): v is FederationMessages['member-left'] =>
    validateObject(v, { room, id: participantId, reason: oneOf(['left', 'disconnected'] as const) }, '') === undefined,
  roster: isRoster,
  relay: (v): v is FederationMessages['relay'] =>
    validateObject(
      v,
      { room, to: participantId, message: { check: (m) => (isRelayedMessage(m) ? undefined : 'not a relayed message') } },
      '',
    ) === undefined,
};
