/**
 * Who a node is in the cluster: its id (part of Redis key and channel names, so a restricted
 * alphabet), the address other nodes reach its pipes at, and the check of the Redis URL.
 * The config's defaults for `nodeId` and `nodeAddress` are made here when the keys are unset.
 */
import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';

const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** 1-64 letters, digits, `-` or `_`: safe inside key and channel names, never ambiguous with `:`. */
export function isNodeId(id: string): boolean {
  return NODE_ID.test(id);
}

/** A fresh id for a node started without `nodeId`: `n-` and 12 hex digits (48 random bits). */
export function randomNodeId(): string {
  return `n-${randomBytes(6).toString('hex')}`;
}

/**
 * The default `nodeAddress`: the first non-internal IPv4 address in the order the OS lists the
 * interfaces, else 127.0.0.1 (a machine without a network: its nodes can only reach each other).
 */
export function defaultNodeAddress(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

export function isRedisUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** The URL without its password, for logs and error messages. */
export function redactRedisUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return '(not a URL)';
  }
}
