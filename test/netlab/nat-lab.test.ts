/**
 * The NAT lab behaves like the NATs it stands for, checked with plain UDP before any ICE
 * test relies on it: a cone NAT keeps one public port for all destinations and filters
 * unsolicited traffic; a symmetric NAT uses a new port per destination.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createNatLab, type NatLab } from '../helpers/netlab.js';

const helper = (name: string): string => fileURLToPath(new URL(`../helpers/${name}`, import.meta.url));
let lab: NatLab;

before(async () => {
  lab = createNatLab([{ nat: 'cone' }, { nat: 'symmetric' }]);
  const reflector = lab.spawn(lab.inetNs, process.execPath, [helper('udp-reflector.js'), lab.inetIp, '3478', '3479', '3480']);
  const [chunk] = (await once(reflector.stdout!, 'data')) as [Buffer];
  assert.equal(chunk.toString().trim(), 'ready');
});

after(() => lab?.destroy());

function probe(ns: string): { mapped: string[]; unsolicitedArrived: boolean } {
  return JSON.parse(lab.exec(ns, process.execPath, [helper('udp-probe.js'), lab.inetIp, '3478', '3479'])) as {
    mapped: string[];
    unsolicitedArrived: boolean;
  };
}

test('a port-restricted cone NAT: one mapping for every destination, unsolicited traffic dropped', () => {
  const home = lab.homes[0]!;
  const r = probe(home.hostNs);
  const [m1, m2] = r.mapped;
  assert.ok(m1?.startsWith(`${home.wanIp}:`), `seen from the internet as the NAT's address (${m1})`);
  assert.equal(m1, m2, 'same public port towards both destinations');
  assert.equal(r.unsolicitedArrived, false);
});

test('a symmetric NAT: a new mapping per destination', () => {
  const home = lab.homes[1]!;
  const r = probe(home.hostNs);
  const [m1, m2] = r.mapped;
  assert.ok(m1?.startsWith(`${home.wanIp}:`) && m2?.startsWith(`${home.wanIp}:`));
  assert.notEqual(m1, m2, 'different public ports');
  assert.equal(r.unsolicitedArrived, false);
});

test('the lab cannot reach the outside world', () => {
  // No route leaves the lab: the internet namespace's default route ends on its own bridge.
  const routes = lab.exec(lab.inetNs, 'ip', ['route']);
  assert.match(routes, /^default dev br0/m);
  assert.doesNotMatch(lab.exec(lab.homes[0]!.hostNs, 'ip', ['-4', 'addr']), /192\.0\.2\./);
});
