/**
 * The TURN server (RFC 8656) against our own test client, over real sockets on loopback:
 * authentication and its failures, relaying both ways over UDP, TCP and TLS with Send/Data
 * indications and channels, lifetimes, quotas, the bandwidth cap, reservations, and the
 * RFC 8489 additions (SHA-256 password algorithm, USERHASH). Peers here are on 127.0.0.1,
 * so each server allows 127.0.0.0/8 explicitly (refused by default: turn-refusals test).
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  Attr,
  PasswordAlgorithm,
  StunClass,
  StunMessageBuilder,
  StunMethod,
  checkIntegrity,
  encodePasswordAlgorithm,
  getAttribute,
  longTermKey,
  userHash,
} from '../../src/stun/index.js';
import { turnRestCredential } from '../../src/turn/rest-credentials.js';
import { type TurnServer, type TurnServerOptions } from '../../src/turn/TurnServer.js';
import { makeTestCert, type TestCert } from '../helpers/tls-cert.js';
import { startTestTurnServer, testTurnClient } from '../helpers/turn-server.js';
import { TurnTestClient, errorCode, relayedAddress, type Transport } from '../helpers/turn-client.js';
import { until as untilWithin } from '../helpers/until.js';
import { udpPeer } from '../helpers/udp-peer.js';

/** This file's waits are 2 s unless said otherwise. */
const until = (what: string, cond: () => boolean, ms = 2000): Promise<void> => untilWithin(what, cond, ms);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const servers: TurnServer[] = [];
let cert: TestCert;

async function startServer(o: Partial<TurnServerOptions> = {}): Promise<TurnServer> {
  const s = await startTestTurnServer(cert, { secret: 'rest-secret', ...o });
  servers.push(s);
  return s;
}

const client = (s: TurnServer, transport: Transport = 'udp', user = 'alice', password = 'wonderland'): Promise<TurnTestClient> =>
  testTurnClient(s, transport, user, password);

before(() => {
  cert = makeTestCert();
});
after(async () => {
  for (const s of servers) await s.close();
  cert.remove();
});

