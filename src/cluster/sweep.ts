/**
 * Removing what a gone node left in Redis (its memberships and the rooms homed on it), in
 * batches of SWEEP_NODE (scripts.ts). Run by every live node for every dead id it sees, and by a
 * node on itself when it leaves gracefully; concurrent sweeps of one node split its rooms.
 */
import type { Redis } from 'ioredis';
import { InternalErrorCode, SwitchboardError } from '../protocol/errors.js';
import type { ClusterKeys } from './keys.js';
import { SWEEP_NODE } from './scripts.js';

export interface SweepResult {
  node: string;
  /** Nothing of the node is left (or it was already gone). */
  done: boolean;
  /** The node heartbeats again: nothing was touched. */
  refused: boolean;
  /** Rooms deleted because no node had members left in them. */
  deleted: string[];
  /** Rooms whose media home was the node, given to the node with the most participants there. */
  rehomed: Array<{ room: string; homeNode: string }>;
  /** Rooms where only the node's members were removed. */
  kept: number;
}

/** Rooms per script run: one run blocks Redis for about a room's worth of work each. */
export const SWEEP_BATCH = 100;
/** Runs per call; a node with more rooms is finished by the next call (the next poll). */
export const SWEEP_MAX_BATCHES = 100;
/** Room names kept in a result's lists (the counts of work done are not bounded by this). */
const MAX_LISTED = 1000;

export async function sweepNode(redis: Redis, keys: ClusterKeys, id: string): Promise<SweepResult> {
  const result: SweepResult = { node: id, done: false, refused: false, deleted: [], rehomed: [], kept: 0 };
  for (let i = 0; i < SWEEP_MAX_BATCHES && !result.done; i++) {
    const reply = await redis.eval(SWEEP_NODE, 0, keys.prefix, id, SWEEP_BATCH);
    if (!Array.isArray(reply) || typeof reply[0] !== 'number') {
      throw new SwitchboardError(InternalErrorCode.Malformed, 'unexpected reply from the sweep script');
    }
    if (reply[0] === -1) {
      result.refused = true;
      return result;
    }
    result.done = reply[0] === 1;
    for (let j = 1; j + 1 < reply.length; j += 2) {
      const room = String(reply[j]);
      const outcome = String(reply[j + 1]);
      if (outcome === 'deleted') {
        if (result.deleted.length < MAX_LISTED) result.deleted.push(room);
      } else if (outcome.startsWith('rehomed:')) {
        if (result.rehomed.length < MAX_LISTED) result.rehomed.push({ room, homeNode: outcome.slice('rehomed:'.length) });
      } else result.kept++;
    }
  }
  return result;
}
