/**
 * Switchboard nodes of a cluster for tests: each a `switchboard serve --redis URL --node-id ID`
 * child process on loopback with every port 0 (server-child.ts), and the wait until every node
 * sees the whole cluster on /healthz.
 */
import { startServerChild, type ServerChild } from './server-child.js';

export interface ClusterHealthView {
  nodeId: string;
  redis: 'up' | 'down';
  draining: boolean;
  nodes: number;
  roomsPerNode: Record<string, number>;
}

export interface HealthView {
  status: string;
  rooms: number;
  participants: number;
  cluster?: ClusterHealthView;
}

export async function startNode(redisUrl: string, nodeId: string, extra: string[] = []): Promise<ServerChild> {
  return startServerChild({ args: ['--redis', redisUrl, '--node-id', nodeId, '--log-level', 'warn', ...extra] });
}

export async function health(node: ServerChild): Promise<HealthView> {
  const res = await fetch(`${node.httpUrl}/healthz`, { signal: AbortSignal.timeout(3000) });
  return (await res.json()) as HealthView;
}

/** Waits until every node's /healthz shows `count` live nodes (each has heartbeated and read the others). */
export async function untilClusterFormed(nodes: ServerChild[], count: number, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const views = await Promise.all(nodes.map((n) => health(n).catch(() => undefined)));
    if (views.every((v) => v?.cluster?.nodes === count && v.cluster.redis === 'up')) return;
    if (Date.now() > end) throw new Error(`cluster of ${count} not formed in ${ms} ms: ${JSON.stringify(views.map((v) => v?.cluster))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
