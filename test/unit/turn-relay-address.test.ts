/** Where a relay is bound (RFC 8656 §7.2): the address the client reached, of the asked family. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { relayAddressFor } from '../../src/turn/allocations/relay-address.js';

const SERVED = ['127.0.0.1', '198.18.0.1', '::1', '2001:db8::1'];

test('the relay is on the address the client reached when the family matches', () => {
  assert.equal(relayAddressFor('198.18.0.1', 4, SERVED, undefined), '198.18.0.1');
  assert.equal(relayAddressFor('::1', 6, SERVED, undefined), '::1');
  assert.equal(relayAddressFor('::ffff:198.18.0.1', 4, SERVED, undefined), '198.18.0.1', 'an IPv4-mapped local address is IPv4');
});

test('another family: a served address of it, not loopback when another exists; none → undefined (440)', () => {
  assert.equal(relayAddressFor('198.18.0.1', 6, SERVED, undefined), '2001:db8::1');
  assert.equal(relayAddressFor('2001:db8::1', 4, SERVED, undefined), '198.18.0.1');
  assert.equal(relayAddressFor('::1', 4, ['127.0.0.1', '::1'], undefined), '127.0.0.1');
  assert.equal(relayAddressFor('127.0.0.1', 6, ['127.0.0.1'], undefined), undefined);
});

test('a configured relay address wins, for its own family only', () => {
  assert.equal(relayAddressFor('127.0.0.1', 4, SERVED, '198.18.0.9'), '198.18.0.9');
  assert.equal(relayAddressFor('127.0.0.1', 6, SERVED, '198.18.0.9'), undefined);
});