describe('authentication', () => {
  let s: TurnServer;
  before(async () => {
    s = await startServer();
  });

  test('an unauthenticated Allocate gets 401 with REALM, NONCE and PASSWORD-ALGORITHMS only, and leaves no state', async () => {
    const c = await client(s);
    const res = await c.exchange(
      new StunMessageBuilder(StunMethod.Allocate, StunClass.Request).add(Attr.RequestedTransport, Buffer.from([17, 0, 0, 0])),
    );
    assert.equal(errorCode(res), 401);
    assert.deepEqual(
      res.attributes.map((a) => a.type),
      [Attr.ErrorCode, Attr.Realm, Attr.Nonce, Attr.PasswordAlgorithms],
    );
    assert.equal(getAttribute(res, Attr.Realm)?.toString(), 'test.realm');
    assert.match(getAttribute(res, Attr.Nonce)?.toString() ?? '', /^obMatJos2/, 'nonce cookie announces RFC 8489 security features');
    assert.ok((c.rawResponses[0]?.length ?? 0) <= 120, `a 401 is small (${c.rawResponses[0]?.length} bytes)`);
    assert.equal(s.activeAllocations, 0);
    c.close();
  });

  test('a wrong password and an unknown user get 401; no allocation is made', async () => {
    for (const [user, pass] of [
      ['alice', 'not-her-password'],
      ['mallory', 'anything'],
    ] as const) {
      const c = await client(s, 'udp', user, pass);
      assert.equal(errorCode(await c.allocate()), 401, `${user}`);
      c.close();
    }
    assert.equal(s.activeAllocations, 0);
  });

  test('REST credentials: a fresh one works, an expired one and a forged one get 401', async () => {
    const fresh = turnRestCredential('rest-secret', 'carol', 600);
    const ok = await client(s, 'udp', fresh.username, fresh.credential);
    const res = await ok.allocate();
    assert.equal(res.cls, StunClass.Success);
    assert.ok(ok.verify(res), 'the success response is signed with our key');
    ok.close();
    const expired = turnRestCredential('rest-secret', 'carol', -10 + 60, Date.now() - 120_000);
    const old = await client(s, 'udp', expired.username, expired.credential);
    assert.equal(errorCode(await old.allocate()), 401);
    old.close();
    const forged = turnRestCredential('not-the-secret', 'carol', 600);
    const bad = await client(s, 'udp', forged.username, forged.credential);
    assert.equal(errorCode(await bad.allocate()), 401);
    bad.close();
  });

  test('a request with integrity but no NONCE is 400', async () => {
    const c = await client(s);
    const b = new StunMessageBuilder(StunMethod.Allocate, StunClass.Request)
      .add(Attr.RequestedTransport, Buffer.from([17, 0, 0, 0]))
      .add(Attr.Username, Buffer.from('alice'))
      .add(Attr.Realm, Buffer.from('test.realm'))
      .addIntegrity(longTermKey('alice', 'test.realm', 'wonderland'));
    assert.equal(errorCode(await c.exchange(b)), 400);
    c.close();
  });

  test('stale nonce: 438 with a fresh nonce, and the retry succeeds', async () => {
    const quick = await startServer({ nonceLifetimeS: 1 });
    const c = await client(quick);
    assert.equal((await c.allocate()).cls, StunClass.Success);
    await sleep(2100);
    const res = await c.exchange(c.signed(StunMethod.Refresh, []));
    assert.equal(errorCode(res), 438);
    c.learn(res);
    assert.equal((await c.exchange(c.signed(StunMethod.Refresh, []))).cls, StunClass.Success);
    c.close();
  });

  test('RFC 8489: SHA-256 password algorithm with USERHASH; a downgraded PASSWORD-ALGORITHMS is 400', async () => {
    const c = await client(s);
    const challenge = await c.exchange(
      new StunMessageBuilder(StunMethod.Allocate, StunClass.Request).add(Attr.RequestedTransport, Buffer.from([17, 0, 0, 0])),
    );
    c.learn(challenge);
    const offered = getAttribute(challenge, Attr.PasswordAlgorithms) as Buffer;
    const key = longTermKey('alice', 'test.realm', 'wonderland', 'sha256');
    const build = (algorithms: Buffer): StunMessageBuilder =>
      new StunMessageBuilder(StunMethod.Allocate, StunClass.Request)
        .add(Attr.RequestedTransport, Buffer.from([17, 0, 0, 0]))
        .add(Attr.Userhash, userHash('alice', 'test.realm'))
        .add(Attr.Realm, Buffer.from(c.realm))
        .add(Attr.Nonce, Buffer.from(c.nonce))
        .add(Attr.PasswordAlgorithms, algorithms)
        .add(Attr.PasswordAlgorithm, encodePasswordAlgorithm({ algorithm: PasswordAlgorithm.SHA256 }))
        .addIntegrity(key, true);
    const downgraded = Buffer.from(offered.subarray(offered.length - 4)); // only the last (MD5) entry
    assert.equal(errorCode(await c.exchange(build(downgraded))), 400);
    const res = await c.exchange(build(offered));
    assert.equal(res.cls, StunClass.Success);
    assert.ok(checkIntegrity(res, key, true), 'the response carries MESSAGE-INTEGRITY-SHA256 with the SHA-256 key');
    c.close();
  });
});

