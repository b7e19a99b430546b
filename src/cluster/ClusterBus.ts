/**
 * Messages between nodes over Redis pub/sub: to one node (`<prefix>bus:node:<id>`, which every
 * node subscribes to for itself) or to every node of a room (`<prefix>bus:room:<name>`, which a
 * node subscribes to while it has members there: `joinRoom` / `leaveRoom`).
 *
 * Order: Redis delivers one connection's PUBLISHes in order, and this bus sends them in call
 * order on one connection, so a receiver sees each sender's messages in order (per channel).
 * Delivery is at most once: pub/sub keeps nothing for a subscriber that is away.
 *
 * While Redis is down, messages wait in a queue of at most `maxQueue` (1024) and are published
 * in order on reconnection; when the queue is full the oldest message is dropped and counted
 * (`dropped.queueFull`): the newest state matters most to the receiver. A PUBLISH that fails
 * because the connection broke under it is counted (`dropped.publishFailed`), not retried (it may
 * have been delivered).
 *
 * Received messages are bounded (MAX_BUS_MESSAGE_BYTES), decoded and checked (bus-envelope.ts);
 * a bad one is dropped and counted by reason, never thrown; this node's own messages (room
 * channels echo them) are ignored.
 */
import type { Logger } from 'pino';
import { InternalErrorCode, SwitchboardError } from '../protocol/errors.js';
import { guarded } from '../util/guarded.js';
import { TypedEmitter } from '../util/TypedEmitter.js';
import {
  BUS_ENVELOPE_VERSION,
  decodeEnvelope,
  MAX_BUS_MESSAGE_BYTES,
  type BusEnvelope,
  type BusMessageMap,
  type BusValidators,
} from './bus-envelope.js';
import { ClusterKeys } from './keys.js';
import { isNodeId } from './node-identity.js';
import type { RedisConnection } from './RedisConnection.js';
import { checkRoomName } from './room-record.js';

export const DEFAULT_BUS_QUEUE = 1024;

export interface ClusterBusOptions<M extends BusMessageMap<M>> {
  connection: RedisConnection;
  nodeId: string;
  validators: BusValidators<M>;
  keys?: ClusterKeys;
  maxQueue?: number;
  /**
   * After a reconnection, messages queued during the outage wait this long before they are
   * published (new ones queue behind them): the other nodes reconnect on their own backoff (at
   * most RECONNECT_MAX_MS), and pub/sub keeps nothing for a node not subscribed yet. Default 0.
   */
  flushDelayMs?: number;
  logger?: Logger | undefined;
}

export interface ClusterBusEvents<M extends BusMessageMap<M>> {
  message: [BusEnvelope<M>];
}

export interface ClusterBusStats {
  sent: number;
  received: number;
  /** Own messages seen on a room channel (ignored). */
  own: number;
  /** Messages on a channel left since (ignored). */
  unsubscribed: number;
  dropped: {
    tooLarge: number;
    malformed: number;
    unknownType: number;
    invalidBody: number;
    queueFull: number;
    publishFailed: number;
  };
}

interface Pending {
  channel: string;
  payload: string;
}

export class ClusterBus<M extends BusMessageMap<M>> extends TypedEmitter<ClusterBusEvents<M>> {
  readonly stats: ClusterBusStats = {
    sent: 0,
    received: 0,
    own: 0,
    unsubscribed: 0,
    dropped: { tooLarge: 0, malformed: 0, unknownType: 0, invalidBody: 0, queueFull: 0, publishFailed: 0 },
  };
  private readonly connection: RedisConnection;
  private readonly nodeId: string;
  private readonly validators: BusValidators<M>;
  private readonly keys: ClusterKeys;
  private readonly maxQueue: number;
  private readonly flushDelayMs: number;
  private readonly logger: Logger | undefined;
  /** Channels this node wants (its own, and its rooms'): subscribed again on every 'ready'. */
  private readonly channels = new Set<string>();
  private readonly queue: Pending[] = [];
  private seq = 0;
  private closed = false;
  /** Subscriptions sent and not yet confirmed, by channel. */
  private readonly subscribing = new Map<string, Promise<void>>();
  private readonly onReady = guarded('cluster.bus.ready', () => {
    void this.subscribe([...this.channels]);
    if (this.flushDelayMs === 0 || this.queue.length === 0) return this.flush();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(
      guarded('cluster.bus.flush', () => {
        this.flushTimer = undefined;
        this.flush();
      }),
      this.flushDelayMs,
    );
  });
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly onMessage = guarded('cluster.bus.message', (channel: Buffer, message: Buffer) => this.receive(channel, message));

  constructor(options: ClusterBusOptions<M>) {
    super();
    if (!isNodeId(options.nodeId))
      throw new SwitchboardError(InternalErrorCode.InvalidArgument, `invalid node id ${options.nodeId}`, 'nodeId');
    this.connection = options.connection;
    this.nodeId = options.nodeId;
    this.validators = options.validators;
    this.keys = options.keys ?? new ClusterKeys();
    this.maxQueue = options.maxQueue ?? DEFAULT_BUS_QUEUE;
    this.flushDelayMs = options.flushDelayMs ?? 0;
    this.logger = options.logger;
    this.channels.add(this.keys.nodeChannel(this.nodeId));
    this.connection.subscriber.on('messageBuffer', this.onMessage);
    this.connection.on('ready', this.onReady);
    if (this.connection.isReady) this.onReady();
  }

