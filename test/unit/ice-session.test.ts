/**
 * IceLiteSession without sockets: fake tuples record what is sent. Selection and nomination
 * (RFC 8445 §7.3.1.5), routing of non-STUN packets, consent freshness (RFC 7675 §5.1).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Attr, StunClass, StunMessageBuilder, StunMethod, checkIntegrity, decodeStun, type StunMessage } from '../../src/stun/index.js';
import { IceLiteSession } from '../../src/rtc/ice/IceLiteSession.js';
import type { RtcTuple } from '../../src/rtc/ice/RtcTuple.js';

class FakeTuple implements RtcTuple {
  readonly id: string;
  readonly sent: Buffer[] = [];
  constructor(
    readonly remoteAddress: string,
    readonly remotePort: number,
    readonly protocol: 'udp' | 'tcp' = 'udp',
  ) {
    this.id = `${protocol}:${remoteAddress}:${remotePort}`;
  }
  send(buf: Buffer): void {
    this.sent.push(Buffer.from(buf));
  }
}

function check(
  s: IceLiteSession,
  o: { password?: string; useCandidate?: boolean; remoteUfrag?: string; priority?: number } = {},
): StunMessage {
  const priority = Buffer.alloc(4);
  priority.writeUInt32BE(o.priority ?? 0x6e0001ff);
  const b = new StunMessageBuilder(StunMethod.Binding, StunClass.Request)
    .add(Attr.Username, Buffer.from(`${s.localUfrag}:${o.remoteUfrag ?? 'brws'}`))
    .add(Attr.Priority, priority)
    .add(Attr.IceControlling, Buffer.alloc(8, 3));
  if (o.useCandidate) b.add(Attr.UseCandidate, Buffer.alloc(0));
  const r = decodeStun(
    b
      .addIntegrity(Buffer.from(o.password ?? s.localPassword))
      .addFingerprint()
      .build(),
  );
  assert.ok(r.ok);
  return r.message;
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('credentials: random and valid by default, given ones kept, bad ones refused', () => {
  const a = new IceLiteSession();
  const b = new IceLiteSession();
  assert.match(a.localUfrag, /^[A-Za-z0-9+/]{8,}$/);
  assert.match(a.localPassword, /^[A-Za-z0-9+/]{24,}$/);
  assert.notEqual(a.localUfrag, b.localUfrag);
  assert.notEqual(a.localPassword, b.localPassword);
  const c = new IceLiteSession({ localUfrag: 'abcd', localPassword: 'abcdefghijklmnopqrstuv', remoteUfrag: 'r', remotePassword: 'p' });
  assert.deepEqual([c.localUfrag, c.localPassword, c.remoteUfrag, c.remotePassword], ['abcd', 'abcdefghijklmnopqrstuv', 'r', 'p']);
  assert.throws(() => new IceLiteSession({ localUfrag: 'ab:c' }));
  assert.throws(() => new IceLiteSession({ localPassword: 'tooShort' }));
  for (const s of [a, b, c]) s.close();
});

test('a valid check answers with the local password and the first valid tuple is selected before nomination', () => {
  const s = new IceLiteSession({ remoteUfrag: 'brws' });
  const selected: RtcTuple[] = [];
  s.on('tuple-selected', (t) => selected.push(t));
  const t1 = new FakeTuple('127.0.0.1', 1001);
  const t2 = new FakeTuple('127.0.0.1', 1002);
  assert.equal(s.send(Buffer.from([0x80])), false, 'nothing selected yet');
  assert.equal(s.handleStun(check(s, { password: 'wrongPasswordOf24chars++' }), t1), false);
  assert.equal(s.selectedTuple, null, 'a bad check selects nothing');
  assert.equal(s.handleStun(check(s), t1), true);
  const res = decodeStun(t1.sent.at(-1) as Buffer);
  assert.ok(res.ok && res.message.cls === StunClass.Success && checkIntegrity(res.message, Buffer.from(s.localPassword)));
  assert.equal(s.handleStun(check(s), t2), true);
  assert.deepEqual(selected, [t1], 'the second valid tuple does not replace the first without nomination');
  assert.equal(s.send(Buffer.from([0x80, 1])), true);
  assert.deepEqual(t1.sent.at(-1), Buffer.from([0x80, 1]));
  s.close();
});

test('USE-CANDIDATE selects; a later nomination of another tuple switches; repeats change nothing', () => {
  const s = new IceLiteSession();
  const selected: string[] = [];
  s.on('tuple-selected', (t) => selected.push(t.id));
  const a = new FakeTuple('127.0.0.1', 2001);
  const b = new FakeTuple('127.0.0.1', 2002);
  s.handleStun(check(s), a);
  s.handleStun(check(s, { useCandidate: true }), b);
  assert.equal(s.selectedTuple, b);
  for (let i = 0; i < 5; i++) s.handleStun(check(s, { useCandidate: true }), b);
  s.handleStun(check(s), a);
  assert.equal(s.selectedTuple, b, 'a non-nominating check does not take over a nominated tuple');
  s.handleStun(check(s, { useCandidate: true }), a);
  assert.equal(s.selectedTuple, a, 'the browser moved: the newest nomination wins');
  assert.deepEqual(selected, [a.id, b.id, a.id]);
  s.close();
});

test('several nominations (as Firefox makes them): the highest-ranked pair stays selected — UDP over TCP, then PRIORITY', () => {
  const s = new IceLiteSession();
  const udpHigh = new FakeTuple('::1', 3001);
  const udpLow = new FakeTuple('127.0.0.1', 3002);
  const tcp = new FakeTuple('127.0.0.1', 3003, 'tcp');
  s.handleStun(check(s, { useCandidate: true, priority: 0x6e7f1eff }), udpHigh);
  s.handleStun(check(s, { useCandidate: true, priority: 0x6e0001ff }), udpLow);
  assert.equal(s.selectedTuple, udpHigh, 'a lower-priority UDP nomination does not replace a higher one');
  s.handleStun(check(s, { useCandidate: true, priority: 0x7f7f1eff }), tcp);
  assert.equal(s.selectedTuple, udpHigh, 'a TCP nomination does not replace a UDP one');
  const t = new IceLiteSession();
  t.handleStun(check(t, { useCandidate: true, priority: 0x5a7f1eff }), tcp);
  t.handleStun(check(t, { useCandidate: true, priority: 0x6e0001ff }), udpLow);
  assert.equal(t.selectedTuple, udpLow, 'UDP nominated after TCP takes over');
  t.handleStun(check(t, { useCandidate: true, priority: 0x6e7f1eff }), udpHigh);
  assert.equal(t.selectedTuple, udpHigh, 'a higher-priority UDP nomination takes over');
  s.close();
  t.close();
});

test('the browser checks consent on another pair it nominated: once ours is quiet, that pair takes over', async () => {
  const s = new IceLiteSession({ quietPairMs: 300, consentTimeoutMs: 1500 });
  const expired: string[] = [];
  s.on('consent-expired', () => expired.push('expired'));
  const v6 = new FakeTuple('fd00::2', 5001);
  const v4 = new FakeTuple('198.18.0.2', 5002);
  const stranger = new FakeTuple('127.0.0.1', 5003);
  s.handleStun(check(s, { useCandidate: true, priority: 0x6e7f1eff }), v6);
  s.handleStun(check(s, { useCandidate: true, priority: 0x6e0001ff }), v4);
  s.handleStun(check(s), stranger); // valid, never nominated
  assert.equal(s.selectedTuple, v6, 'ranked higher by its PRIORITY');
  s.handleStun(check(s), v4);
  assert.equal(s.selectedTuple, v6, 'a plain check elsewhere changes nothing while ours is fresh');
  for (let i = 0; i < 8; i++) {
    await wait(250);
    s.handleStun(check(s), v4);
    s.handleStun(check(s), stranger);
  }
  assert.equal(s.selectedTuple, v4, 'the nominated pair that kept checking took over');
  assert.deepEqual(expired, [], 'and consent never lapsed');
  s.close();
});

test("'packet' only for tuples that sent a valid check, with the very bytes", () => {
  const s = new IceLiteSession();
  const got: Array<[Buffer, RtcTuple]> = [];
  s.setPacketReceiver((buf, t) => got.push([buf, t]));
  const good = new FakeTuple('127.0.0.1', 3001);
  const stranger = new FakeTuple('127.0.0.1', 3002);
  s.handleStun(check(s), good);
  const dtls = Buffer.from([22, 254, 253, 0, 0]);
  s.handlePacket(dtls, good);
  s.handlePacket(Buffer.from([0x80, 0x60]), stranger);
  assert.equal(got.length, 1);
  assert.equal(got[0]?.[0], dtls);
  assert.equal(got[0]?.[1], good);
  assert.equal(s.stats.packetsFromUnknownTuple, 1);
  s.forgetTuple(good);
  s.handlePacket(dtls, good);
  assert.equal(got.length, 1, 'a forgotten tuple no longer delivers');
  assert.equal(s.selectedTuple, null);
  s.close();
});

test('consent (RFC 7675): expires without checks on the selected tuple, not while they keep coming', async () => {
  const idle = new IceLiteSession({ consentTimeoutMs: 1500 });
  const busy = new IceLiteSession({ consentTimeoutMs: 1500 });
  const expired: string[] = [];
  idle.on('consent-expired', () => expired.push('idle'));
  busy.on('consent-expired', () => expired.push('busy'));
  const ti = new FakeTuple('127.0.0.1', 4001);
  const tb = new FakeTuple('127.0.0.1', 4002);
  idle.handleStun(check(idle, { useCandidate: true }), ti);
  busy.handleStun(check(busy, { useCandidate: true }), tb);
  // Checks on another tuple do not refresh the selected one's consent.
  const other = new FakeTuple('127.0.0.1', 4003);
  for (let i = 0; i < 7 && !expired.includes('idle'); i++) {
    await wait(500);
    busy.handleStun(check(busy), tb);
    idle.handleStun(check(idle), other);
  }
  assert.deepEqual(expired, ['idle']);
  idle.close();
  busy.close();
});

test("close(): 'closed' once, then sends fail and checks are ignored", () => {
  const s = new IceLiteSession();
  let closed = 0;
  s.on('closed', () => closed++);
  const t = new FakeTuple('127.0.0.1', 5001);
  s.handleStun(check(s), t);
  s.close();
  s.close();
  assert.equal(closed, 1);
  assert.equal(s.closed, true);
  assert.equal(s.send(Buffer.from([0x80])), false);
  assert.equal(s.handleStun(check(s), t), false);
});