describe('relaying', () => {
  let s: TurnServer;
  before(async () => {
    s = await startServer();
  });

  for (const transport of ['udp', 'tcp', 'tls'] as const) {
    test(`${transport}: permission, Send/Data indications and ChannelData both ways; nothing passes without a permission`, async () => {
      const c = await client(s, transport);
      const res = await c.allocate();
      assert.equal(res.cls, StunClass.Success);
      const relay = relayedAddress(res);
      assert.equal(relay?.address, '127.0.0.1');
      const peer = await udpPeer();
      const dropped0 = s.counters.dropped;
      // No permission: the peer's packet is dropped, and the client's Send too.
      peer.sock.send(Buffer.from('unsolicited'), relay.port, '127.0.0.1');
      c.sendIndication({ address: '127.0.0.1', port: peer.port }, Buffer.from('too early'));
      await until('both drops counted', () => s.counters.dropped >= dropped0 + 2);
      assert.equal(c.received.length, 0);
      assert.equal(peer.got.length, 0);

      assert.equal((await c.createPermission({ address: '127.0.0.1', port: peer.port })).cls, StunClass.Success);
      c.sendIndication({ address: '127.0.0.1', port: peer.port }, Buffer.from('via send'));
      await until('peer receives the Send data', () => peer.got.length === 1);
      assert.equal(peer.got[0]?.toString(), 'via send');
      peer.sock.send(Buffer.from('back as data'), relay.port, '127.0.0.1');
      await until('client receives a Data indication', () => c.received.length === 1);
      assert.deepEqual(c.received[0], {
        peer: { family: 4, address: '127.0.0.1', port: peer.port },
        data: Buffer.from('back as data'),
        via: 'indication',
      });

      // 0x7ffe: above RFC 8656's 0x4fff, as libwebrtc picks (RFC 5766 range).
      for (const channel of [0x4001, 0x7ffe]) {
        const p2 = channel === 0x4001 ? peer : await udpPeer();
        assert.equal((await c.channelBind(channel, { address: '127.0.0.1', port: p2.port })).cls, StunClass.Success);
        const before = p2.got.length;
        c.sendChannelData(channel, Buffer.from(`odd-${channel}`));
        await until('peer receives channel data', () => p2.got.length === before + 1);
        assert.equal(p2.got.at(-1)?.toString(), `odd-${channel}`);
        const n = c.received.length;
        p2.sock.send(Buffer.from(`reply-${channel}`), relay.port, '127.0.0.1');
        await until('client receives ChannelData', () => c.received.length === n + 1);
        assert.equal(c.received.at(-1)?.via, 'channel');
        assert.equal(c.received.at(-1)?.data.toString(), `reply-${channel}`);
        if (p2 !== peer) p2.sock.close();
      }
      peer.sock.close();
      c.close();
    });
  }

  test('a retransmitted Allocate gets the same answer; another Allocate on the 5-tuple gets 437', async () => {
    const c = await client(s);
    await c.allocate();
    const again = c.signed(StunMethod.Allocate, [[Attr.RequestedTransport, Buffer.from([17, 0, 0, 0])]]);
    const raw = again.build();
    const first = await c.exchange(again);
    assert.equal(errorCode(first), 437);
    // Same transaction id as the successful one: rebuild that request exactly.
    const okTid = c.rawResponses.find((r) => r.readUInt16BE(0) === 0x0103)?.subarray(8, 20);
    assert.ok(okTid && !okTid.equals(raw.subarray(8, 20)));
    const retransmit = new StunMessageBuilder(StunMethod.Allocate, StunClass.Request, Buffer.from(okTid)).add(
      Attr.RequestedTransport,
      Buffer.from([17, 0, 0, 0]),
    );
    const res = await c.exchange(c.sign(retransmit));
    assert.equal(res.cls, StunClass.Success);
    assert.equal(s.activeAllocations >= 1, true);
    c.close();
  });

  test('Refresh with LIFETIME 0 deletes the allocation: its relay is closed and later requests get 437', async () => {
    const c = await client(s);
    const relay = relayedAddress(await c.allocate())!;
    const n = s.activeAllocations;
    const res = await c.refresh(0);
    assert.equal(res.cls, StunClass.Success);
    assert.equal(getAttribute(res, Attr.Lifetime)?.readUInt32BE(0), 0);
    assert.equal(s.activeAllocations, n - 1);
    assert.equal(errorCode(await c.createPermission({ address: '127.0.0.1', port: 9 })), 437);
    // The relayed port is free again: the server no longer holds it.
    const probe = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.bind(relay.port, '127.0.0.1', resolve);
    });
    probe.close();
    c.close();
  });

  test('ChannelBind rules: a number stays with its peer, a peer with its number; out-of-range numbers and another family are refused', async () => {
    const c = await client(s);
    await c.allocate();
    const a = { address: '127.0.0.1', port: 40001 };
    const b = { address: '127.0.0.1', port: 40002 };
    assert.equal((await c.channelBind(0x4000, a)).cls, StunClass.Success);
    assert.equal((await c.channelBind(0x4000, a)).cls, StunClass.Success, 'a refresh of the same binding');
    assert.equal(errorCode(await c.channelBind(0x4000, b)), 400);
    assert.equal(errorCode(await c.channelBind(0x4001, a)), 400);
    assert.equal(errorCode(await c.channelBind(0x3fff, b)), 400);
    assert.equal(errorCode(await c.channelBind(0x8000, b)), 400);
    assert.equal(errorCode(await c.channelBind(0x4002, { address: '::1', port: 40003 })), 443);
    c.close();
  });

  test('DONT-FRAGMENT (cannot be honoured from Node) is an unknown attribute: 420 listing it', async () => {
    const c = await client(s);
    const res = await c.allocate([[Attr.DontFragment, Buffer.alloc(0)]]);
    assert.equal(errorCode(res), 420);
    assert.equal(getAttribute(res, Attr.UnknownAttributes)?.readUInt16BE(0), Attr.DontFragment);
    c.close();
  });

  test('EVEN-PORT with R: an even relay port and a RESERVATION-TOKEN that gives the next port to a second Allocate', async () => {
    const c1 = await client(s);
    const r1 = await c1.allocate([[Attr.EvenPort, Buffer.from([0x80])]]);
    const p1 = relayedAddress(r1)!.port;
    assert.equal(p1 % 2, 0);
    const token = getAttribute(r1, Attr.ReservationToken);
    assert.equal(token?.length, 8);
    const c2 = await client(s);
    const r2 = await c2.allocate([[Attr.ReservationToken, token]]);
    assert.equal(relayedAddress(r2)?.port, p1 + 1);
    const c3 = await client(s);
    assert.equal(errorCode(await c3.allocate([[Attr.ReservationToken, token]])), 508, 'a token is good once');
    for (const c of [c1, c2, c3]) c.close();
  });
});

