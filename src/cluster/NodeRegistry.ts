/**
 * This node's entry in the cluster, and its view of the other nodes.
 *
 * Every `heartbeatMs` (2 s) the node writes its record (`<prefix>node:<id>`, TTL `ttlMs` = 6 s)
 * and then reads every node's: the ids listed in `<prefix>nodes` and their records (one SMEMBERS
 * and one MGET). A node that stops heartbeating loses its record at most 6 s after its last
 * write and is seen gone at the next read, 2 s later at most: out of placement within 8 s
 * (issue 15 asks for 10 s). Ids still listed without a record are reported as 'dead-nodes' on
 * every read until a sweep (RoomPlacement) removes them.
 *
 * Why polling and not keyspace notifications: notifications need `notify-keyspace-events` set on
 * the server (often off, sometimes not allowed on managed Redis), are lost while the subscriber
 * is disconnected, and an `expired` event comes only when Redis gets round to expiring the key.
 * A read every 2 s costs two commands per node and repairs itself after any outage.
 *
 * Redis restarts (livekit/livekit#2464): the heartbeat script says when the node's record was
 * missing (a Redis that lost its data, or a stall past the TTL that got the node swept); the
 * registry emits 'registered' with `again: true`, and placement writes the node's memberships
 * back. No node restarts. After every reconnection, removals wait one TTL: the other nodes need
 * a heartbeat to re-appear, and an empty Redis is not a dead cluster.
 */
import type { Logger } from 'pino';
import { InternalErrorCode, SwitchboardError } from '../protocol/errors.js';
import { guarded } from '../util/guarded.js';
import { TypedEmitter } from '../util/TypedEmitter.js';
import { ClusterKeys } from './keys.js';
import { isNodeId } from './node-identity.js';
import { decodeNodeInfo, encodeNodeInfo, MAX_NODE_INFO_BYTES, type NodeInfo, type NodeLoad } from './node-info.js';
import type { RedisConnection } from './RedisConnection.js';
import { HEARTBEAT } from './scripts.js';
import { sweepNode, type SweepResult } from './sweep.js';

export const DEFAULT_HEARTBEAT_MS = 2000;
export const DEFAULT_NODE_TTL_MS = 6000;
/** Records read per MGET. */
const MGET_CHUNK = 256;

export interface NodeRegistryOptions {
  connection: RedisConnection;
  /** The node's fixed facts; `draining` and `load` change and are sent with every heartbeat. */
  node: Omit<NodeInfo, 'draining' | 'load'>;
  /** Sampled at every heartbeat. */
  load: () => NodeLoad;
  keys?: ClusterKeys;
  heartbeatMs?: number;
  ttlMs?: number;
  logger?: Logger | undefined;
}

export interface NodeRegistryEvents {
  /** Another node appeared. */
  'node-up': [NodeInfo];
  /** Another node's record is gone (stopped heartbeating, or unregistered). */
  'node-down': [string];
  /** Ids still listed in `nodes` without a record; emitted on every read until they are swept. */
  'dead-nodes': [string[]];
  /** This node's record was written where none was: `again` when it is not the first time. */
  registered: [{ again: boolean }];
}

export interface NodeRegistryStats {
  heartbeats: number;
  heartbeatFailures: number;
  polls: number;
  pollFailures: number;
  /** Times the node found its record gone and wrote it again (Redis restarted or flushed). */
  reRegistrations: number;
  /** Records of other nodes that were not valid NodeInfo JSON (skipped, not swept). */
  malformedRecords: number;
}

export class NodeRegistry extends TypedEmitter<NodeRegistryEvents> {
  readonly id: string;
  readonly keys: ClusterKeys;
  readonly heartbeatMs: number;
  readonly ttlMs: number;
  readonly stats: NodeRegistryStats = {
    heartbeats: 0,
    heartbeatFailures: 0,
    polls: 0,
    pollFailures: 0,
    reRegistrations: 0,
    malformedRecords: 0,
  };
  private readonly connection: RedisConnection;
  private readonly node: Omit<NodeInfo, 'draining' | 'load'>;
  private readonly load: () => NodeLoad;
  private readonly logger: Logger | undefined;
  private draining = false;
  private lastLoad: NodeLoad = { cpu: 0, rooms: 0, participants: 0 };
  private known = new Map<string, NodeInfo>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private registeredOnce = false;
  /** No node is declared gone before this time (a TTL after each reconnection). */
  private removalsAfter = 0;
  private stopped = false;
  private readonly onReady = guarded('cluster.registry.ready', () => {
    this.removalsAfter = Date.now() + this.ttlMs;
    this.tick();
  });

  constructor(options: NodeRegistryOptions) {
    super();
    if (!isNodeId(options.node.id))
      throw new SwitchboardError(InternalErrorCode.InvalidArgument, `invalid node id ${options.node.id}`, 'nodeId');
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.ttlMs = options.ttlMs ?? DEFAULT_NODE_TTL_MS;
    // Two missed heartbeats must not drop a live node; a TTL over 8 s breaks the 10 s promise.
    if (this.ttlMs < 2 * this.heartbeatMs || this.heartbeatMs < 50) {
      throw new SwitchboardError(InternalErrorCode.InvalidArgument, 'the node TTL must be at least two heartbeats', 'ttlMs');
    }
    this.id = options.node.id;
    this.node = options.node;
    this.load = options.load;
    this.connection = options.connection;
    this.keys = options.keys ?? new ClusterKeys();
    this.logger = options.logger;
  }

