/**
 * This server as a node of a cluster (config `redis` set): the Redis connection, the node's
 * record and heartbeat (NodeRegistry), room placement, the bus, and the federation of signaling
 * rooms over them (ClusterRooms), wired here and handed to signaling as its RoomFederation.
 * Its gauges go on /metrics and its view of the cluster on /healthz. Without `redis` none of
 * this exists and the server is one node alone.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { ClusterBus } from '../cluster/ClusterBus.js';
import { ClusterRooms } from '../cluster/ClusterRooms.js';
import { FEDERATION_VALIDATORS, type FederationMessages } from '../cluster/federation-messages.js';
import { NodeRegistry } from '../cluster/NodeRegistry.js';
import { defaultNodeAddress, randomNodeId } from '../cluster/node-identity.js';
import { RECONNECT_MAX_MS, RedisConnection } from '../cluster/RedisConnection.js';
import { RoomPlacement } from '../cluster/RoomPlacement.js';
import type { SignalingServer } from '../signaling/SignalingServer.js';
import type { ConfigSection, SwitchboardConfig } from './config.js';
import { cpuFractionSampler } from './process-cpu.js';

/** How long a graceful leave may wait for Redis (deleting the record, sweeping itself). */
const UNREGISTER_TIMEOUT_MS = 3000;

export interface ClusterNodeUrls {
  wsUrl: string;
  httpUrl: string;
}

export interface ClusterHealth {
  nodeId: string;
  redis: 'up' | 'down';
  draining: boolean;
  /** Live nodes as of the last read (this one included). */
  nodes: number;
  /** Node id → rooms with members there, as each node last announced. */
  roomsPerNode: Record<string, number>;
}

export interface ClusterNode {
  readonly id: string;
  readonly rooms: ClusterRooms;
  readonly registry: NodeRegistry;
  readonly placement: RoomPlacement;
  readonly bus: ClusterBus<FederationMessages>;
  readonly connection: RedisConnection;
  /** Announces that this node takes no new rooms or participants. */
  setDraining(): void;
  health(): ClusterHealth;
  /** Leaves the cluster: placement closed, then the record deleted and this node swept (bounded wait), then Redis closed. */
  close(): Promise<void>;
}

/**
 * Starts this node's cluster parts. It does not wait for Redis: until Redis answers, joins
 * are refused with `cluster-unavailable`, and everything registers once it does.
 */
export function startCluster(
  config: ConfigSection<'cluster'> & { redis: string },
  urls: ClusterNodeUrls,
  load: () => { rooms: number; participants: number },
  logger: Logger,
): ClusterNode {
  const id = config.nodeId ?? randomNodeId();
  const connection = new RedisConnection({ url: config.redis, name: `switchboard-${id}`, logger });
  const cpu = cpuFractionSampler();
  const registry = new NodeRegistry({
    connection,
    node: { id, address: config.nodeAddress ?? defaultNodeAddress(), wsUrl: urls.wsUrl, httpUrl: urls.httpUrl, startedAt: Date.now() },
    load: () => ({ cpu: cpu(), ...load() }),
    logger,
  });
  const placement = new RoomPlacement({ connection, registry, logger });
  // Queued messages wait until the other nodes (reconnecting every ≤ 2 s) have subscribed again.
  const bus = new ClusterBus<FederationMessages>({
    connection,
    nodeId: id,
    validators: FEDERATION_VALIDATORS,
    flushDelayMs: RECONNECT_MAX_MS + 1000,
    logger,
  });
  const rooms = new ClusterRooms({ connection, registry, placement, bus, logger });
  registry.on('node-up', (info) => logger.info({ node: info.id, wsUrl: info.wsUrl }, 'cluster: node up'));
  registry.on('node-down', (node) => logger.warn({ node }, 'cluster: node down; its members leave their rooms'));
  connection.start();
  registry.start();
  logger.info({ node: id }, 'cluster: node started');
  let closed = false;
  return {
    id,
    rooms,
    registry,
    placement,
    bus,
    connection,
    setDraining: () => registry.setDraining(true),
    health: () => {
      const roomsPerNode: Record<string, number> = {};
      for (const [node, info] of registry.knownNodes()) roomsPerNode[node] = info.load.rooms;
      return {
        nodeId: id,
        redis: connection.isReady ? 'up' : 'down',
        draining: registry.isDraining,
        nodes: registry.knownNodes().size,
        roomsPerNode,
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      rooms.close();
      placement.close();
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), UNREGISTER_TIMEOUT_MS);
      });
      const outcome = await Promise.race([registry.unregister().then(() => 'done' as const), gaveUp]).catch((err: unknown) => {
        logger.warn({ err: (err as Error).message }, 'cluster: leaving the cluster failed; the others sweep this node after its TTL');
        return 'failed' as const;
      });
      clearTimeout(timer);
      if (outcome === 'timeout') logger.warn('cluster: Redis did not answer in time; the others sweep this node after its TTL');
      registry.stop();
      bus.close();
      connection.close();
    },
  };
}

