/** The signaling server over real WebSockets: rooms, relay, isolation, bad input, limits. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { TestClient, sleep } from '../helpers/ws-client.js';

let sb: Switchboard;
const clients: TestClient[] = [];

async function hello(fields: Record<string, unknown> = {}): Promise<TestClient> {
  const [c] = await TestClient.hello(sb.wsUrl, fields);
  clients.push(c);
  return c;
}

before(async () => {
  sb = await startSwitchboard({
    port: 0,
    turnPort: 0,
    rtcPort: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    rateLimit: { perSecond: 20, burst: 40 },
    maxRoomParticipants: 3,
  });
});
after(async () => {
  for (const c of clients) c.terminate();
  await sb.close();
});

describe('session and rooms', () => {
  test('hello gives a welcome with a session id, identity, token and heartbeat', async () => {
    const c = await TestClient.connect(sb.wsUrl);
    clients.push(c);
    c.send({ type: 'hello', id: 7, identity: 'ada', name: 'Ada L.' });
    const w = await c.next('welcome');
    assert.equal(w.ref, 7);
    assert.equal(w.identity, 'ada');
    assert.equal(w.name, 'Ada L.');
    assert.match(w.sessionId, /^p-[A-Za-z0-9_-]+$/);
    assert.match(w.sessionToken, /^[A-Za-z0-9_-]{43}$/);
    // The embedded STUN/TURN server (the TURN worker this identity is handed), on the host this client used to reach signaling.
    const port = sb.turnService?.endpointFor('ada').port;
    assert.deepEqual(w.iceServers[0], { urls: [`stun:127.0.0.1:${port}`] });
    assert.deepEqual(w.iceServers[1]?.urls, [`turn:127.0.0.1:${port}?transport=udp`, `turn:127.0.0.1:${port}?transport=tcp`]);
    assert.match(w.iceServers[1]?.username ?? '', /^\d+:/);
    assert.equal(w.resumeGraceSeconds, 30);
    const again = await c.expectError({ type: 'hello', id: 8 });
    assert.equal(again.code, 'already-identified');
    const dup = await TestClient.connect(sb.wsUrl);
    clients.push(dup);
    const e = await dup.expectError({ type: 'hello', identity: 'ada' });
    assert.deepEqual([e.code, e.field], ['identity-in-use', 'identity']);
  });

  test('open mode gives a random identity when none is asked for', async () => {
    const [c, w] = await TestClient.hello(sb.wsUrl);
    clients.push(c);
    assert.match(w.identity, /^guest-/);
    assert.equal(w.name, w.identity);
  });

  test('resume takes a session over from a connection still open; hello cannot', async () => {
    const [first, w] = await TestClient.hello(sb.wsUrl, { identity: 'tess' });
    clients.push(first);
    const j = await first.join('takeover1');
    const peer = await hello();
    await peer.join('takeover1');
    // Its identity stays taken while the session lives, whatever the new connection says.
    const thief = await TestClient.connect(sb.wsUrl);
    clients.push(thief);
    assert.equal((await thief.expectError({ type: 'hello', identity: 'tess' })).code, 'identity-in-use');
    const second = await TestClient.connect(sb.wsUrl);
    clients.push(second);
    second.send({ type: 'resume', sessionToken: w.sessionToken, id: 'r1' });
    const r = await second.next('resumed');
    assert.deepEqual([r.ref, r.sessionId, r.room], ['r1', w.sessionId, 'takeover1']);
    const closed = await Promise.race([first.closed, sleep(3000).then(() => 'still open')]);
    assert.equal(closed, 4000, 'the old connection no longer speaks for the session');
    peer.send({ type: 'offer', to: j.self.id, sdp: 'to the new connection' });
    assert.equal((await second.next('offer')).sdp, 'to the new connection');
    assert.equal(
      peer.received.some((m) => m.type === 'participant-left'),
      false,
      'a takeover is no departure',
    );
  });

  test('messages before hello are refused', async () => {
    const c = await TestClient.connect(sb.wsUrl);
    clients.push(c);
    const e = await c.expectError({ type: 'join', room: 'r', id: 'j1' });
    assert.deepEqual([e.code, e.ref], ['not-identified', 'j1']);
  });

  test('join lists those present; they are told; leave is announced', async () => {
    const a = await hello({ name: 'a' });
    const b = await hello({ name: 'b' });
    const ja = await a.join('lobby1');
    assert.equal(ja.topology, 'mesh');
    assert.deepEqual(ja.participants, []);
    const jb = await b.join('lobby1');
    assert.deepEqual(
      jb.participants.map((p) => p.name),
      ['a'],
    );
    const pj = await a.next('participant-joined');
    assert.equal(pj.participant.id, jb.self.id);
    const again = await b.expectError({ type: 'join', room: 'other' });
    assert.equal(again.code, 'already-in-room');
    b.send({ type: 'leave', id: 3 });
    assert.deepEqual(await b.next('left'), { type: 'left', ref: 3, room: 'lobby1' });
    const pl = await a.next('participant-left');
    assert.deepEqual(pl, { type: 'participant-left', room: 'lobby1', participantId: jb.self.id, reason: 'left' });
    assert.equal((await b.expectError({ type: 'leave' })).code, 'not-in-room');
  });

  test('topologies: auto is mesh for now; sfu and mcu are served, and refused by name without the media server', async () => {
    const a = await hello();
    a.send({ type: 'join', room: 'auto1', topology: 'auto' });
    assert.equal((await a.next('joined')).topology, 'mesh');
    const b = await hello();
    b.send({ type: 'join', room: 'mcu1', topology: 'mcu' });
    assert.equal((await b.next('joined')).topology, 'mcu');
    const noMedia = await startSwitchboard({ port: 0, turnPort: 0, host: '127.0.0.1', logLevel: 'silent', rtcEnabled: false });
    try {
      for (const topology of ['sfu', 'mcu']) {
        const [c] = await TestClient.hello(noMedia.wsUrl);
        const e = await c.expectError({ type: 'join', room: 'x', topology });
        assert.deepEqual([e.code, e.field], ['unsupported-topology', 'topology']);
        c.terminate();
      }
    } finally {
      await noMedia.close();
    }
  });

  test('a full room refuses more participants', async () => {
    const [a, b, c, d] = [await hello(), await hello(), await hello(), await hello()];
    for (const x of [a, b, c]) await x.join('small');
    const e = await d.expectError({ type: 'join', room: 'small' });
    assert.equal(e.code, 'room-full');
  });

  test('ping is answered with pong carrying the ref', async () => {
    const a = await hello();
    a.send({ type: 'ping', id: 'p1' });
    assert.deepEqual(await a.next('pong'), { type: 'pong', ref: 'p1' });
  });
});

describe('relay and isolation', () => {
  test('offer, answer, candidate and end-of-candidates reach the named peer with from', async () => {
    const a = await hello();
    const b = await hello();
    const ja = await a.join('relay1');
    const jb = await b.join('relay1');
    const cand = {
      candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host',
      sdpMid: '0',
      sdpMLineIndex: 0,
      usernameFragment: 'abcd',
    };
    a.send({ type: 'offer', to: jb.self.id, sdp: 'v=0 offer' });
    b.send({ type: 'answer', to: ja.self.id, sdp: 'v=0 answer' });
    a.send({ type: 'candidate', to: jb.self.id, candidate: cand });
    a.send({ type: 'end-of-candidates', to: jb.self.id });
    assert.deepEqual(await b.next('offer'), { type: 'offer', from: ja.self.id, sdp: 'v=0 offer' });
    assert.deepEqual(await a.next('answer'), { type: 'answer', from: jb.self.id, sdp: 'v=0 answer' });
    assert.deepEqual(await b.next('candidate'), { type: 'candidate', from: ja.self.id, candidate: cand });
    assert.deepEqual(await b.next('end-of-candidates'), { type: 'end-of-candidates', from: ja.self.id });
  });

  test('nothing of room A reaches room B, and A members cannot address B', async () => {
    const a1 = await hello();
    const a2 = await hello();
    const b1 = await hello();
    await b1.join('isoB');
    const j1 = await a1.join('isoA');
    const j2 = await a2.join('isoA');
    const seenBefore = b1.received.length;
    a1.send({ type: 'offer', to: j2.self.id, sdp: 'room A offer' });
    await a2.next('offer');
    const bId = (b1.received.find((m) => m.type === 'joined') as { self: { id: string } }).self.id;
    const e = await a1.expectError({ type: 'offer', to: bId, sdp: 'probe' });
    assert.deepEqual([e.code, e.field], ['peer-not-found', 'to']);
    const self = await a1.expectError({ type: 'offer', to: j1.self.id, sdp: 'me' });
    assert.equal(self.code, 'peer-not-found');
    a2.send({ type: 'leave' });
    await a1.next('participant-left');
    await sleep(200);
    assert.deepEqual(b1.received.slice(seenBefore), [], 'room B received nothing');
  });

  test('a peer that left the room can no longer be addressed', async () => {
    const a = await hello();
    const b = await hello();
    await a.join('gone1');
    const jb = await b.join('gone1');
    b.send({ type: 'leave' });
    await a.next('participant-left');
    const e = await a.expectError({ type: 'candidate', to: jb.self.id, candidate: { candidate: '' } });
    assert.equal(e.code, 'peer-not-found');
  });
});

describe('bad input', () => {
  test('malformed JSON, non-objects, unknown types and bad fields get errors naming the problem', async () => {
    const a = await hello();
    assert.equal((await a.expectError('{not json')).code, 'malformed-json');
    assert.equal((await a.expectError('[1,2]')).code, 'malformed-json');
    const unknown = await a.expectError({ type: 'teleport', id: 9 });
    assert.deepEqual([unknown.code, unknown.field, unknown.ref], ['unknown-type', 'type', 9]);
    const proto = await a.expectError({ type: '__proto__' });
    assert.equal(proto.code, 'unknown-type');
    const field = await a.expectError({ type: 'candidate', to: 'p-x', candidate: { candidate: 'c', sdpMLineIndex: 'zero' } });
    assert.deepEqual([field.code, field.field, field.inReplyTo], ['invalid-message', 'candidate.sdpMLineIndex', 'candidate']);
    const extra = await a.expectError({ type: 'ping', smuggled: 1 });
    assert.deepEqual([extra.code, extra.field], ['invalid-message', 'smuggled']);
    a.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    assert.equal((await a.next('error')).code, 'invalid-message');
    // Still usable after all that.
    a.send({ type: 'ping' });
    await a.next('pong');
  });

  test('an oversize message gets message-too-large and the connection stays open', async () => {
    const a = await hello();
    const e = await a.expectError({ type: 'offer', to: 'p-x', sdp: 'x'.repeat(70 * 1024) });
    assert.equal(e.code, 'message-too-large');
    a.send({ type: 'ping' });
    await a.next('pong');
    assert.equal(a.closeCode, null);
  });

  test('a flood is rate-limited with few errors, and the neighbour is unaffected', async () => {
    const flooder = await hello();
    const neighbour = await hello();
    const other = await hello();
    await flooder.join('flood1');
    const jn = await neighbour.join('flood1');
    const jo = await other.join('flood1');
    for (let i = 0; i < 500; i++) flooder.send({ type: 'ping', id: i });
    // The neighbour's relay still works during the flood.
    other.send({ type: 'offer', to: jn.self.id, sdp: 'during flood' });
    assert.equal((await neighbour.next('offer')).sdp, 'during flood');
    neighbour.send({ type: 'answer', to: jo.self.id, sdp: 'ok' });
    await other.next('answer');
    await sleep(300);
    const pongs = flooder.received.filter((m) => m.type === 'pong').length;
    const limited = flooder.received.filter((m) => m.type === 'error' && m.code === 'rate-limited').length;
    // Burst 40 less the hello and join already taken, plus a few refilled during the burst.
    assert.ok(pongs >= 38 && pongs < 60, `burst then refill served (${pongs} pongs)`);
    assert.equal(limited, 1, 'at most one rate-limited error per second');
    await sleep(1100);
    flooder.send({ type: 'ping', id: 'after' });
    // After a second the bucket has refilled: the flooder is served again.
    while ((await flooder.next('pong', 2000)).ref !== 'after');
  });
});
