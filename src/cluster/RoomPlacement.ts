/**
 * Rooms across nodes: which node holds a room's media (its placement record), and how many
 * participants each node has in it (membership). Rules:
 * - A room's record is claimed atomically; the first claimer wins, every later claim reads the
 *   winner's record (CREATE_ROOM). A claim no one joins expires after `claimTtlMs`.
 * - A node writes only its own membership, as an absolute count (SET_MEMBERS); it keeps its
 *   counts here too and writes them all again when Redis lost them ('registered' again after a
 *   restart, livekit/livekit#2464) or when a write failed during an outage.
 * - A room is deleted only when no node has members in it, never because one node's count
 *   reached zero (livekit/livekit#4316).
 * - Dead nodes are swept by every live node (sweep.ts): their memberships removed, rooms left
 *   without members deleted, rooms homed on them re-homed to the node with most participants.
 *
 * `placeRoom` picks a new room's home with `pickLeastLoaded` (placement-rule.ts) over the nodes
 * of the registry's last read (at most one heartbeat old).
 */
import type { Logger } from 'pino';
import type { RoomTopology } from '../protocol/media.js';
import { InternalErrorCode, SwitchboardError } from '../protocol/errors.js';
import { guarded } from '../util/guarded.js';
import { TypedEmitter } from '../util/TypedEmitter.js';
import type { ClusterKeys } from './keys.js';
import { isNodeId } from './node-identity.js';
import type { NodeRegistry } from './NodeRegistry.js';
import { pickLeastLoaded } from './placement-rule.js';
import type { RedisConnection } from './RedisConnection.js';
import { checkRoomName, recordFromReply, type RoomRecord } from './room-record.js';
import { CREATE_ROOM, SET_MEMBERS } from './scripts.js';
import { sweepNode, type SweepResult } from './sweep.js';

export const DEFAULT_CLAIM_TTL_MS = 10_000;

export interface RoomState extends RoomRecord {
  /** Node id → participants of the room on that node. */
  members: Map<string, number>;
}

export interface RoomPlacementOptions {
  connection: RedisConnection;
  registry: NodeRegistry;
  claimTtlMs?: number;
  logger?: Logger | undefined;
}

export interface RoomPlacementEvents {
  /** A sweep of a dead node changed something (rooms deleted or re-homed, the node removed). */
  swept: [SweepResult];
}

export interface RoomPlacementStats {
  /** Membership writes that failed (Redis down); they are written again on reconnection. */
  writeFailures: number;
  /** Times every local membership was written again. */
  resyncs: number;
  sweeps: number;
  sweepFailures: number;
}

interface LocalRoom {
  count: number;
  record: RoomRecord;
}

export class RoomPlacement extends TypedEmitter<RoomPlacementEvents> {
  readonly stats: RoomPlacementStats = { writeFailures: 0, resyncs: 0, sweeps: 0, sweepFailures: 0 };
  private readonly connection: RedisConnection;
  private readonly registry: NodeRegistry;
  private readonly keys: ClusterKeys;
  private readonly claimTtlMs: number;
  private readonly logger: Logger | undefined;
  private readonly local = new Map<string, LocalRoom>();
  /** Rooms whose last write failed. */
  private readonly dirty = new Set<string>();
  private sweeping = false;
  private closed = false;
  private readonly onRegistered = guarded('cluster.placement.registered', ({ again }: { again: boolean }) => {
    if (again) this.resync(this.local.keys());
  });
  private readonly onReady = guarded('cluster.placement.ready', () => {
    if (this.dirty.size > 0) this.resync([...this.dirty]);
  });
  private readonly onDeadNodes = guarded('cluster.placement.dead-nodes', (ids: string[]) => this.sweepDead(ids));

  constructor(options: RoomPlacementOptions) {
    super();
    this.connection = options.connection;
    this.registry = options.registry;
    this.keys = options.registry.keys;
    this.claimTtlMs = options.claimTtlMs ?? DEFAULT_CLAIM_TTL_MS;
    this.logger = options.logger;
    this.registry.on('registered', this.onRegistered);
    this.registry.on('dead-nodes', this.onDeadNodes);
    this.connection.on('ready', this.onReady);
  }

  /**
   * The room's record: the existing one, or a new one homed on the least-loaded live node that
   * does not drain (this node when the registry has read nothing yet).
   */
  async placeRoom(name: string, topology: RoomTopology): Promise<{ record: RoomRecord; created: boolean }> {
    const home = pickLeastLoaded(this.registry.knownNodes().values());
    if (!home) throw new SwitchboardError(InternalErrorCode.Unavailable, 'no live node takes new rooms (all drain)');
    return this.createRoom(name, topology, home.id);
  }

  /** Claims the room for `homeNode` unless it exists: exactly one concurrent claimer gets `created`. */
  async createRoom(name: string, topology: RoomTopology, homeNode: string): Promise<{ record: RoomRecord; created: boolean }> {
    checkRoomName(name);
    if (!isNodeId(homeNode)) throw new SwitchboardError(InternalErrorCode.InvalidArgument, `invalid node id ${homeNode}`, 'homeNode');
    const reply = await this.connection.commands.eval(
      CREATE_ROOM,
      0,
      this.keys.prefix,
      name,
      topology,
      Date.now(),
      homeNode,
      this.claimTtlMs,
    );
    if (!Array.isArray(reply)) throw new SwitchboardError(InternalErrorCode.Malformed, 'unexpected reply from the claim script');
    return { record: recordFromReply(name, reply.slice(1)), created: reply[0] === 1 };
  }

