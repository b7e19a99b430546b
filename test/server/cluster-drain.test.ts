/**
 * SIGTERM drains a node (`switchboard serve` child processes with a real redis-server): the node
 * says it drains (its record, /healthz), refuses new participants with `draining` while its
 * rooms go on (relays across nodes included), and exits 0 when its last member leaves, or after
 * `--drain-timeout-ms` when one stays (the other nodes' rooms hear that member gone at once). Its
 * record and memberships leave Redis with it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redisMentions } from '../helpers/cluster-node.js';
import { health, startNode, untilClusterFormed } from '../helpers/cluster-servers.js';
import { RedisServer } from '../helpers/redis-server.js';
import type { ServerChild } from '../helpers/server-child.js';
import { sleep, TestClient } from '../helpers/ws-client.js';

test('SIGTERM: no new participants, rooms finish, exit when empty or after the drain timeout', { timeout: 90_000 }, async () => {
  const redis = await RedisServer.start();
  const nodes: ServerChild[] = [];
  const clients: TestClient[] = [];
  try {
    const [stay, leaving, stubborn] = await Promise.all([
      startNode(redis.url, 'node-stay'),
      startNode(redis.url, 'node-drain'),
      startNode(redis.url, 'node-slow', ['--drain-timeout-ms', '1500']),
    ]);
    nodes.push(stay, leaving, stubborn);
    await untilClusterFormed(nodes, 3);
    const hello = async (node: ServerChild, identity: string): Promise<[TestClient, string]> => {
      const [client, welcome] = await TestClient.hello(node.wsUrl, { identity });
      clients.push(client);
      return [client, welcome.sessionId];
    };
    const [s1, s1Id] = await hello(stay, 's1');
    const [d1, d1Id] = await hello(leaving, 'd1');
    const [newcomer] = await hello(leaving, 'newcomer');
    await s1.join('room');
    await d1.join('room');

    process.kill(leaving.pid, 'SIGTERM');
    // The node says it drains, to Redis and on /healthz.
    const t0 = Date.now();
    while (!(await health(stay)).cluster && Date.now() - t0 < 1000) await sleep(20);
    let view = await health(leaving);
    while (!view.cluster?.draining && Date.now() - t0 < 3000) view = await health(leaving);
    assert.equal(view.cluster?.draining, true);
    // No new participant...
    const refused = await newcomer.expectError({ type: 'join', room: 'room', id: 'j' });
    assert.equal(refused.code, 'draining');
    // ...while the room goes on, across nodes.
    d1.send({ type: 'offer', to: s1Id, sdp: 'v=0 from-draining-node' });
    assert.equal((await s1.next('offer')).from, d1Id);
    s1.send({ type: 'answer', to: d1Id, sdp: 'v=0 back' });
    assert.equal((await d1.next('answer')).sdp, 'v=0 back');
    assert.equal(leaving.exit, null, 'still running while a member is in a room');

    // The last member leaves: the node exits 0 at once, and nothing of it stays in Redis.
    const leftAt = Date.now();
    d1.send({ type: 'leave' });
    assert.equal(await leaving.exited, 0);
    console.log(`drained node exited ${Date.now() - leftAt} ms after its last member left`);
    assert.deepEqual(await redisMentions(redis.url, 'node-drain'), []);
    const gone = await s1.next('participant-left');
    assert.equal(gone.participantId, d1Id);

    // A member that stays: the node exits 0 after its drain timeout (1.5 s), and the member's room
    // on the other node hears it gone.
    const [k1, k1Id] = await hello(stubborn, 'k1');
    await k1.join('room');
    assert.equal((await s1.next('participant-joined')).participant.id, k1Id);
    const termAt = Date.now();
    process.kill(stubborn.pid, 'SIGTERM');
    assert.equal(await stubborn.exited, 0);
    const drainMs = Date.now() - termAt;
    console.log(`node with a member that stayed exited ${drainMs} ms after SIGTERM (drain timeout 1500 ms)`);
    assert.ok(drainMs >= 1400 && drainMs < 6000, `${drainMs} ms`);
    // It announces its members gone as it leaves: the other node does not wait for its record to expire.
    const lost = await s1.next('participant-left', 3000);
    assert.deepEqual(lost, { type: 'participant-left', room: 'room', participantId: k1Id, reason: 'disconnected' });
    console.log(`its member left the room on the other node ${Date.now() - termAt} ms after SIGTERM (${lost.reason})`);
  } finally {
    for (const c of clients) c.terminate();
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.close();
  }
});
