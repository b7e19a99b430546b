/**
 * ClusterBus over a real redis-server: per-publisher order, room fan-out without the sender,
 * malformed and oversized messages dropped and counted (never thrown), a bounded queue while
 * the sender's Redis connection is cut (through a TCP relay the test cuts and restores, so the
 * receivers stay subscribed), and re-subscription after Redis restarts.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { ClusterBus } from '../../src/cluster/ClusterBus.js';
import { MAX_BUS_MESSAGE_BYTES, type BusEnvelope, type BusValidators } from '../../src/cluster/bus-envelope.js';
import { ClusterKeys } from '../../src/cluster/keys.js';
import { RedisConnection } from '../../src/cluster/RedisConnection.js';
import { entryFaults } from '../../src/util/guarded.js';
import { RedisServer, redisWithNodes } from '../helpers/redis-server.js';
import { until } from '../helpers/until.js';

interface Messages {
  ping: { i: number };
  note: { text: string };
}
const validators: BusValidators<Messages> = {
  ping: (b): b is { i: number } => typeof b === 'object' && b !== null && Number.isSafeInteger((b as { i?: unknown }).i),
  note: (b): b is { text: string } => typeof b === 'object' && b !== null && typeof (b as { text?: unknown }).text === 'string',
};

interface BusNode {
  connection: RedisConnection;
  bus: ClusterBus<Messages>;
  got: BusEnvelope<Messages>[];
  close(): void;
}

async function startBus(url: string, nodeId: string, maxQueue?: number): Promise<BusNode> {
  const connection = new RedisConnection({ url, name: nodeId });
  connection.start();
  await connection.waitReady(5000);
  const bus = new ClusterBus<Messages>({ connection, nodeId, validators, ...(maxQueue === undefined ? {} : { maxQueue }) });
  const got: BusEnvelope<Messages>[] = [];
  bus.on('message', (m) => got.push(m));
  return {
    connection,
    bus,
    got,
    close() {
      bus.close();
      connection.close();
    },
  };
}

/** Subscribers of `channel` as Redis counts them. */
async function subscribers(redis: Redis, channel: string): Promise<number> {
  const reply = (await redis.pubsub('NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

test(
  'messages arrive in order per sender, rooms reach every member but the sender, bad input is dropped and counted',
  { timeout: 30_000 },
  async (t) => {
    const redis = await RedisServer.start();
    const raw = new Redis(redis.url);
    const nodes: BusNode[] = [];
    t.after(async () => {
      for (const n of nodes) n.close();
      raw.disconnect();
      await redis.close();
    });
    const faultsBefore = entryFaults.total();
    const a = await startBus(redis.url, 'node-a');
    const b = await startBus(redis.url, 'node-b');
    const c = await startBus(redis.url, 'node-c');
    nodes.push(a, b, c);
    const keys = new ClusterKeys();
    for (const id of ['node-a', 'node-b', 'node-c']) {
      const deadline = Date.now() + 3000;
      while ((await subscribers(raw, keys.nodeChannel(id))) !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    }

    // Order: 300 messages from A to B, and 300 from C to B at the same time.
    for (let i = 0; i < 300; i++) {
      a.bus.sendToNode('node-b', 'ping', { i });
      c.bus.sendToNode('node-b', 'ping', { i });
    }
    await until('B got 600 messages', () => b.got.length === 600, 5000);
    for (const from of ['node-a', 'node-c']) {
      const seen = b.got.filter((m) => m.from === from).map((m) => (m.body as { i: number }).i);
      assert.deepEqual(
        seen,
        Array.from({ length: 300 }, (_, i) => i),
        `messages from ${from} in order`,
      );
    }

    // Rooms: all three in room "r"; A's message reaches B and C, not A.
    for (const n of [a, b, c]) void n.bus.joinRoom('r');
    const deadline = Date.now() + 3000;
    while ((await subscribers(raw, keys.roomChannel('r'))) !== 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    b.got.length = 0;
    a.bus.sendToRoom('r', 'note', { text: 'hello room' });
    await until('B and C got the room message', () => b.got.length === 1 && c.got.length === 1, 3000);
    assert.deepEqual([b.got[0]?.room, b.got[0]?.type, b.got[0]?.body], ['r', 'note', { text: 'hello room' }]);
    await until('A saw its own message and ignored it', () => a.bus.stats.own === 1, 3000);
    assert.equal(a.got.length, 0);

    // Malformed input straight onto B's channel.
    const channel = keys.nodeChannel('node-b');
    b.got.length = 0;
    const bad = [
      'not json',
      '[1,2]',
      JSON.stringify({ v: 2, from: 'node-x', seq: 0, type: 'ping', body: { i: 1 } }),
      JSON.stringify({ v: 1, from: 'bad id!', seq: 0, type: 'ping', body: { i: 1 } }),
      JSON.stringify({ v: 1, from: 'node-x', seq: -1, type: 'ping', body: { i: 1 } }),
      JSON.stringify({ v: 1, from: 'node-x', seq: 0, type: 'ping' }),
      JSON.stringify({ v: 1, from: 'node-x', seq: 0, type: '__proto__', body: {} }),
      JSON.stringify({ v: 1, from: 'node-x', seq: 0, type: 'shout', body: {} }),
      JSON.stringify({ v: 1, from: 'node-x', seq: 0, type: 'ping', body: { i: 'one' } }),
      JSON.stringify({ v: 1, from: 'node-x', seq: 0, type: 'ping', body: { i: 1, pad: 'x'.repeat(MAX_BUS_MESSAGE_BYTES) } }),
    ];
    for (const m of bad) await raw.publish(channel, m);
    await raw.publish(channel, JSON.stringify({ v: 1, from: 'node-x', seq: 7, type: 'ping', body: { i: 42 } }));
    await until('the valid message after the bad ones arrived', () => b.got.length === 1, 3000);
    assert.deepEqual(b.got[0]?.body, { i: 42 });
    assert.deepEqual(b.bus.stats.dropped, { tooLarge: 1, malformed: 6, unknownType: 2, invalidBody: 1, queueFull: 0, publishFailed: 0 });

    // A message over the bound is refused at the sender.
    assert.throws(() => a.bus.sendToNode('node-b', 'note', { text: 'x'.repeat(MAX_BUS_MESSAGE_BYTES) }), /over 65536/);
    assert.equal(entryFaults.total(), faultsBefore);
  },
);

/** A TCP relay to Redis that the test can cut (every connection reset, new ones refused) and restore. */
async function startRelay(targetPort: number): Promise<{ port: number; cut(): void; restore(): Promise<void>; close(): void }> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = (): Promise<void> =>
    new Promise((resolve) => {
      server = createServer((client) => {
        const upstream = connect(targetPort, '127.0.0.1');
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        const drop = (): void => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  await listen();
  return {
    port,
    cut() {
      server?.close();
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore: listen,
    close() {
      server?.close();
      for (const s of sockets) s.destroy();
    },
  };
}

test(
  'while Redis is out of reach the queue holds the newest messages up to its bound, sent in order on reconnection',
  { timeout: 30_000 },
  async (t) => {
    const redis = await RedisServer.start();
    const relay = await startRelay(redis.port);
    const raw = new Redis(redis.url);
    const nodes: BusNode[] = [];
    t.after(async () => {
      for (const n of nodes) n.close();
      relay.close();
      raw.disconnect();
      await redis.close();
    });
    const a = await startBus(`redis://127.0.0.1:${relay.port}`, 'node-a', 5);
    const b = await startBus(redis.url, 'node-b');
    nodes.push(a, b);
    const deadline = Date.now() + 3000;
    while ((await subscribers(raw, new ClusterKeys().nodeChannel('node-b'))) !== 1 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));

    relay.cut();
    await until('A lost Redis', () => !a.connection.isReady, 3000);
    for (let i = 0; i < 8; i++) a.bus.sendToNode('node-b', 'ping', { i });
    assert.equal(a.bus.queued, 5);
    assert.equal(a.bus.stats.dropped.queueFull, 3, 'the three oldest were dropped');
    await relay.restore();
    await until('B got the queued messages', () => b.got.length === 5, 6000);
    assert.deepEqual(
      b.got.map((m) => (m.body as { i: number }).i),
      [3, 4, 5, 6, 7],
    );
    assert.equal(a.bus.queued, 0);
    assert.equal(a.connection.stats.outages, 1);
  },
);

test('after a Redis restart the bus subscribes again by itself, to the channels it still wants', { timeout: 30_000 }, async (t) => {
  const { redis, nodes } = await redisWithNodes<BusNode>(t);
  const a = await startBus(redis.url, 'node-a');
  const b = await startBus(redis.url, 'node-b');
  nodes.push(a, b);
  void b.bus.joinRoom('r');
  void b.bus.joinRoom('left-while-away');
  await redis.kill9();
  await until('B lost Redis', () => !b.connection.isReady, 3000);
  b.bus.leaveRoom('left-while-away');
  await redis.launch();
  await until('both reconnected', () => a.connection.isReady && b.connection.isReady, 6000);
  const raw = new Redis(redis.url);
  t.after(() => raw.disconnect());
  const keys = new ClusterKeys();
  const deadline = Date.now() + 3000;
  while ((await subscribers(raw, keys.roomChannel('r'))) !== 1 || (await subscribers(raw, keys.nodeChannel('node-b'))) !== 1) {
    assert.ok(Date.now() < deadline, 'B subscribed again');
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(await subscribers(raw, keys.roomChannel('left-while-away')), 0, 'a room left while Redis was away is not subscribed again');
  a.bus.sendToNode('node-b', 'note', { text: 'direct' });
  a.bus.sendToRoom('r', 'note', { text: 'room' });
  await until('B got both', () => b.got.length === 2, 3000);
  assert.deepEqual(
    b.got.map((m) => m.body),
    [{ text: 'direct' }, { text: 'room' }],
  );
});
