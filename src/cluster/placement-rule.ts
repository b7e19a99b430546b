/**
 * Where a new room's media lives: the least-loaded live node that is not draining.
 *
 * Load is compared by CPU first, rounded to steps of 5 % of the machine so that measurement
 * noise between two idle nodes does not decide; equal steps are broken by fewer participants,
 * then fewer rooms, then the smaller id (so every node that applies the rule to the same view
 * picks the same node). Room counts alone are not load (issue 15): one MCU room costs more CPU
 * than dozens of idle SFU rooms.
 */
import type { NodeInfo } from './node-info.js';

export const CPU_STEP = 0.05;

function cpuStep(n: NodeInfo): number {
  return Math.round(n.load.cpu / CPU_STEP);
}

/** Negative when `a` should host before `b`. */
export function compareLoad(a: NodeInfo, b: NodeInfo): number {
  return (
    cpuStep(a) - cpuStep(b) ||
    a.load.participants - b.load.participants ||
    a.load.rooms - b.load.rooms ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/** The node a new room goes to, or undefined when every node drains (or none is live). */
export function pickLeastLoaded(nodes: Iterable<NodeInfo>): NodeInfo | undefined {
  let best: NodeInfo | undefined;
  for (const n of nodes) {
    if (n.draining) continue;
    if (!best || compareLoad(n, best) < 0) best = n;
  }
  return best;
}
