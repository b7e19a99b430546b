/**
 * The bus messages of rooms across nodes are checked whole before ClusterRooms sees them: what
 * another node sends is trusted to be ours, not to be right. Valid bodies pass; a wrong type, an
 * unknown field, an id or room outside the protocol's patterns, a relayed message that is not one
 * of the four relayed types (or carries a call id), and a roster over its bound are refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeEnvelope } from '../../src/cluster/bus-envelope.js';
import { FEDERATION_VALIDATORS, MAX_ROSTER_MEMBERS } from '../../src/cluster/federation-messages.js';

const member = { id: 'p-abc', identity: 'ada', name: 'Ada' };
const envelope = (type: string, body: unknown): string => JSON.stringify({ v: 1, from: 'node-a', seq: 1, type, body });
const accepted = (type: string, body: unknown): boolean => decodeEnvelope(envelope(type, body), FEDERATION_VALIDATORS).ok;

test('valid federation messages are accepted', () => {
  assert.ok(accepted('member-joined', { room: 'r', member, joinedAt: 1700000000000 }));
  assert.ok(accepted('member-left', { room: 'r', id: 'p-abc', reason: 'disconnected' }));
  assert.ok(accepted('roster', { room: 'r', members: [{ member, joinedAt: 1 }], sync: true }));
  assert.ok(accepted('roster', { room: 'r', members: [], sync: false }));
  assert.ok(accepted('relay', { room: 'r', to: 'p-x', message: { type: 'offer', from: 'p-abc', sdp: 'v=0' } }));
  const candidate = { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 };
  assert.ok(accepted('relay', { room: 'r', to: 'p-x', message: { type: 'candidate', from: 'p-abc', candidate } }));
  assert.ok(accepted('relay', { room: 'r', to: 'p-x', message: { type: 'end-of-candidates', from: 'p-abc' } }));
});

test('malformed or overlong federation messages are refused', () => {
  const refused: Array<[string, unknown]> = [
    ['member-joined', { room: 'r', member, joinedAt: -1 }],
    ['member-joined', { room: 'r/../x', member, joinedAt: 1 }],
    ['member-joined', { room: 'r', member: { ...member, id: 'p abc' }, joinedAt: 1 }],
    ['member-joined', { room: 'r', member: { ...member, admin: true }, joinedAt: 1 }],
    ['member-joined', { room: 'r', member, joinedAt: 1, extra: 1 }],
    ['member-left', { room: 'r', id: 'p-abc', reason: 'node-lost' }],
    ['roster', { room: 'r', members: 'everyone', sync: false }],
    ['roster', { room: 'r', members: [{ member }], sync: false }],
    ['roster', { room: 'r', members: [], sync: 'yes' }],
    ['roster', { room: 'r', members: Array.from({ length: MAX_ROSTER_MEMBERS + 1 }, () => ({ member, joinedAt: 1 })), sync: false }],
    ['relay', { room: 'r', to: 'p-x', message: { type: 'welcome', from: 'p-abc' } }],
    ['relay', { room: 'r', to: 'p-x', message: { type: 'offer', from: 'p-abc', sdp: 'v=0', callId: 'c1' } }],
    ['relay', { room: 'r', to: 'p-x', message: { type: 'offer', from: 'p-abc', sdp: 'x'.repeat(70_000) } }],
    ['relay', { room: 'r', to: 'p-x', message: { type: 'candidate', from: 'p-abc', candidate: { candidate: 'c', extra: 1 } } }],
    ['relay', { room: 'r', to: 'p-x', message: { type: 'toString', from: 'p-abc' } }],
    ['relay', { room: 'r', to: 'p-x' }],
  ];
  for (const [type, body] of refused) {
    const outcome = decodeEnvelope(envelope(type, body), FEDERATION_VALIDATORS);
    assert.deepEqual(outcome, { ok: false, reason: 'invalid-body' }, `${type} ${JSON.stringify(body).slice(0, 120)}`);
  }
  assert.deepEqual(decodeEnvelope(envelope('member-moved', {}), FEDERATION_VALIDATORS), { ok: false, reason: 'unknown-type' });
  // A name that exists on Object.prototype, sent as an own key (JSON.parse makes it one).
  const proto = '{"v":1,"from":"node-a","seq":1,"type":"member-left","body":{"room":"r","id":"p-abc","reason":"left","__proto__":{}}}';
  assert.deepEqual(decodeEnvelope(proto, FEDERATION_VALIDATORS), { ok: false, reason: 'invalid-body' });
});
