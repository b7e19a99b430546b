/**
 * Node registry and room placement against a real redis-server: nodes see each other; a node
 * killed with SIGKILL (a process of its own) is out of every survivor's view within 10 s and,
 * once swept, nothing in Redis names it; rooms with members elsewhere survive it (re-homed if
 * their media lived on it), rooms only it had are deleted (livekit/livekit#4316). Redis killed
 * for 10 s and started again empty: no exception anywhere, every node registers again and writes
 * its memberships back by itself (livekit/livekit#2464), placement works after.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { entryFaults } from '../../src/util/guarded.js';
import { RedisServer, redisWithNodes } from '../helpers/redis-server.js';
import { redisMentions, startTestNode, type TestNode } from '../helpers/cluster-node.js';
import { until } from '../helpers/until.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CHILD = join(HERE, '../helpers/cluster-node-child.js');

/** Exceptions that reached the process during this file's tests. */
let uncaught = 0;
const onUncaught = (): void => {
  uncaught++;
};
before(() => {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
});
after(() => {
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
});

function startChildNode(url: string, id: string, plan: { members: Record<string, number>; homes: string[] }) {
  const child = spawn(process.execPath, [CHILD, url, id, JSON.stringify(plan)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"ready":true')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`child node exited (${code}): ${out}`)));
  });
  return { child, ready };
}

test('a node killed with SIGKILL is out of placement within 10 s and swept clean', { timeout: 60_000 }, async (t) => {
  const { redis, nodes } = await redisWithNodes<TestNode>(t);
  const a = await startTestNode(redis.url, 'node-a');
  nodes.push(a);
  const b = await startTestNode(redis.url, 'node-b');
  nodes.push(b);
  const deadId = 'node-c-victim';
  const { child, ready } = startChildNode(redis.url, deadId, { members: { shared: 2, lonely: 1, 'c-home': 1 }, homes: [] });
  t.after(() => {
    child.kill('SIGKILL');
  });
  await ready;

  // A and B join "shared" and "c-home" (whose media lives on the victim: it claimed it first).
  const shared = await a.placement.placeRoom('shared', 'sfu');
  assert.equal(shared.created, false, 'the child claimed "shared" first');
  await a.placement.addMember(shared.record);
  await b.placement.addMember(shared.record);
  const cHome = await a.placement.placeRoom('c-home', 'sfu');
  assert.equal(cHome.record.homeNode, deadId);
  await a.placement.addMember(cHome.record);
  assert.deepEqual(Object.fromEntries((await a.placement.room('shared'))!.members), { 'node-a': 1, 'node-b': 1, [deadId]: 2 });

  await until('every node sees the other two', () => [a, b].every((n) => n.registry.knownNodes().size === 3), 6000);
  assert.deepEqual((await a.registry.liveNodes()).map((n) => n.id).sort(), ['node-a', 'node-b', deadId]);

  const downAt = new Map<string, number>();
  for (const n of [a, b]) n.registry.on('node-down', (id) => id === deadId && downAt.set(n.id, Date.now()));
  const killedAt = Date.now();
  child.kill('SIGKILL');
  await once(child, 'exit');
  await until('both survivors see the node gone', () => downAt.size === 2, 12_000);
  for (const [node, at] of downAt) {
    const ms = at - killedAt;
    t.diagnostic(`${node} saw the killed node gone after ${ms} ms`);
    assert.ok(ms <= 10_000, `${node}: ${ms} ms`);
  }
  assert.ok(!(await a.registry.liveNodes()).some((n) => n.id === deadId));

  // The sweep runs on the read that saw the node gone; wait for its effects, then look everywhere.
  const deadline = Date.now() + 5000;
  let mentions = await redisMentions(redis.url, deadId);
  while (mentions.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    mentions = await redisMentions(redis.url, deadId);
  }
  assert.deepEqual(mentions, [], 'nothing in Redis names the dead node after the sweep');

  assert.equal(await a.placement.room('lonely'), undefined, 'a room only the dead node had members in is deleted');
  const sharedNow = await a.placement.room('shared');
  assert.ok(sharedNow, 'a room with members on live nodes survives');
  assert.deepEqual(Object.fromEntries(sharedNow.members), { 'node-a': 1, 'node-b': 1 });
  const cHomeNow = await a.placement.room('c-home');
  assert.equal(cHomeNow?.homeNode, 'node-a', 'the room homed on the dead node moves to the node with members there');
  assert.equal(uncaught, 0);
});

test(
  'a room is deleted only when no node has members left (livekit#4316), and a graceful exit clears a node at once',
  { timeout: 30_000 },
  async (t) => {
    const { redis, nodes } = await redisWithNodes<TestNode>(t);
    const a = await startTestNode(redis.url, 'node-a');
    nodes.push(a);
    const b = await startTestNode(redis.url, 'node-b');
    nodes.push(b);
    const { record } = await a.placement.createRoom('room-1', 'mcu', 'node-a');
    await a.placement.addMember(record);
    await b.placement.addMember(record);
    await b.placement.addMember(record);
    assert.deepEqual((await a.placement.removeMember('room-1')).deleted, false, "A's last member left; B still has two");
    assert.deepEqual(Object.fromEntries((await a.placement.room('room-1'))!.members), { 'node-b': 2 });
    assert.equal((await b.placement.removeMember('room-1')).deleted, false);
    assert.equal((await b.placement.removeMember('room-1')).deleted, true);
    assert.equal(await a.placement.room('room-1'), undefined);

    // Graceful exit: B leaves with members in two rooms, one shared with A and homed on B.
    const shared = await b.placement.createRoom('shared', 'sfu', 'node-b');
    await b.placement.addMember(shared.record);
    await a.placement.addMember(shared.record);
    const own = await b.placement.createRoom('own', 'sfu', 'node-b');
    await b.placement.addMember(own.record);
    const result = await b.registry.unregister();
    assert.equal(result.done, true);
    assert.deepEqual(result.deleted, ['own']);
    assert.deepEqual(result.rehomed, [{ room: 'shared', homeNode: 'node-a' }]);
    assert.deepEqual(await redisMentions(redis.url, 'node-b'), [], 'nothing names the node right after unregister()');
    assert.equal((await a.placement.room('shared'))?.homeNode, 'node-a');
  },
);

