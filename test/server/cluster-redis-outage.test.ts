/**
 * Redis stopped for 10 s and started again (empty, as a crashed Redis without persistence comes
 * back) under two `switchboard serve` nodes sharing mesh rooms:
 * - two node-datachannel peers connected to different nodes negotiate through the relay from
 *   node to node and exchange data-channel lines, before, during and after the outage;
 * - meanwhile the established room goes on: relays between members of one node are immediate,
 *   nobody is reported gone, and a relay to a member on the other node is delivered once Redis
 *   is back (the bus queues it, bounded);
 * - a new join fails at once with `cluster-unavailable`;
 * - after Redis is back, the nodes register again and a new join lists everyone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { health, startNode, untilClusterFormed } from '../helpers/cluster-servers.js';
import { RedisServer } from '../helpers/redis-server.js';
import type { ServerChild } from '../helpers/server-child.js';
import { until } from '../helpers/until.js';
import { P2pLink } from '../soak/p2p-link.js';
import { releaseNodeDataChannel } from '../helpers/sfu-node-peer-ndc.js';
import { sleep, TestClient } from '../helpers/ws-client.js';

test('Redis down for 10 s: the room goes on, new joins fail fast, and work again after', { timeout: 120_000 }, async () => {
  const redis = await RedisServer.start();
  const nodes: ServerChild[] = [];
  const clients: TestClient[] = [];
  const links: P2pLink[] = [];
  try {
    nodes.push(...(await Promise.all(['node-one', 'node-two'].map((id) => startNode(redis.url, id)))));
    const [a, b] = nodes as [ServerChild, ServerChild];
    await untilClusterFormed(nodes, 2);
    const hello = async (node: ServerChild, identity: string): Promise<[TestClient, string]> => {
      const [client, welcome] = await TestClient.hello(node.wsUrl, { identity });
      clients.push(client);
      return [client, welcome.sessionId];
    };
    const [a1, a1Id] = await hello(a, 'a1');
    const [a2, a2Id] = await hello(a, 'a2');
    const [b1, b1Id] = await hello(b, 'b1');
    await a1.join('call');
    await a2.join('call');
    assert.deepEqual((await b1.join('call')).participants.map((p) => p.id).sort(), [a1Id, a2Id].sort());

    // A real peer-to-peer connection across the two nodes (node-datachannel on both ends),
    // negotiated through the relay from node to node.
    const [p1, p1Id] = await hello(a, 'p1');
    const [p2, p2Id] = await hello(b, 'p2');
    await p1.join('p2p');
    await p2.join('p2p');
    const connectStart = Date.now();
    links.push(new P2pLink({ name: 'p1', client: p1, peerId: p2Id, offerer: true }));
    links.push(new P2pLink({ name: 'p2', client: p2, peerId: p1Id, offerer: false }));
    const [l1, l2] = links as [P2pLink, P2pLink];
    await until('the data channel across nodes opens', () => l1.open && l2.open, 15_000);
    console.log(`peers on two nodes connected (data channel open) in ${Date.now() - connectStart} ms`);
    const exchange = async (tag: string): Promise<void> => {
      assert.ok(l1.sendLine(`${tag} from p1`) && l2.sendLine(`${tag} from p2`));
      await until(`${tag} lines`, () => l2.received.includes(`${tag} from p1`) && l1.received.includes(`${tag} from p2`), 3000);
    };
    await exchange('before');

    await redis.kill9();
    const down = Date.now();
    // The nodes notice (their clients' commands fail) within a moment.
    while ((await health(a)).cluster?.redis !== 'down' && Date.now() - down < 5000) await sleep(50);

    // Within a node: relays as usual.
    a1.send({ type: 'offer', to: a2Id, sdp: 'v=0 during-outage' });
    assert.equal((await a2.next('offer', 1000)).from, a1Id);
    // Across nodes: queued on the bus until Redis is back.
    b1.send({ type: 'offer', to: a1Id, sdp: 'v=0 queued-across' });
    // A new join fails at once, with a code the client can act on.
    const [late] = await hello(b, 'late');
    const t0 = Date.now();
    const refused = await late.expectError({ type: 'join', room: 'call' });
    const refusedMs = Date.now() - t0;
    assert.equal(refused.code, 'cluster-unavailable');
    assert.ok(refusedMs < 1000, `refused in ${refusedMs} ms`);
    console.log(`join while Redis is down: ${refused.code} in ${refusedMs} ms`);

    await sleep(Math.max(0, 10_000 - (Date.now() - down)));
    // The call across nodes never touched Redis: it flows through the whole outage.
    await exchange('during');
    // Established members kept relaying through the whole outage.
    a2.send({ type: 'answer', to: a1Id, sdp: 'v=0 still-here' });
    assert.equal((await a1.next('answer', 1000)).sdp, 'v=0 still-here');
    await redis.launch();
    const up = Date.now();

    // The queued relay arrives once both nodes are back on Redis.
    const queued = await a1.next('offer', 10_000);
    assert.deepEqual(queued, { type: 'offer', from: b1Id, sdp: 'v=0 queued-across' });
    console.log(`relay queued during the outage delivered ${Date.now() - up} ms after Redis came back`);

    // Nodes register again (Redis came back empty); placement writes the memberships back.
    await untilClusterFormed(nodes, 2, 15_000);
    const r = new Redis(redis.url);
    try {
      const end = Date.now() + 10_000;
      let members: Record<string, string> = {};
      while (Date.now() < end) {
        members = await r.hgetall('sb:room-members:call');
        if (members['node-one'] === '2' && members['node-two'] === '1') break;
        await sleep(100);
      }
      assert.deepEqual(members, { 'node-one': '2', 'node-two': '1' });
    } finally {
      r.disconnect();
    }
    console.log(`cluster whole again ${Date.now() - up} ms after Redis came back`);

    // New joins work, and see everyone; cross-node relays are immediate again.
    late.send({ type: 'join', room: 'call' });
    const joined = await late.next('joined', 5000);
    assert.deepEqual(joined.participants.map((p) => p.id).sort(), [a1Id, a2Id, b1Id].sort());
    assert.equal((await a1.next('participant-joined')).participant.identity, 'late');
    a1.send({ type: 'answer', to: b1Id, sdp: 'v=0 after' });
    assert.equal((await b1.next('answer', 2000)).sdp, 'v=0 after');
    await exchange('after');
    assert.deepEqual([...l1.errors, ...l2.errors], []);
    // Nobody was reported gone at any time.
    for (const c of [a1, a2, b1, p1, p2]) assert.equal(c.received.filter((m) => m.type === 'participant-left').length, 0);
    const metrics = await (await fetch(`${a.httpUrl}/metrics`)).text();
    assert.match(metrics, /^switchboard_cluster_redis_outages_total 1$/m);
  } finally {
    for (const l of links) l.close();
    // node-datachannel keeps the event loop alive until its cleanup: without it this file never exits.
    await releaseNodeDataChannel();
    for (const c of clients) c.terminate();
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.close();
  }
});
