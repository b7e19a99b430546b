/**
 * What a node says about itself in Redis (`<prefix>node:<id>`, JSON), and the check of what
 * another node wrote: records are read from a shared store, so a malformed one (another
 * version, a hand edit) is skipped and counted by the reader, never trusted.
 */
import { isNodeId } from './node-identity.js';

export interface NodeLoad {
  /** CPU used by the node's process(es) as a fraction of the machine's cores (0-1). */
  cpu: number;
  rooms: number;
  participants: number;
  /** Media packets forwarded per second (SFU and pipes), when the node measures it. */
  packetsPerSecond?: number;
}

export interface NodeInfo {
  id: string;
  /** `nodeAddress`: where other nodes reach this node's media pipes. */
  address: string;
  /** Signaling WebSocket URL clients of this node use. */
  wsUrl: string;
  httpUrl: string;
  /** Epoch milliseconds. */
  startedAt: number;
  /** No new rooms or participants go to a draining node. */
  draining: boolean;
  load: NodeLoad;
}

/** A record is at most this long; a longer one is refused when written and skipped when read. */
export const MAX_NODE_INFO_BYTES = 4096;

const isFiniteNonNegative = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isShortString = (v: unknown): v is string => typeof v === 'string' && v.length <= 1024;

function parseLoad(v: unknown): NodeLoad | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (!isFiniteNonNegative(o['cpu']) || !isFiniteNonNegative(o['rooms']) || !isFiniteNonNegative(o['participants'])) return undefined;
  const load: NodeLoad = { cpu: o['cpu'], rooms: o['rooms'], participants: o['participants'] };
  if (o['packetsPerSecond'] !== undefined) {
    if (!isFiniteNonNegative(o['packetsPerSecond'])) return undefined;
    load.packetsPerSecond = o['packetsPerSecond'];
  }
  return load;
}

/** The record stored for `info`. */
export function encodeNodeInfo(info: NodeInfo): string {
  return JSON.stringify(info);
}

/** A stored record, or undefined when it is not one (wrong shape, id not `expectedId`). */
export function decodeNodeInfo(text: string, expectedId: string): NodeInfo | undefined {
  if (text.length > MAX_NODE_INFO_BYTES) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const load = parseLoad(o['load']);
  if (
    o['id'] !== expectedId ||
    typeof o['id'] !== 'string' ||
    !isNodeId(o['id']) ||
    !isShortString(o['address']) ||
    !isShortString(o['wsUrl']) ||
    !isShortString(o['httpUrl']) ||
    !isFiniteNonNegative(o['startedAt']) ||
    typeof o['draining'] !== 'boolean' ||
    !load
  )
    return undefined;
  return {
    id: o['id'],
    address: o['address'],
    wsUrl: o['wsUrl'],
    httpUrl: o['httpUrl'],
    startedAt: o['startedAt'],
    draining: o['draining'],
    load,
  };
}
