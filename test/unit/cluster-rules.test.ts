/**
 * The cluster's pure rules: the placement order, the reconnect backoff, node ids and URLs,
 * stored node records and bus envelopes checked on receipt.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeEnvelope, type BusValidators } from '../../src/cluster/bus-envelope.js';
import { isNodeId, isRedisUrl, randomNodeId, redactRedisUrl } from '../../src/cluster/node-identity.js';
import { decodeNodeInfo, encodeNodeInfo, type NodeInfo } from '../../src/cluster/node-info.js';
import { pickLeastLoaded } from '../../src/cluster/placement-rule.js';
import { reconnectDelayMs } from '../../src/cluster/RedisConnection.js';

const node = (id: string, cpu: number, participants = 0, rooms = 0, draining = false): NodeInfo => ({
  id,
  address: '10.0.0.1',
  wsUrl: 'ws://x',
  httpUrl: 'http://x',
  startedAt: 1,
  draining,
  load: { cpu, rooms, participants },
});

test('placement: lowest CPU step, then participants, then rooms, then id; draining nodes never', () => {
  assert.equal(pickLeastLoaded([node('a', 0.5), node('b', 0.3), node('c', 0.4)])?.id, 'b');
  // 0.30 and 0.31 share a 5 % step: participants decide.
  assert.equal(pickLeastLoaded([node('a', 0.3, 50), node('b', 0.31, 10)])?.id, 'b');
  assert.equal(pickLeastLoaded([node('a', 0.3, 10, 5), node('b', 0.3, 10, 2)])?.id, 'b');
  assert.equal(pickLeastLoaded([node('b', 0.3, 10, 2), node('a', 0.3, 10, 2)])?.id, 'a');
  assert.equal(pickLeastLoaded([node('a', 0.0, 0, 0, true), node('b', 0.9)])?.id, 'b');
  assert.equal(pickLeastLoaded([node('a', 0, 0, 0, true)]), undefined);
  assert.equal(pickLeastLoaded([]), undefined);
});

test('reconnect backoff: 100 ms doubling to at most 2 s', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 50, 10_000].map(reconnectDelayMs), [100, 200, 400, 800, 1600, 2000, 2000, 2000]);
});

test('node ids, Redis URLs', () => {
  assert.ok(isNodeId(randomNodeId()));
  assert.ok(isNodeId('eu-1_A'));
  for (const bad of ['', 'a:b', 'a b', 'x'.repeat(65), 'ü']) assert.equal(isNodeId(bad), false, bad);
  assert.ok(isRedisUrl('redis://127.0.0.1:6379'));
  assert.ok(isRedisUrl('rediss://u:p@h/2'));
  for (const bad of ['http://h', 'redis://', 'h:6379', '']) assert.equal(isRedisUrl(bad), false, bad);
  assert.equal(redactRedisUrl('redis://u:secret@h:1/0'), 'redis://u:***@h:1/0');
});

test('node records: round trip; a wrong shape, another id or an oversize record is refused', () => {
  const info = node('n-1', 0.25, 3, 1);
  assert.deepEqual(decodeNodeInfo(encodeNodeInfo(info), 'n-1'), info);
  assert.equal(decodeNodeInfo(encodeNodeInfo(info), 'n-2'), undefined);
  assert.equal(decodeNodeInfo('{', 'n-1'), undefined);
  assert.equal(decodeNodeInfo(JSON.stringify({ ...info, load: { cpu: -1, rooms: 0, participants: 0 } }), 'n-1'), undefined);
  assert.equal(decodeNodeInfo(JSON.stringify({ ...info, draining: 'no' }), 'n-1'), undefined);
  assert.equal(decodeNodeInfo(JSON.stringify({ ...info, wsUrl: 'x'.repeat(5000) }), 'n-1'), undefined);
});

test('bus envelopes: only a known type with a valid body passes', () => {
  const validators: BusValidators<{ ping: { i: number } }> = {
    ping: (b): b is { i: number } => typeof b === 'object' && b !== null && typeof (b as { i?: unknown }).i === 'number',
  };
  const ok = decodeEnvelope(JSON.stringify({ v: 1, from: 'n-1', seq: 3, type: 'ping', room: 'r', body: { i: 1 } }), validators);
  assert.ok(ok.ok && ok.envelope.body.i === 1 && ok.envelope.room === 'r');
  const reason = (v: unknown): string => {
    const out = decodeEnvelope(typeof v === 'string' ? v : JSON.stringify(v), validators);
    return out.ok ? 'ok' : out.reason;
  };
  assert.equal(reason('nope'), 'malformed');
  assert.equal(reason(null), 'malformed');
  assert.equal(reason({ v: 1, from: 'n-1', seq: 1.5, type: 'ping', body: { i: 1 } }), 'malformed');
  assert.equal(reason({ v: 1, from: 'n-1', seq: 1, type: 'ping', room: '', body: { i: 1 } }), 'malformed');
  assert.equal(reason({ v: 1, from: 'n-1', seq: 1, type: 'toString', body: {} }), 'unknown-type');
  assert.equal(reason({ v: 1, from: 'n-1', seq: 1, type: 'ping', body: { i: '1' } }), 'invalid-body');
});
