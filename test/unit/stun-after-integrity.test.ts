/**
 * RFC 8489 §14.5/§14.6: what follows MESSAGE-INTEGRITY (except MESSAGE-INTEGRITY-SHA256 and
 * FINGERPRINT) and what follows MESSAGE-INTEGRITY-SHA256 (except FINGERPRINT) is not protected,
 * and the decoder leaves it out, so no caller can act on it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Attr,
  StunClass,
  StunMessageBuilder,
  StunMethod,
  checkFingerprint,
  checkIntegrity,
  decodeStun,
  getAttribute,
} from '../../src/stun/index.js';

const key = Buffer.from('key');

test('attributes after MESSAGE-INTEGRITY are ignored; MESSAGE-INTEGRITY-SHA256 and FINGERPRINT are kept and still verify', () => {
  const raw = new StunMessageBuilder(StunMethod.Refresh, StunClass.Request)
    .add(Attr.Username, Buffer.from('u'))
    .addIntegrity(key)
    .add(Attr.Lifetime, Buffer.alloc(4))
    .addIntegrity(key, true)
    .add(Attr.XorPeerAddress, Buffer.alloc(8))
    .addFingerprint()
    .build();
  const r = decodeStun(raw);
  assert.ok(r.ok);
  assert.deepEqual(
    r.message.attributes.map((a) => a.type),
    [Attr.Username, Attr.MessageIntegrity, Attr.MessageIntegritySha256, Attr.Fingerprint],
  );
  assert.equal(r.message.ignoredAfterIntegrity, 2);
  assert.equal(getAttribute(r.message, Attr.Lifetime), undefined);
  assert.equal(checkFingerprint(r.message), true);
  assert.equal(checkIntegrity(r.message, key), true);
});

test('after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT counts (a later MESSAGE-INTEGRITY too is ignored)', () => {
  const raw = new StunMessageBuilder(StunMethod.Allocate, StunClass.Request)
    .addIntegrity(key, true)
    .addIntegrity(key)
    .add(Attr.RequestedTransport, Buffer.from([17, 0, 0, 0]))
    .build();
  const r = decodeStun(raw);
  assert.ok(r.ok);
  assert.deepEqual(
    r.message.attributes.map((a) => a.type),
    [Attr.MessageIntegritySha256],
  );
  assert.equal(checkIntegrity(r.message, key, true), true);
});

test('a message without integrity keeps every attribute', () => {
  const raw = new StunMessageBuilder(StunMethod.Binding, StunClass.Request)
    .add(Attr.Software, Buffer.from('x'))
    .add(Attr.Priority, Buffer.alloc(4))
    .addFingerprint()
    .build();
  const r = decodeStun(raw);
  assert.ok(r.ok);
  assert.equal(r.message.attributes.length, 3);
  assert.equal(r.message.ignoredAfterIntegrity, 0);
});
