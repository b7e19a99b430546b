/**
 * Placement over a real redis-server: a new room goes to the least-loaded live node that does
 * not drain (as the nodes report their load in their heartbeats), and concurrent claims of one
 * room from two nodes (two connections) leave exactly one winner whose record both read.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redisWithNodes } from '../helpers/redis-server.js';
import { startTestNode, type TestNode } from '../helpers/cluster-node.js';
import { until } from '../helpers/until.js';

test('a new room goes to the least-loaded live node that does not drain', { timeout: 30_000 }, async (t) => {
  const { redis, nodes } = await redisWithNodes<TestNode>(t);
  const fast = { heartbeatMs: 200, ttlMs: 600 };
  const a = await startTestNode(redis.url, 'node-a', { ...fast, load: { cpu: 0.6, rooms: 1, participants: 10 } });
  const b = await startTestNode(redis.url, 'node-b', { ...fast, load: { cpu: 0.2, rooms: 9, participants: 40 } });
  const c = await startTestNode(redis.url, 'node-c', { ...fast, load: { cpu: 0.21, rooms: 2, participants: 5 } });
  nodes.push(a, b, c);
  await until('A sees all three', () => a.registry.knownNodes().size === 3, 3000);

  // B and C are in the same 5 % CPU step: fewer participants decides (C).
  assert.equal((await a.placement.placeRoom('r1', 'sfu')).record.homeNode, 'node-c');
  // C's load rises past B's: the next heartbeat carries it.
  c.load.cpu = 0.5;
  await until('A read C at 50 %', () => a.registry.knownNodes().get('node-c')?.load.cpu === 0.5, 3000);
  assert.equal((await a.placement.placeRoom('r2', 'sfu')).record.homeNode, 'node-b');
  // A draining node takes no new room, however idle.
  b.registry.setDraining(true);
  await until('A read B draining', () => a.registry.knownNodes().get('node-b')?.draining === true, 3000);
  assert.equal((await a.placement.placeRoom('r3', 'mcu')).record.homeNode, 'node-c');
  // An existing room keeps its home whatever the loads.
  assert.deepEqual(await a.placement.placeRoom('r1', 'mcu'), { record: (await a.placement.placeRoom('r1', 'sfu')).record, created: false });
  assert.equal((await a.placement.placeRoom('r1', 'mcu')).record.topology, 'sfu', 'the first claim decides the topology too');
  // A node that stops heartbeating leaves placement: C killed (timers stopped, nothing unregistered).
  c.close();
  nodes.splice(nodes.indexOf(c), 1);
  await until('A no longer sees C', () => !a.registry.knownNodes().has('node-c'), 3000);
  assert.equal((await a.placement.placeRoom('r4', 'sfu')).record.homeNode, 'node-a');
  // Everyone drains: no node takes a new room.
  a.registry.setDraining(true);
  await until('A read itself draining', () => a.registry.knownNodes().get('node-a')?.draining === true, 3000);
  await assert.rejects(a.placement.placeRoom('r5', 'sfu'), /no live node takes new rooms/);
});

test('concurrent claims of a room from two nodes: exactly one wins, both read its record', { timeout: 30_000 }, async (t) => {
  const { redis, nodes } = await redisWithNodes<TestNode>(t);
  const a = await startTestNode(redis.url, 'node-a');
  const b = await startTestNode(redis.url, 'node-b');
  nodes.push(a, b);
  const ROOMS = 200;
  const winners = { 'node-a': 0, 'node-b': 0 };
  await Promise.all(
    Array.from({ length: ROOMS }, async (_, i) => {
      const name = `race-${i}`;
      const [ra, rb] = await Promise.all([a.placement.createRoom(name, 'sfu', 'node-a'), b.placement.createRoom(name, 'mcu', 'node-b')]);
      assert.equal(Number(ra.created) + Number(rb.created), 1, `${name}: exactly one claim created the room`);
      assert.deepEqual(ra.record, rb.record, `${name}: both read the winner's record`);
      const winner = ra.created ? 'node-a' : 'node-b';
      assert.equal(ra.record.homeNode, winner);
      assert.equal(ra.record.topology, winner === 'node-a' ? 'sfu' : 'mcu');
      winners[winner]++;
    }),
  );
  t.diagnostic(`claims won: ${JSON.stringify(winners)}`);
  assert.equal(winners['node-a'] + winners['node-b'], ROOMS);
});
