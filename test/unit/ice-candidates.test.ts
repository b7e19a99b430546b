/** Host candidate priorities (RFC 8445 §5.1.2.1, RFC 6544 §4.2) and announced addresses. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressPrecedence, candidatePriority, hostCandidates } from '../../src/rtc/port/candidates.js';
import { defaultAnnouncedAddresses } from '../../src/rtc/port/announced-addresses.js';

test('priority formula of RFC 8445 §5.1.2.1, component 1', () => {
  assert.equal(candidatePriority(126, 65535), 2130706431, 'the familiar maximum host priority');
  assert.equal(candidatePriority(0, 0), 255);
});

test('UDP beats TCP, IPv6 beats IPv4 (RFC 6724 precedence), order breaks ties, foundations differ', () => {
  const c = hostCandidates(['192.0.2.10', '2001:db8::10', '192.0.2.11'], 40000, 40000);
  assert.equal(c.length, 6);
  const udp = c.filter((x) => x.transport === 'udp');
  const tcp = c.filter((x) => x.transport === 'tcp');
  assert.ok(Math.min(...udp.map((x) => x.priority)) > Math.max(...tcp.map((x) => x.priority)));
  const byIp = (list: typeof c, ip: string): number => list.find((x) => x.ip === ip)?.priority ?? -1;
  assert.ok(byIp(udp, '2001:db8::10') > byIp(udp, '192.0.2.10'));
  assert.ok(byIp(udp, '192.0.2.10') > byIp(udp, '192.0.2.11'));
  assert.ok(byIp(tcp, '2001:db8::10') > byIp(tcp, '192.0.2.10'));
  for (const x of c) {
    assert.ok(Number.isInteger(x.priority) && x.priority >= 1 && x.priority <= 2 ** 31 - 1);
    assert.equal(x.component, 1);
    assert.equal(x.type, 'host');
    assert.equal(x.tcptype, x.transport === 'tcp' ? 'passive' : undefined);
  }
  assert.equal(new Set(c.map((x) => x.foundation)).size, 6);
  assert.equal(new Set(c.map((x) => x.priority)).size, 6, 'RFC 8445 §5.1.2.1: unique priorities');
  assert.equal(hostCandidates(['192.0.2.10'], 40000, null).length, 1, 'no TCP when off');
  assert.ok(addressPrecedence('::1') > addressPrecedence('2001:db8::1'));
  assert.ok(addressPrecedence('fd00::1') < addressPrecedence('10.0.0.1'));
});

test('announced addresses: specific listen addresses as given; wildcards expand to interface addresses of their family', () => {
  assert.deepEqual(defaultAnnouncedAddresses(['127.0.0.1', '::1']), ['127.0.0.1', '::1']);
  const v4 = defaultAnnouncedAddresses(['0.0.0.0']);
  assert.ok(v4.length > 0 && v4.every((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a)));
  const v6 = defaultAnnouncedAddresses(['::']);
  assert.ok(v6.length > 0 && v6.every((a) => a.includes(':') && !/^fe[89ab]/i.test(a)));
});