  /** Heartbeats from now on (the first at once if Redis is up, else on 'ready'). */
  start(): void {
    if (this.stopped) throw new SwitchboardError(InternalErrorCode.Closed, 'registry stopped');
    if (this.timer) return;
    this.connection.on('ready', this.onReady);
    this.timer = setInterval(
      guarded('cluster.registry.tick', () => this.tick()),
      this.heartbeatMs,
    );
    if (this.connection.isReady) this.onReady();
  }

  /** A draining node takes no new rooms; the change is sent at once. */
  setDraining(draining: boolean): void {
    this.draining = draining;
    this.tick();
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Live nodes (this one included) as of the last read. */
  knownNodes(): ReadonlyMap<string, NodeInfo> {
    return this.known;
  }

  /** Live nodes (this one included) read from Redis now; rejects while Redis is down. */
  async liveNodes(): Promise<NodeInfo[]> {
    const { live } = await this.read();
    return [...live.values()];
  }

  /**
   * Leaves the cluster: no more heartbeats, the record deleted, then the node's memberships and
   * homes swept (rooms with members on other nodes stay, re-homed if their media lived here).
   */
  async unregister(): Promise<SweepResult> {
    this.stop();
    await this.connection.commands.del(this.keys.node(this.id));
    return sweepNode(this.connection.commands, this.keys, this.id);
  }

  /** Stops heartbeating and reading without touching Redis (the record expires after its TTL). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.connection.off('ready', this.onReady);
  }

  private tick(): void {
    if (this.busy || this.stopped || !this.connection.isReady) return;
    this.busy = true;
    this.heartbeatAndRead()
      .catch((err: unknown) => this.logger?.debug({ err: (err as Error).message }, 'cluster heartbeat/read failed'))
      .finally(() => {
        this.busy = false;
      });
  }

  private async heartbeatAndRead(): Promise<void> {
    try {
      await this.heartbeat();
    } catch (err) {
      this.stats.heartbeatFailures++;
      throw err;
    }
    try {
      await this.refresh();
    } catch (err) {
      this.stats.pollFailures++;
      throw err;
    }
  }

  private sampleLoad(): NodeLoad {
    try {
      this.lastLoad = this.load();
    } catch (err) {
      this.logger?.warn({ err: (err as Error).message }, 'cluster load sampler failed; the last load is sent');
    }
    return this.lastLoad;
  }

  private async heartbeat(): Promise<void> {
    const info: NodeInfo = { ...this.node, draining: this.draining, load: this.sampleLoad() };
    const json = encodeNodeInfo(info);
    if (json.length > MAX_NODE_INFO_BYTES) throw new SwitchboardError(InternalErrorCode.InvalidArgument, 'node record too large');
    const existed = await this.connection.commands.eval(HEARTBEAT, 0, this.keys.prefix, this.id, json, this.ttlMs);
    if (this.stopped) return;
    this.stats.heartbeats++;
    this.known.set(this.id, info);
    if (existed === 0) {
      const again = this.registeredOnce;
      this.registeredOnce = true;
      if (again) {
        this.stats.reRegistrations++;
        this.logger?.info({ node: this.id }, 'cluster: this node was missing from Redis and registered again');
      }
      this.emit('registered', { again });
    }
  }

  private async read(): Promise<{ live: Map<string, NodeInfo>; dead: string[] }> {
    const redis = this.connection.commands;
    const ids = (await redis.smembers(this.keys.nodes)).filter(isNodeId);
    const live = new Map<string, NodeInfo>();
    const dead: string[] = [];
    for (let i = 0; i < ids.length; i += MGET_CHUNK) {
      const chunk = ids.slice(i, i + MGET_CHUNK);
      const values = await redis.mget(chunk.map((id) => this.keys.node(id)));
      chunk.forEach((id, j) => {
        const text = values[j];
        if (text === null || text === undefined) dead.push(id);
        else {
          const info = decodeNodeInfo(text, id);
          if (info) live.set(id, info);
          else this.stats.malformedRecords++;
        }
      });
    }
    return { live, dead };
  }

  private async refresh(): Promise<void> {
    const { live, dead } = await this.read();
    if (this.stopped) return;
    this.stats.polls++;
    const removalsAllowed = Date.now() >= this.removalsAfter;
    const previous = this.known;
    this.known = new Map(live);
    for (const [id, info] of previous) {
      if (live.has(id)) continue;
      if (!removalsAllowed || id === this.id) this.known.set(id, info);
      else this.emit('node-down', id);
    }
    for (const [id, info] of live) if (id !== this.id && !previous.has(id)) this.emit('node-up', info);
    const others = dead.filter((id) => id !== this.id);
    if (removalsAllowed && others.length > 0) this.emit('dead-nodes', others);
  }
}
