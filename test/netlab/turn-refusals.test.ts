/**
 * TURN must not be an open proxy into the network it sits in. The server and its client run
 * inside a fresh network namespace with only a loopback interface and no route (so even a
 * filter bug could not send a packet anywhere), and the server is asked to relay to loopback,
 * private, CGNAT, link-local (cloud metadata), multicast, unspecified and benchmarking
 * addresses, and to the IPv6 forms that carry them: every one is refused with 403.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { netlabAvailable } from '../helpers/netlab.js';

const NS = `sbturnsec-${process.pid % 100000}`;
const probe = fileURLToPath(new URL('../helpers/turn-refusal-probe.js', import.meta.url));
let result: Record<string, unknown>;

before(() => {
  assert.ok(netlabAvailable(), 'network namespaces need root with iproute2 and iptables (.ci/run installs them)');
  execFileSync('ip', ['netns', 'add', NS]);
  execFileSync('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);
  const out = execFileSync('ip', ['netns', 'exec', NS, process.execPath, probe], { encoding: 'utf8', timeout: 60_000 });
  result = JSON.parse(out.trim().split('\n').pop() as string) as Record<string, unknown>;
});

after(() => {
  try {
    execFileSync('ip', ['netns', 'delete', NS]);
  } catch {
    /* not created */
  }
});

test('the namespace has no way out: loopback only, no route', () => {
  const links = execFileSync('ip', ['netns', 'exec', NS, 'ip', '-o', 'link'], { encoding: 'utf8' }).trim().split('\n');
  assert.equal(links.length, 1);
  assert.match(links[0] as string, /: lo:/);
  assert.equal(execFileSync('ip', ['netns', 'exec', NS, 'ip', '-4', 'route'], { encoding: 'utf8' }).trim(), '');
  assert.equal(result.error, undefined, String(result.error));
  assert.deepEqual(result.addresses, ['127.0.0.1', '::1']);
});

test('an unauthenticated Allocate gets 401 and leaves no allocation', () => {
  assert.deepEqual(result.unauthenticated, { code: 401, allocationsAfter: 0, created: 0 });
});

test('CreatePermission and ChannelBind to every refused address get 403, IPv4-mapped and NAT64 forms included', () => {
  const permission = result.permission as Record<string, number>;
  const channel = result.channel as Record<string, number>;
  for (const address of ['127.0.0.1', '::ffff:127.0.0.1', '10.0.0.1', '169.254.169.254', '0.0.0.0']) {
    assert.equal(permission[address], 403, `CreatePermission ${address}`);
  }
  for (const [address, code] of Object.entries(permission)) assert.equal(code, 403, `CreatePermission ${address}`);
  for (const [address, code] of Object.entries(channel)) assert.equal(code, 403, `ChannelBind ${address}`);
  assert.equal(Object.keys(permission).length, 22);
});

test('one refused address fails the whole CreatePermission; a public one alone is allowed; Send without permission is dropped', () => {
  assert.equal(result.mixed, 403);
  assert.equal(result.publicAllowed, true);
  assert.equal(result.sendDropped, 1);
  assert.equal(result.relayedToPeers, 0, 'nothing was ever relayed');
});

test('quotas hold: a third allocation for one user and a fourth on a server of three get 486', () => {
  assert.equal(result.perUserQuota, 486);
  assert.equal(result.zedFirst, true);
  assert.equal(result.totalQuota, 486);
  assert.equal(result.active, 3);
});
