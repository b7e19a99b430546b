/**
 * A room's placement record as stored in Redis (`<prefix>room:<name>`, a hash) and read back
 * from a script's reply: checked, because another node (or version) wrote it.
 */
import type { RoomTopology } from '../protocol/media.js';
import { InternalErrorCode, SwitchboardError } from '../protocol/errors.js';
import { isNodeId } from './node-identity.js';

export interface RoomRecord {
  name: string;
  topology: RoomTopology;
  /** Epoch milliseconds of the first claim. */
  createdAt: number;
  /** The node whose router holds the room's media (other nodes pipe to it). */
  homeNode: string;
}

/** Room names are free text but bounded: they are part of key and channel names. */
export const MAX_ROOM_NAME_LENGTH = 256;

const ROOM_TOPOLOGIES: readonly string[] = ['mesh', 'sfu', 'mcu'] satisfies RoomTopology[];

export function checkRoomName(name: string): void {
  if (name.length === 0 || name.length > MAX_ROOM_NAME_LENGTH) {
    throw new SwitchboardError(InternalErrorCode.InvalidArgument, `room name must be 1-${MAX_ROOM_NAME_LENGTH} characters`, 'room');
  }
}

/** Fields `[topology, createdAt, homeNode]` of a script reply → a record; a bad one throws `malformed`. */
export function recordFromReply(name: string, fields: readonly unknown[]): RoomRecord {
  const [topology, createdAt, homeNode] = fields;
  const at = typeof createdAt === 'string' ? Number(createdAt) : NaN;
  if (
    typeof topology !== 'string' ||
    !ROOM_TOPOLOGIES.includes(topology) ||
    !Number.isSafeInteger(at) ||
    typeof homeNode !== 'string' ||
    !isNodeId(homeNode)
  ) {
    throw new SwitchboardError(InternalErrorCode.Malformed, `room ${name}: malformed placement record in Redis`);
  }
  return { name, topology: topology as RoomTopology, createdAt: at, homeNode };
}