  /**
   * One more participant of `record`'s room on this node. Returns the record as it stands (its
   * home may differ from `record`'s: re-created or re-homed when its home was not live). While
   * Redis is down the count is kept here and written on reconnection; the call rejects.
   */
  async addMember(record: RoomRecord): Promise<RoomRecord> {
    checkRoomName(record.name);
    const entry = this.local.get(record.name) ?? { count: 0, record };
    entry.count++;
    this.local.set(record.name, entry);
    return (await this.write(record.name)) ?? entry.record;
  }

  /** One participant fewer on this node; `deleted` when no node has members left and the room was deleted. */
  async removeMember(name: string): Promise<{ deleted: boolean }> {
    const entry = this.local.get(name);
    if (!entry || entry.count === 0)
      throw new SwitchboardError(InternalErrorCode.InvalidArgument, `room ${name} has no member on this node`, 'room');
    entry.count--;
    const record = await this.write(name);
    return { deleted: record === undefined };
  }

  /** Participants of each room on this node, as this node counts them. */
  localCounts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, e] of this.local) if (e.count > 0) out.set(name, e.count);
    return out;
  }

  /** The room's record and members as Redis holds them, or undefined when there is none. */
  async room(name: string): Promise<RoomState | undefined> {
    checkRoomName(name);
    const [record, members] = await Promise.all([
      this.connection.commands.hmget(this.keys.room(name), 'topology', 'createdAt', 'homeNode'),
      this.connection.commands.hgetall(this.keys.roomMembers(name)),
    ]);
    if (record[0] === null) return undefined;
    const counts = new Map<string, number>();
    for (const [node, n] of Object.entries(members)) counts.set(node, Number(n));
    return { ...recordFromReply(name, record), members: counts };
  }

  /** Sweeps the given dead nodes now (the registry's 'dead-nodes' does it on every read). */
  async sweep(ids: readonly string[]): Promise<SweepResult[]> {
    const results: SweepResult[] = [];
    for (const id of ids) {
      const r = await sweepNode(this.connection.commands, this.keys, id);
      this.stats.sweeps++;
      results.push(r);
      if (r.deleted.length > 0 || r.rehomed.length > 0 || r.kept > 0 || r.done) {
        for (const { room, homeNode } of r.rehomed) {
          const e = this.local.get(room);
          if (e) e.record = { ...e.record, homeNode };
        }
        this.emit('swept', r);
      }
    }
    return results;
  }

  /** Stops listening; the node's memberships stay in Redis until `NodeRegistry.unregister()` or a sweep. */
  close(): void {
    this.closed = true;
    this.registry.off('registered', this.onRegistered);
    this.registry.off('dead-nodes', this.onDeadNodes);
    this.connection.off('ready', this.onReady);
    this.removeAllListeners();
  }

  /** Writes the local count of `name`; the record as it stands, undefined when the room was deleted. */
  private async write(name: string, restore = false): Promise<RoomRecord | undefined> {
    const entry = this.local.get(name);
    if (!entry) return undefined;
    const { record } = entry;
    let reply: unknown;
    try {
      reply = await this.connection.commands.eval(
        SET_MEMBERS,
        0,
        this.keys.prefix,
        name,
        this.registry.id,
        entry.count,
        record.topology,
        record.createdAt,
        record.homeNode,
        restore ? '1' : '0',
      );
    } catch (err) {
      this.stats.writeFailures++;
      this.dirty.add(name);
      throw err;
    }
    if (!Array.isArray(reply)) throw new SwitchboardError(InternalErrorCode.Malformed, 'unexpected reply from the membership script');
    // Only the latest count matters; a later successful write clears an earlier failure.
    this.dirty.delete(name);
    if (entry.count === 0 && this.local.get(name) === entry) this.local.delete(name);
    if (reply[0] === 1) return undefined;
    const current = entry.count > 0 ? recordFromReply(name, reply.slice(1)) : undefined;
    if (current) entry.record = current;
    return current ?? record;
  }

  private resync(names: Iterable<string>): void {
    if (this.closed) return;
    this.stats.resyncs++;
    const list = [...names];
    void (async () => {
      for (const name of list) {
        try {
          await this.write(name, true);
        } catch (err) {
          this.logger?.debug({ room: name, err: (err as Error).message }, 'cluster membership resync failed; retried on reconnection');
        }
      }
    })();
  }

  private sweepDead(ids: string[]): void {
    if (this.sweeping || this.closed) return;
    this.sweeping = true;
    this.sweep(ids)
      .catch((err: unknown) => {
        this.stats.sweepFailures++;
        this.logger?.debug({ err: (err as Error).message }, 'cluster sweep failed; retried at the next read');
      })
      .finally(() => {
        this.sweeping = false;
      });
  }
}
