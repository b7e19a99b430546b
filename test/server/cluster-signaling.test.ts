/**
 * Rooms that span nodes, end to end: three `switchboard serve` processes and one real
 * redis-server on loopback, plain WebSocket clients speaking the protocol.
 * - clients on three nodes join one room and all see each other (`joined` lists everyone,
 *   `participant-joined` / `participant-left` cross nodes); offer/answer/candidate/
 *   end-of-candidates reach a peer on another node, stamped with the sender's id;
 * - a room's topology is the cluster's record (first claimer wins, on any node); an identity
 *   already in a room on another node is refused; a relay to an unknown id is `peer-not-found`;
 * - /healthz and /metrics show the cluster;
 * - `kill -9` of a node: its members leave the rooms on the survivors (`node-lost`) within
 *   10 s, Redis holds nothing naming the dead node afterwards, and the room, with live members
 *   elsewhere, is still there.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { startNode, health, untilClusterFormed } from '../helpers/cluster-servers.js';
import { redisMentions } from '../helpers/cluster-node.js';
import { RedisServer } from '../helpers/redis-server.js';
import type { ServerChild } from '../helpers/server-child.js';
import { TestClient } from '../helpers/ws-client.js';

test(
  'three nodes share rooms: rosters, membership, relays, topology, identities; a killed node leaves them',
  { timeout: 120_000 },
  async () => {
    const redis = await RedisServer.start();
    const nodes: ServerChild[] = [];
    const clients: TestClient[] = [];
    try {
      const ids = ['node-alpha', 'node-bravo', 'node-charlie'];
      nodes.push(...(await Promise.all(ids.map((id) => startNode(redis.url, id)))));
      const [a, b, c] = nodes as [ServerChild, ServerChild, ServerChild];
      await untilClusterFormed(nodes, 3);

      // One room, a member on each node.
      const hello = async (node: ServerChild, identity: string): Promise<[TestClient, string]> => {
        const [client, welcome] = await TestClient.hello(node.wsUrl, { identity, name: identity });
        clients.push(client);
        return [client, welcome.sessionId];
      };
      const [alice, aliceId] = await hello(a, 'alice');
      const [bob, bobId] = await hello(b, 'bob');
      const [carol, carolId] = await hello(c, 'carol');
      const ja = await alice.join('shared');
      assert.equal(ja.topology, 'mesh');
      assert.deepEqual(ja.participants, []);
      const jb = await bob.join('shared');
      assert.deepEqual(
        jb.participants.map((p) => p.id),
        [aliceId],
      );
      let t0 = Date.now();
      const jc = await carol.join('shared');
      console.log(`join with members on two other nodes: ${Date.now() - t0} ms`);
      assert.deepEqual(jc.participants.map((p) => p.id).sort(), [aliceId, bobId].sort());
      assert.deepEqual(
        jc.participants.find((p) => p.id === aliceId),
        { id: aliceId, identity: 'alice', name: 'alice' },
      );
      assert.equal((await alice.next('participant-joined')).participant.id, bobId);
      assert.equal((await alice.next('participant-joined')).participant.id, carolId);
      assert.equal((await bob.next('participant-joined')).participant.id, carolId);

      // The JSEP relay across nodes: carol (C) offers to alice (A) and bob (B); they answer; candidates both ways.
      carol.send({ type: 'offer', to: aliceId, sdp: 'v=0 offer-to-alice' });
      carol.send({ type: 'offer', to: bobId, sdp: 'v=0 offer-to-bob' });
      const offerA = await alice.next('offer');
      assert.deepEqual(offerA, { type: 'offer', from: carolId, sdp: 'v=0 offer-to-alice' });
      assert.equal((await bob.next('offer')).sdp, 'v=0 offer-to-bob');
      alice.send({ type: 'answer', to: carolId, sdp: 'v=0 answer-from-alice' });
      assert.deepEqual(await carol.next('answer'), { type: 'answer', from: aliceId, sdp: 'v=0 answer-from-alice' });
      const candidate = { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 };
      alice.send({ type: 'candidate', to: carolId, candidate });
      assert.deepEqual(await carol.next('candidate'), { type: 'candidate', from: aliceId, candidate });
      carol.send({ type: 'candidate', to: bobId, candidate });
      assert.deepEqual((await bob.next('candidate')).candidate, candidate);
      bob.send({ type: 'end-of-candidates', to: carolId });
      assert.deepEqual(await carol.next('end-of-candidates'), { type: 'end-of-candidates', from: bobId });
      // A relay to nobody in the room, and one carrying a call id (calls stay on one node), are refused alike.
      assert.equal((await carol.expectError({ type: 'offer', to: 'p-nobody', sdp: 'x' })).code, 'peer-not-found');
      assert.equal((await carol.expectError({ type: 'offer', to: aliceId, sdp: 'x', callId: 'c-1' })).code, 'peer-not-found');

      // Identities are unique per room across nodes: "alice" connected to B cannot join where alice (on A) is.
      const [alice2] = await hello(b, 'alice');
      const refused = await alice2.expectError({ type: 'join', room: 'shared', id: 7 });
      assert.equal(refused.code, 'identity-in-use');
      assert.equal(refused.ref, 7);
      // ...and nobody heard of it as a member for good: a leave follows any announcement.
      await alice2.join('elsewhere');

      // Topology is the cluster's: dave (B) makes an SFU room; erin (C) asking for mesh gets SFU.
      const joinAs = async (client: TestClient, room: string, topology: string) => {
        client.send({ type: 'join', room, topology });
        return client.next('joined');
      };
      const [dave] = await hello(b, 'dave');
      assert.equal((await joinAs(dave, 'sfu-room', 'sfu')).topology, 'sfu');
      const [erin] = await hello(c, 'erin');
      const je = await joinAs(erin, 'sfu-room', 'mesh');
      assert.equal(je.topology, 'sfu');
      assert.equal(je.participants.length, 1);

      // participant-left crosses nodes.
      bob.send({ type: 'leave' });
      await bob.next('left');
      const leftA = await alice.next('participant-left');
      assert.deepEqual(leftA, { type: 'participant-left', room: 'shared', participantId: bobId, reason: 'left' });
      assert.equal((await carol.next('participant-left')).participantId, bobId);
      bob.send({ type: 'join', room: 'shared' });
      await bob.next('joined');
      assert.equal((await alice.next('participant-joined')).participant.id, bobId);
      assert.equal((await carol.next('participant-joined')).participant.id, bobId);

      // /healthz and /metrics show the cluster.
      const h = await health(a);
      assert.equal(h.cluster?.nodeId, 'node-alpha');
      assert.equal(h.cluster?.nodes, 3);
      assert.deepEqual(Object.keys(h.cluster?.roomsPerNode ?? {}).sort(), ids);
      const metrics = await (await fetch(`${a.httpUrl}/metrics`)).text();
      assert.match(metrics, /^switchboard_cluster_nodes 3$/m);
      assert.match(metrics, /^switchboard_cluster_rooms\{node="node-bravo"\} \d+$/m);
      assert.match(metrics, /^switchboard_cluster_bus_dropped_total\{reason="queueFull"\} 0$/m);
      assert.match(metrics, /^switchboard_cluster_redis_outages_total 0$/m);

      // kill -9 of C: carol and erin leave their rooms on A and B, reason node-lost, within 10 s.
      const kill = Date.now();
      process.kill(c.pid, 'SIGKILL');
      await c.exited;
      const lostAtAlice = await alice.next('participant-left', 10_000);
      const aliceMs = Date.now() - kill;
      assert.deepEqual(lostAtAlice, { type: 'participant-left', room: 'shared', participantId: carolId, reason: 'node-lost' });
      const lostAtDave = await dave.next('participant-left', Math.max(1, 10_000 - (Date.now() - kill)));
      assert.equal(lostAtDave.reason, 'node-lost');
      assert.equal((await bob.next('participant-left', Math.max(1, 10_000 - (Date.now() - kill)))).participantId, carolId);
      console.log(`kill -9 of a node: its members left the survivors' rooms after ${aliceMs} ms (all within ${Date.now() - kill} ms)`);
      assert.ok(Date.now() - kill <= 10_000);

      // Redis forgets the dead node (swept by the survivors), and keeps the rooms that still have members.
      t0 = Date.now();
      let mentions: string[] = ['?'];
      while (Date.now() - t0 < 10_000) {
        mentions = await redisMentions(redis.url, 'node-charlie');
        if (mentions.length === 0) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.deepEqual(mentions, [], 'nothing in Redis names the dead node');
      console.log(`Redis held no key of the dead node ${Date.now() - kill} ms after the kill`);
      const r = new Redis(redis.url);
      try {
        assert.equal(await r.hget('sb:room:shared', 'topology'), 'mesh');
        assert.deepEqual(await r.hgetall('sb:room-members:shared'), { 'node-alpha': '1', 'node-bravo': '1' });
        assert.equal(await r.hget('sb:room:sfu-room', 'topology'), 'sfu');
      } finally {
        r.disconnect();
      }
      // The survivors go on: a new member of the room on A sees alice (A) and bob (B).
      const [frank] = await hello(a, 'frank');
      const jf = await frank.join('shared');
      assert.deepEqual(jf.participants.map((p) => p.id).sort(), [aliceId, bobId].sort());
      await untilClusterFormed([a, b], 2);
    } finally {
      for (const cl of clients) cl.terminate();
      await Promise.all(nodes.map((n) => n.stop()));
      await redis.close();
    }
  },
);