/** The cluster on /metrics, read when scraped. */
export function registerClusterGauges(registry: Registry, node: ClusterNode): void {
  const gauge = (name: string, help: string, labelNames: string[], collect: (g: Gauge) => void): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        collect(this);
      },
    });
  };
  gauge('switchboard_cluster_nodes', 'Live cluster nodes as of the last read of Redis (this one included)', [], (g) =>
    g.set(node.registry.knownNodes().size),
  );
  gauge('switchboard_cluster_rooms', 'Rooms with members on each live node, as the node last announced', ['node'], (g) => {
    for (const [id, info] of node.registry.knownNodes()) g.set({ node: id }, info.load.rooms);
  });
  gauge('switchboard_cluster_participants', 'Participants on each live node, as the node last announced', ['node'], (g) => {
    for (const [id, info] of node.registry.knownNodes()) g.set({ node: id }, info.load.participants);
  });
  gauge('switchboard_cluster_redis_up', '1 while this node reaches Redis', [], (g) => g.set(node.connection.isReady ? 1 : 0));
  gauge('switchboard_cluster_redis_outages_total', 'Times this node lost Redis', [], (g) => g.set(node.connection.stats.outages));
  gauge(
    'switchboard_cluster_bus_dropped_total',
    'Bus messages dropped, by reason (queueFull: over 1024 waiting for Redis; malformed, unknownType, invalidBody, tooLarge: received and refused)',
    ['reason'],
    (g) => {
      for (const [reason, n] of Object.entries(node.bus.stats.dropped)) g.set({ reason }, n);
    },
  );
  gauge('switchboard_cluster_bus_messages_total', 'Bus messages sent and received by this node', ['direction'], (g) => {
    g.set({ direction: 'sent' }, node.bus.stats.sent);
    g.set({ direction: 'received' }, node.bus.stats.received);
  });
  gauge(
    'switchboard_cluster_federation_events_total',
    'Shared rooms: joinsUnavailable (refused, Redis down), rosterTimeouts, membersLost (to a lost node), evictions (identity joined first elsewhere), ignored (unknown room, member or sender)',
    ['event'],
    (g) => {
      for (const [event, n] of Object.entries(node.rooms.stats) as Array<[string, number]>) g.set({ event }, n);
    },
  );
  gauge('switchboard_cluster_reregistrations_total', 'Times this node found its record gone from Redis and wrote it again', [], (g) =>
    g.set(node.registry.stats.reRegistrations),
  );
}

/**
 * app.ts's entry: this server joins the cluster of `config.cluster.redis` (set) with the URLs
 * it listens on, signaling's rooms become federated, and the cluster's gauges go on /metrics.
 */
export function joinCluster(
  config: SwitchboardConfig,
  server: Server,
  tls: boolean,
  signaling: SignalingServer,
  metrics: Registry,
  logger: Logger,
): ClusterNode {
  const { port } = server.address() as AddressInfo;
  const host =
    config.server.host === '0.0.0.0' || config.server.host === '::'
      ? (config.cluster.nodeAddress ?? defaultNodeAddress())
      : config.server.host;
  const base = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const node = startCluster(
    { ...config.cluster, redis: config.cluster.redis as string },
    { wsUrl: `${tls ? 'wss' : 'ws'}://${base}/ws`, httpUrl: `${tls ? 'https' : 'http'}://${base}` },
    () => ({ rooms: signaling.stats.rooms, participants: signaling.stats.participants }),
    logger,
  );
  signaling.federate(node.rooms);
  registerClusterGauges(metrics, node);
  return node;
}
