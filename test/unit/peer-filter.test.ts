/** The TURN peer filter's verdicts, address by address (the server-level refusals are in test/netlab/turn-refusals). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerAddressFilter, checkCidr } from '../../src/turn/peer-filter.js';

test('refused by default: loopback, private, CGNAT, link-local, multicast, unspecified, reserved — in every IPv6 form', () => {
  const f = new PeerAddressFilter();
  for (const a of [
    '127.0.0.1',
    '127.255.0.9',
    '10.1.2.3',
    '172.31.255.255',
    '192.168.0.1',
    '100.64.0.1',
    '100.127.255.254',
    '169.254.169.254',
    '0.0.0.0',
    '0.1.2.3',
    '224.0.0.251',
    '239.255.255.250',
    '240.0.0.1',
    '255.255.255.255',
    '198.18.0.1',
    '198.19.255.1',
    '192.0.2.1',
    '::',
    '::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::FFFF:10.0.0.1',
    '::ffff:169.254.169.254',
    '::ffff:0.0.0.0',
    '::127.0.0.1',
    '64:ff9b::127.0.0.1',
    '64:ff9b::a00:1',
    '2002:a00:1::',
    '2002:c0a8:101::1',
    'fe80::1',
    'febf::1',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '2001:db8::1',
    '100::1',
  ])
    assert.equal(f.check(a), 'refused', a);
});

test('public addresses are allowed, also when an IPv6 form carries a public IPv4 address', () => {
  const f = new PeerAddressFilter();
  for (const a of [
    '1.1.1.1',
    '8.8.4.4',
    '100.63.255.255',
    '100.128.0.0',
    '172.32.0.1',
    '2606:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ])
    assert.equal(f.check(a), 'allowed', a);
});

test('--turn-allow-peer opens a range on purpose, in both forms; invalid input is "invalid"', () => {
  const f = new PeerAddressFilter(['127.0.0.0/8', '10.1.0.0/16', 'fd00::/8']);
  for (const a of ['127.0.0.1', '::ffff:127.0.0.1', '10.1.9.9', 'fd00::5']) assert.equal(f.check(a), 'allowed', a);
  for (const a of ['10.2.0.1', '169.254.169.254', 'fe80::1']) assert.equal(f.check(a), 'refused', a);
  for (const a of ['', 'localhost', '1.2.3', '::g', '1.2.3.4:80']) assert.equal(f.check(a), 'invalid', a);
  for (const c of ['10.0.0.0/33', '10.0.0.0/x', 'nope/8', '::/129', '10.0.0.0/-1']) assert.throws(() => checkCidr(c), /not a CIDR/, c);
  checkCidr('10.0.0.1');
});

test('refused by default too: the IPv4-translated form ::ffff:0:a.b.c.d (RFC 2765) of refused addresses, and 192.88.99.0/24', () => {
  const f = new PeerAddressFilter();
  for (const a of [
    '::ffff:0:127.0.0.1',
    '::ffff:0:7f00:1',
    '::ffff:0:10.0.0.1',
    '::ffff:0:169.254.169.254',
    '::ffff:0:0.0.0.0',
    '192.88.99.1',
    '::ffff:192.88.99.1',
  ])
    assert.equal(f.check(a), 'refused', a);
  assert.equal(f.check('::ffff:0:8.8.8.8'), 'allowed', 'a public address in the translated form');
});

test("the server's own addresses are 'self' in every form (the server decides by port), unless the allow list covers them", () => {
  const f = new PeerAddressFilter();
  f.addOwnAddresses(['1.2.3.4', '2606:4700::99', 'not-an-ip', '127.0.0.1']);
  for (const a of ['1.2.3.4', '::ffff:1.2.3.4', '::ffff:0:1.2.3.4', '64:ff9b::102:304', '2606:4700::99', '127.0.0.1'])
    assert.equal(f.check(a), 'self', a);
  for (const a of ['1.2.3.5', '2606:4700::98']) assert.equal(f.check(a), 'allowed', a);
  assert.equal(f.check('127.0.0.2'), 'refused', 'other loopback addresses stay refused');
  const open = new PeerAddressFilter(['1.2.3.0/24']);
  open.addOwnAddresses(['1.2.3.4']);
  assert.equal(open.check('1.2.3.4'), 'allowed');
});
