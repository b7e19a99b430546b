/**
 * A cluster node in a process of its own, for `kill -9` tests. argv: redis URL, node id, and a
 * JSON plan `{ "members": { room: count }, "homes": [room] }`: it registers, claims the rooms in
 * `homes` for itself, adds its members, prints one JSON line `{"ready":true}` and waits.
 */
import { RedisConnection } from '../../src/cluster/RedisConnection.js';
import { NodeRegistry } from '../../src/cluster/NodeRegistry.js';
import { RoomPlacement } from '../../src/cluster/RoomPlacement.js';

interface Plan {
  members: Record<string, number>;
  homes: string[];
}

const [url, id, planText] = process.argv.slice(2);
if (!url || !id || !planText) throw new Error('usage: cluster-node-child URL ID PLAN');
const plan = JSON.parse(planText) as Plan;
const connection = new RedisConnection({ url, name: id });
const registry = new NodeRegistry({
  connection,
  node: { id, address: '127.0.0.1', wsUrl: `ws://127.0.0.1/${id}`, httpUrl: `http://127.0.0.1/${id}`, startedAt: Date.now() },
  load: () => ({ cpu: 0, rooms: 0, participants: 0 }),
});
const placement = new RoomPlacement({ connection, registry });
connection.start();
await connection.waitReady(5000);
await new Promise<void>((resolve) => {
  registry.once('registered', () => resolve());
  registry.start();
});
for (const room of plan.homes) await placement.createRoom(room, 'sfu', id);
for (const [room, count] of Object.entries(plan.members)) {
  const { record } = await placement.createRoom(room, 'sfu', id);
  for (let i = 0; i < count; i++) await placement.addMember(record);
}
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
setInterval(() => undefined, 60_000);
