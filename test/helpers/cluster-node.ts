/**
 * One cluster node's Redis side in the test process (connection, registry, placement) with
 * short timings, and the check that Redis holds nothing naming a node (SCAN over every key,
 * every hash field and value, every set member, every string).
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RedisConnection } from '../../src/cluster/RedisConnection.js';
import { NodeRegistry } from '../../src/cluster/NodeRegistry.js';
import { RoomPlacement } from '../../src/cluster/RoomPlacement.js';
import type { NodeLoad } from '../../src/cluster/node-info.js';

export interface TestNode {
  id: string;
  connection: RedisConnection;
  registry: NodeRegistry;
  placement: RoomPlacement;
  load: NodeLoad;
  close(): void;
}

export interface TestNodeOptions {
  heartbeatMs?: number;
  ttlMs?: number;
  claimTtlMs?: number;
  load?: NodeLoad;
  logger?: Logger;
}

export async function startTestNode(url: string, id: string, options: TestNodeOptions = {}): Promise<TestNode> {
  const connection = new RedisConnection({ url, name: id, logger: options.logger });
  const load: NodeLoad = options.load ?? { cpu: 0, rooms: 0, participants: 0 };
  const registry = new NodeRegistry({
    connection,
    node: { id, address: '127.0.0.1', wsUrl: `ws://127.0.0.1/${id}`, httpUrl: `http://127.0.0.1/${id}`, startedAt: Date.now() },
    load: () => load,
    ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
    ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs }),
  });
  const placement = new RoomPlacement({
    connection,
    registry,
    ...(options.claimTtlMs === undefined ? {} : { claimTtlMs: options.claimTtlMs }),
  });
  connection.start();
  await connection.waitReady(5000);
  const registered = new Promise<void>((resolve) => registry.once('registered', () => resolve()));
  registry.start();
  await registered;
  return {
    id,
    connection,
    registry,
    placement,
    load,
    close() {
      placement.close();
      registry.stop();
      connection.close();
    },
  };
}

/** Every key, field, member or value in Redis that contains `text`, as "key: where". */
export async function redisMentions(url: string, text: string): Promise<string[]> {
  const redis = new Redis(url, { lazyConnect: true });
  await redis.connect();
  const found: string[] = [];
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        if (key.includes(text)) found.push(`${key}: key name`);
        const type = await redis.type(key);
        if (type === 'hash') {
          for (const [f, v] of Object.entries(await redis.hgetall(key)))
            if (f.includes(text) || v.includes(text)) found.push(`${key}: field ${f}=${v}`);
        } else if (type === 'set') {
          for (const m of await redis.smembers(key)) if (m.includes(text)) found.push(`${key}: member ${m}`);
        } else if (type === 'string') {
          const v = await redis.get(key);
          if (v?.includes(text)) found.push(`${key}: value`);
        } else found.push(`${key}: unexpected type ${type}`);
      }
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return found;
}