describe('limits', () => {
  test('per-user and total quotas answer 486', async () => {
    const s = await startServer({ maxAllocationsPerUser: 2, maxAllocations: 3 });
    const alice = await Promise.all([0, 1, 2].map(() => client(s)));
    assert.equal((await alice[0]!.allocate()).cls, StunClass.Success);
    assert.equal((await alice[1]!.allocate()).cls, StunClass.Success);
    assert.equal(errorCode(await alice[2]!.allocate()), 486, 'third for one user');
    const bob = await Promise.all([0, 1].map(() => client(s, 'udp', 'bob', 'builder')));
    assert.equal((await bob[0]!.allocate()).cls, StunClass.Success);
    assert.equal(errorCode(await bob[1]!.allocate()), 486, 'fourth on the server');
    await alice[0]!.refresh(0);
    assert.equal((await bob[1]!.allocate()).cls, StunClass.Success, 'a freed slot can be used');
    for (const c of [...alice, ...bob]) c.close();
  });

  test('allocations expire after their lifetime; the sweep releases them', async () => {
    const s = await startServer({ defaultLifetimeS: 1, maxLifetimeS: 1 });
    const c = await client(s);
    const res = await c.allocate();
    assert.equal(getAttribute(res, Attr.Lifetime)?.readUInt32BE(0), 1);
    assert.equal(s.activeAllocations, 1);
    await until('the allocation expires', () => s.activeAllocations === 0, 4000);
    assert.equal(s.counters.allocationsExpired, 1);
    c.close();
  });

  test('the bandwidth cap drops what exceeds it (one second of burst)', async () => {
    const s = await startServer({ maxBitrateKbps: 80 }); // 10,000 bytes/s
    const c = await client(s);
    await c.allocate();
    const peer = await udpPeer();
    await c.createPermission({ address: '127.0.0.1', port: peer.port });
    await c.channelBind(0x4000, { address: '127.0.0.1', port: peer.port });
    for (let i = 0; i < 50; i++) c.sendChannelData(0x4000, Buffer.alloc(1000, i));
    await sleep(300);
    assert.ok(peer.got.length >= 9 && peer.got.length <= 11, `about the burst got through (${peer.got.length})`);
    assert.ok(s.counters.dropped >= 39);
    peer.sock.close();
    c.close();
  });

  test('a TCP connection closing ends its allocation', async () => {
    const s = await startServer();
    const c = await client(s, 'tcp');
    await c.allocate();
    assert.equal(s.activeAllocations, 1);
    c.close();
    await until('the allocation is released', () => s.activeAllocations === 0);
  });
});

