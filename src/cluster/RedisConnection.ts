/**
 * The node's two connections to Redis: `commands` (reads, writes, scripts, PUBLISH) and
 * `subscriber` (a connection in pub/sub mode can send nothing else). Both reconnect forever with
 * a bounded backoff and never queue commands while down: a command fails at once (or after
 * `commandTimeoutMs` if Redis stops answering), so no caller waits on an outage and no queue
 * grows with it. The callers keep what they must re-send (the registry its record, placement its
 * memberships, the bus a bounded queue) and re-send it on 'ready'.
 *
 * Redis going away is an expected event, not a fault: every ioredis event listener is `guarded`,
 * an outage is logged once when it starts and once when it ends, and counted.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { InternalErrorCode, SwitchboardError } from '../protocol/errors.js';
import { guarded } from '../util/guarded.js';
import { TypedEmitter } from '../util/TypedEmitter.js';
import { isRedisUrl, redactRedisUrl } from './node-identity.js';

/** Reconnect delays: 100 ms, doubling, at most 2 s (a restarted Redis is found within 2 s). */
export const RECONNECT_MIN_MS = 100;
export const RECONNECT_MAX_MS = 2000;

/** The delay before reconnect attempt `attempt` (1-based). */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(Math.max(attempt - 1, 0), 16));
}

export interface RedisConnectionOptions {
  /** `redis://` or `rediss://` URL. */
  url: string;
  /** Shown as the CLIENT SETNAME of both connections (`<name>` and `<name>:sub`). */
  name?: string;
  logger?: Logger | undefined;
  /** A command unanswered for this long fails (Redis stopped, not closed). Default 2000 ms. */
  commandTimeoutMs?: number;
}

export interface RedisConnectionEvents {
  /** Both connections are up (first time, or after an outage). */
  ready: [];
  /** One of them went down; commands fail until the next 'ready'. */
  lost: [];
}

export interface RedisConnectionStats {
  /** Times the connection went from ready to lost. */
  outages: number;
  /** Errors ioredis reported (refused connects, resets…); expected while Redis is away. */
  errors: number;
}

export class RedisConnection extends TypedEmitter<RedisConnectionEvents> {
  readonly commands: Redis;
  readonly subscriber: Redis;
  readonly stats: RedisConnectionStats = { outages: 0, errors: 0 };
  private readonly logger: Logger | undefined;
  private readonly where: string;
  private up = false;
  /** When the current outage started (the first connect counts as one), or undefined while up. */
  private downSince: number | undefined = Date.now();
  private loggedThisOutage = false;
  private closed = false;

  constructor(options: RedisConnectionOptions) {
    super();
    if (!isRedisUrl(options.url)) {
      throw new SwitchboardError(InternalErrorCode.InvalidConfig, `not a redis:// URL: ${redactRedisUrl(options.url)}`, 'redis');
    }
    this.logger = options.logger;
    this.where = redactRedisUrl(options.url);
    const name = options.name ?? 'switchboard';
    const common = {
      retryStrategy: reconnectDelayMs,
      enableOfflineQueue: false,
      // A command in flight when the connection drops fails with it instead of waiting to be re-sent.
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 2000,
      connectTimeout: 2000,
      lazyConnect: true,
    };
    this.commands = new Redis(options.url, { ...common, connectionName: name });
    // The bus subscribes its channels again itself on 'ready'. ioredis's own resubscription is off:
    // it would also bring back a channel left while Redis was away.
    this.subscriber = new Redis(options.url, { ...common, connectionName: `${name}:sub`, autoResubscribe: false });
    for (const [client, role] of [
      [this.commands, 'commands'],
      [this.subscriber, 'subscriber'],
    ] as const) {
      client.on(
        'ready',
        guarded(`redis.${role}.ready`, () => this.update()),
      );
      client.on(
        'close',
        guarded(`redis.${role}.close`, () => this.update()),
      );
      client.on(
        'error',
        guarded(`redis.${role}.error`, (err: Error) => this.onError(err)),
      );
    }
  }

  /** Starts connecting; resolves at once (readiness is the 'ready' event, retries never end). */
  start(): void {
    if (this.closed) throw new SwitchboardError(InternalErrorCode.Closed, 'redis connection closed');
    // The first attempt's failure is reported through 'error' and retried; the promise adds nothing.
    this.commands.connect().catch(() => undefined);
    this.subscriber.connect().catch(() => undefined);
  }

  get isReady(): boolean {
    return this.up;
  }

  /** Resolves on the next 'ready' (at once if ready), or rejects after `ms`. */
  async waitReady(ms: number): Promise<void> {
    if (this.up) return;
    await new Promise<void>((resolve, reject) => {
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(
        guarded('redis.waitReady.timeout', () => {
          this.off('ready', onReady);
          reject(new SwitchboardError(InternalErrorCode.Unavailable, `redis ${this.where} not ready after ${ms} ms`));
        }),
        ms,
      );
      this.once('ready', onReady);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.up = false;
    this.commands.disconnect();
    this.subscriber.disconnect();
    this.removeAllListeners();
  }

  private update(): void {
    if (this.closed) return;
    const ready = this.commands.status === 'ready' && this.subscriber.status === 'ready';
    if (ready === this.up) return;
    this.up = ready;
    if (ready) {
      if (this.loggedThisOutage)
        this.logger?.info({ redis: this.where, downMs: Date.now() - (this.downSince ?? Date.now()) }, 'redis reachable again');
      this.downSince = undefined;
      this.loggedThisOutage = false;
      this.emit('ready');
    } else {
      this.stats.outages++;
      this.downSince = Date.now();
      this.logOutage(undefined);
      this.emit('lost');
    }
  }

  private onError(err: Error): void {
    this.stats.errors++;
    if (!this.up) this.logOutage(err);
  }

  private logOutage(err: Error | undefined): void {
    if (this.loggedThisOutage) return;
    this.loggedThisOutage = true;
    this.logger?.warn({ redis: this.where, err: err?.message }, 'redis unreachable; retrying (logged once per outage)');
  }
}