  sendToNode<K extends keyof M & string>(nodeId: string, type: K, body: M[K]): void {
    if (!isNodeId(nodeId)) throw new SwitchboardError(InternalErrorCode.InvalidArgument, `invalid node id ${nodeId}`, 'nodeId');
    this.send(this.keys.nodeChannel(nodeId), type, body, undefined);
  }

  /** To every node subscribed to the room (this one excepted). */
  sendToRoom<K extends keyof M & string>(room: string, type: K, body: M[K]): void {
    checkRoomName(room);
    this.send(this.keys.roomChannel(room), type, body, room);
  }

  /**
   * Listens to the room's channel from now on. Resolves once Redis confirmed the subscription
   * (a message published after that reaches this node), or at once while Redis is down ('ready'
   * subscribes again); never rejects.
   */
  joinRoom(room: string): Promise<void> {
    checkRoomName(room);
    const channel = this.keys.roomChannel(room);
    if (this.channels.has(channel)) return this.subscribing.get(channel) ?? Promise.resolve();
    this.channels.add(channel);
    const done = this.subscribe([channel]).finally(() => {
      if (this.subscribing.get(channel) === done) this.subscribing.delete(channel);
    });
    this.subscribing.set(channel, done);
    return done;
  }

  leaveRoom(room: string): void {
    const channel = this.keys.roomChannel(room);
    if (!this.channels.delete(channel)) return;
    if (this.connection.isReady) this.connection.subscriber.unsubscribe(channel).catch(() => undefined);
  }

  /** Messages waiting for Redis. */
  get queued(): number {
    return this.queue.length;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connection.subscriber.off('messageBuffer', this.onMessage);
    this.connection.off('ready', this.onReady);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.connection.isReady) this.connection.subscriber.unsubscribe(...this.channels).catch(() => undefined);
    this.channels.clear();
    this.queue.length = 0;
    this.removeAllListeners();
  }

  private send(channel: string, type: string, body: unknown, room: string | undefined): void {
    if (this.closed) throw new SwitchboardError(InternalErrorCode.Closed, 'cluster bus closed');
    const envelope = { v: BUS_ENVELOPE_VERSION, from: this.nodeId, seq: this.seq++, type, ...(room === undefined ? {} : { room }), body };
    const payload = JSON.stringify(envelope);
    if (Buffer.byteLength(payload) > MAX_BUS_MESSAGE_BYTES) {
      this.stats.dropped.tooLarge++;
      throw new SwitchboardError(
        InternalErrorCode.InvalidArgument,
        `cluster message of ${payload.length} bytes is over ${MAX_BUS_MESSAGE_BYTES}`,
      );
    }
    // Behind a non-empty queue even when Redis is back: order per sender is kept.
    if (!this.connection.isReady || this.queue.length > 0) {
      if (this.queue.length >= this.maxQueue) {
        this.queue.shift();
        this.stats.dropped.queueFull++;
      }
      this.queue.push({ channel, payload });
      return;
    }
    this.publish(channel, payload);
  }

  private publish(channel: string, payload: string): void {
    this.stats.sent++;
    this.connection.commands.publish(channel, payload).catch((err: unknown) => {
      this.stats.dropped.publishFailed++;
      this.logger?.debug({ channel, err: (err as Error).message }, 'cluster publish failed');
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.connection.isReady) {
      const next = this.queue.shift()!;
      this.publish(next.channel, next.payload);
    }
  }

  private async subscribe(channels: string[]): Promise<void> {
    if (channels.length === 0 || !this.connection.isReady) return;
    try {
      await this.connection.subscriber.subscribe(...channels);
    } catch (err) {
      this.logger?.debug({ err: (err as Error).message }, 'cluster subscribe failed; retried on reconnection');
    }
  }

  private receive(channel: Buffer, message: Buffer): void {
    // A message in flight when its room was left.
    if (!this.channels.has(channel.toString('utf8'))) {
      this.stats.unsubscribed++;
      return;
    }
    if (message.length > MAX_BUS_MESSAGE_BYTES) {
      this.stats.dropped.tooLarge++;
      return;
    }
    const outcome = decodeEnvelope(message.toString('utf8'), this.validators);
    if (!outcome.ok) {
      if (outcome.reason === 'malformed') this.stats.dropped.malformed++;
      else if (outcome.reason === 'unknown-type') this.stats.dropped.unknownType++;
      else this.stats.dropped.invalidBody++;
      return;
    }
    if (outcome.envelope.from === this.nodeId) {
      this.stats.own++;
      return;
    }
    this.stats.received++;
    this.emit('message', outcome.envelope);
  }
}