test('behind a 1:1 NAT, --turn-external-ip is the relayed address announced (same port)', async () => {
  const s = await startServer({ externalIp: '203.0.113.7' });
  const c = await client(s);
  const res = await c.allocate();
  const relay = relayedAddress(res);
  assert.equal(relay?.address, '203.0.113.7');
  assert.ok((relay?.port ?? 0) > 0);
  c.close();
});

describe('IPv6', () => {
  test('a server on ::1 relays on IPv6; REQUESTED-ADDRESS-FAMILY IPv4 there is 440', async () => {
    const s = await startServer({ host: '::1', allowPeers: ['::1/128'] });
    const c = await TurnTestClient.open('udp', '::1', s.port);
    c.username = 'alice';
    c.password = 'wonderland';
    const res = await c.allocate([[Attr.RequestedAddressFamily, Buffer.from([0x02, 0, 0, 0])]]);
    assert.deepEqual(relayedAddress(res)?.address, '::1');
    const peer = createSocket('udp6');
    await new Promise<void>((r) => peer.bind(0, '::1', r));
    const got: Buffer[] = [];
    peer.on('message', (m) => got.push(m));
    await c.channelBind(0x4444, { address: '::1', port: peer.address().port });
    c.sendChannelData(0x4444, Buffer.from('over v6'));
    await until('the IPv6 peer receives', () => got.length === 1);
    const c4 = await TurnTestClient.open('udp', '::1', s.port);
    c4.username = 'alice';
    c4.password = 'wonderland';
    assert.equal(errorCode(await c4.allocate([[Attr.RequestedAddressFamily, Buffer.from([0x01, 0, 0, 0])]])), 440);
    peer.close();
    c.close();
    c4.close();
  });
});

describe('robustness', () => {
  test('20,000 random and mutated datagrams and junk TCP streams: all dropped and counted, the server still answers', async () => {
    const s = await startServer();
    const c = await client(s);
    await c.allocate();
    const seeds = c.rawResponses.map((r) => Buffer.from(r));
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    let x = 12345;
    const rnd = (n: number): number => {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      return x % n;
    };
    for (let i = 0; i < 20_000; i++) {
      let m: Buffer;
      if (i % 2 === 0) {
        m = Buffer.from(seeds[rnd(seeds.length)] as Buffer);
        for (let k = 0; k < 1 + rnd(4); k++) m[rnd(m.length)] = rnd(256);
        if (rnd(4) === 0) m = m.subarray(0, rnd(m.length + 1));
      } else {
        m = Buffer.alloc(1 + rnd(200));
        for (let k = 0; k < m.length; k++) m[k] = rnd(256);
        if (rnd(3) === 0) m[0] = 0x40 + rnd(64); // ChannelData-looking
      }
      sock.send(m, s.port, '127.0.0.1');
      if (i % 500 === 0) await sleep(1);
    }
    for (let i = 0; i < 20; i++) {
      const t = connect(s.port, '127.0.0.1');
      t.on('error', () => undefined);
      const junk = Buffer.alloc(1 + rnd(3000));
      for (let k = 0; k < junk.length; k++) junk[k] = rnd(256);
      t.end(junk);
    }
    await sleep(300);
    assert.ok(s.counters.malformed > 1000, `malformed counted (${s.counters.malformed})`);
    const probe = await client(s);
    const res = await probe.exchange(new StunMessageBuilder(StunMethod.Binding, StunClass.Request));
    assert.equal(res.cls, StunClass.Success);
    sock.close();
    probe.close();
    c.close();
  });
});