test('a claim no one joins expires; a member joining a room whose record vanished writes it back', { timeout: 30_000 }, async (t) => {
  const redis = await RedisServer.start();
  const a = await startTestNode(redis.url, 'node-a', { claimTtlMs: 300 });
  t.after(async () => {
    a.close();
    await redis.close();
  });
  const { created } = await a.placement.createRoom('claimed', 'sfu', 'node-a');
  assert.equal(created, true);
  assert.ok(await a.placement.room('claimed'));
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(await a.placement.room('claimed'), undefined, 'the unjoined claim expired');

  // A record deleted under a node (a sweep raced a join): the join writes it again, homed on a live node.
  const { record } = await a.placement.createRoom('raced', 'mesh', 'node-gone');
  await new Promise((r) => setTimeout(r, 600));
  const now = await a.placement.addMember(record);
  assert.equal(now.homeNode, 'node-a', 'the named home is not live: the joiner holds the room');
  assert.equal(now.topology, 'mesh');
  assert.deepEqual(await redisMentions(redis.url, 'node-gone'), []);
});

test(
  'Redis killed for 10 s and restarted: no exception, nodes register again by themselves, placement works',
  { timeout: 60_000 },
  async (t) => {
    const { redis, nodes } = await redisWithNodes<TestNode>(t);
    const faultsBefore = entryFaults.total();
    const a = await startTestNode(redis.url, 'node-a');
    nodes.push(a);
    const b = await startTestNode(redis.url, 'node-b');
    nodes.push(b);
    const { record } = await a.placement.createRoom('call', 'sfu', 'node-a');
    await a.placement.addMember(record);
    await b.placement.addMember(record);
    await until('both nodes see each other', () => a.registry.knownNodes().size === 2 && b.registry.knownNodes().size === 2, 5000);
    const downB: string[] = [];
    a.registry.on('node-down', (id) => downB.push(id));

    await redis.kill9();
    await until('both connections lost', () => !a.connection.isReady && !b.connection.isReady, 5000);
    // While Redis is away: a join on A is refused fast (no offline queue) but counted for later.
    const started = Date.now();
    await assert.rejects(a.placement.addMember(record));
    assert.ok(Date.now() - started < 1000, 'commands fail fast while Redis is down');
    await assert.rejects(a.registry.liveNodes());
    await new Promise((r) => setTimeout(r, 10_000));
    await redis.launch();
    const back = Date.now();

    await until('both nodes registered again', () => a.registry.stats.reRegistrations >= 1 && b.registry.stats.reRegistrations >= 1, 8000);
    t.diagnostic(`both nodes registered again ${Date.now() - back} ms after Redis answered`);
    await until('both see each other again', () => a.registry.knownNodes().size === 2 && b.registry.knownNodes().size === 2, 8000);
    let room = await a.placement.room('call');
    const deadline = Date.now() + 5000;
    while ((room?.members.size ?? 0) < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      room = await a.placement.room('call');
    }
    assert.ok(room, 'the room record was written back');
    assert.deepEqual(
      Object.fromEntries(room.members),
      { 'node-a': 2, 'node-b': 1 },
      'memberships (with the join made during the outage) written back',
    );
    assert.equal(room.homeNode, 'node-a');
    const placed = await b.placement.placeRoom('after', 'sfu');
    assert.equal(placed.created, true);
    assert.deepEqual(downB, [], 'no node was declared gone because Redis was');
    for (const n of [a, b]) {
      assert.equal(n.connection.stats.outages, 1, `${n.id}: one outage counted`);
      t.diagnostic(
        `${n.id}: ${JSON.stringify({ connection: n.connection.stats, registry: n.registry.stats, placement: n.placement.stats })}`,
      );
    }
    assert.equal(uncaught, 0, 'no exception reached the process');
    assert.equal(entryFaults.total(), faultsBefore, 'no guarded entry point faulted');
  },
);

test(
  'a node started before Redis connects and registers once Redis is up; its first outage is logged, not thrown',
  { timeout: 30_000 },
  async (t) => {
    const redis = await RedisServer.start();
    await redis.kill9();
    const lines: Array<{ level: number; msg: string }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as { level: number; msg: string }) });
    const pending = startTestNode(redis.url, 'node-early', { logger });
    let node: TestNode | undefined;
    t.after(async () => {
      node?.close();
      await redis.close();
    });
    await new Promise((r) => setTimeout(r, 1500));
    await redis.launch();
    node = await pending;
    assert.ok(node.connection.stats.errors > 1, 'the refused connects were counted');
    assert.deepEqual(
      lines.map((l) => l.msg),
      ['redis unreachable; retrying (logged once per outage)', 'redis reachable again'],
    );
    assert.deepEqual(
      (await node.registry.liveNodes()).map((n) => n.id),
      ['node-early'],
    );
    assert.equal(uncaught, 0);
  },
);
