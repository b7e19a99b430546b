/** The cluster's Redis layer: connection, node registry, room placement, bus between nodes. */
export { RedisConnection, reconnectDelayMs, type RedisConnectionOptions, type RedisConnectionStats } from './RedisConnection.js';
export {
  NodeRegistry,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_NODE_TTL_MS,
  type NodeRegistryOptions,
  type NodeRegistryStats,
} from './NodeRegistry.js';
export {
  RoomPlacement,
  DEFAULT_CLAIM_TTL_MS,
  type RoomPlacementOptions,
  type RoomState,
  type RoomPlacementStats,
} from './RoomPlacement.js';
export { ClusterBus, DEFAULT_BUS_QUEUE, type ClusterBusOptions, type ClusterBusStats } from './ClusterBus.js';
export { MAX_BUS_MESSAGE_BYTES, type BusEnvelope, type BusMessageMap, type BusValidators } from './bus-envelope.js';
export { ClusterKeys, DEFAULT_KEY_PREFIX } from './keys.js';
export { type NodeInfo, type NodeLoad } from './node-info.js';
export { pickLeastLoaded, compareLoad } from './placement-rule.js';
export { type RoomRecord, MAX_ROOM_NAME_LENGTH } from './room-record.js';
export { type SweepResult } from './sweep.js';
export { defaultNodeAddress, isNodeId, randomNodeId } from './node-identity.js';
