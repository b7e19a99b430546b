/**
 * Every Redis key and pub/sub channel of the cluster, built in one place from a prefix
 * (default `sb:`). docs/ARCHITECTURE.md "Cluster (Redis)" lists them with their types and TTLs.
 * Room names are free text, so a room's two keys use different prefixes (`room:` and
 * `room-members:`): no room name can make one room's key equal another's.
 */
export const DEFAULT_KEY_PREFIX = 'sb:';

export class ClusterKeys {
  constructor(readonly prefix: string = DEFAULT_KEY_PREFIX) {}

  /** SET of node ids registered and not yet swept. */
  get nodes(): string {
    return `${this.prefix}nodes`;
  }

  /** STRING: the node's JSON `NodeInfo`, with a TTL its heartbeat refreshes. */
  node(id: string): string {
    return `${this.prefix}node:${id}`;
  }

  /** SET of rooms in which the node has members. */
  nodeRooms(id: string): string {
    return `${this.prefix}node-rooms:${id}`;
  }

  /** SET of rooms whose media lives on the node (their `homeNode`). */
  nodeHomes(id: string): string {
    return `${this.prefix}node-homes:${id}`;
  }

  /** HASH `{ topology, createdAt, homeNode }`. */
  room(name: string): string {
    return `${this.prefix}room:${name}`;
  }

  /** HASH node id → participants of the room connected to that node (> 0). */
  roomMembers(name: string): string {
    return `${this.prefix}room-members:${name}`;
  }

  nodeChannel(id: string): string {
    return `${this.prefix}bus:node:${id}`;
  }

  roomChannel(name: string): string {
    return `${this.prefix}bus:room:${name}`;
  }
}
