/**
 * MCU rooms bounded, over real WebSockets and a headless werift peer (no browsers):
 * - members who join and never answer make the server encode and decode nothing;
 * - a connected viewer gets the composite and its mix, an unconnected member in the same room
 *   still gets nothing encoded, and encoding stops when the last connected viewer's transport goes;
 * - `maxMcuRooms`: a join that would create one more MCU room gets `mcu-capacity`;
 * - `mcu-layout` changes are rate-limited per participant, and asking for the layout already
 *   viewed costs nothing.
 * Assertions are on counters, never on timing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import type { ServerConfig } from '../../src/server/config.js';
import type { Mixer } from '../../src/mcu/Mixer.js';
import { SfuNodePeer } from '../helpers/sfu-node-peer.js';
import { WeriftRtc } from '../helpers/sfu-node-peer-werift.js';
import { TestClient, sleep } from '../helpers/ws-client.js';

const BASE: Partial<ServerConfig> = {
  workers: 0, // reads the in-process sb.sfu
  port: 0,
  turnPort: 0,
  rtcPort: 0,
  host: '127.0.0.1',
  rtcHost: '127.0.0.1',
  announcedIps: ['127.0.0.1'],
  turnEnabled: false,
  logLevel: 'silent',
};
let sb: Switchboard;
const clients: TestClient[] = [];
const peers: SfuNodePeer[] = [];

/** A member of MCU room `room` over WebSocket that never publishes or answers its subscribe offer. */
async function idleMember(server: Switchboard, room: string): Promise<[TestClient, string]> {
  const [c, welcome] = await TestClient.hello(server.wsUrl);
  clients.push(c);
  c.send({ type: 'join', room, topology: 'mcu' });
  await c.next('joined');
  await c.next('sfu-offer'); // the offer with the mixer's two tracks, left unanswered
  return [c, welcome.sessionId];
}

function mixerOf(room: string): Mixer {
  const m = sb.sfu?.mixers.get(room);
  assert.ok(m, `room ${room} has a mixer`);
  return m;
}

/** Frames encoded by a room, read from what exists per composition and per listener. */
function encodedFrames(m: Mixer): { composed: number; tierFrames: number; audioFrames: number } {
  let composed = 0;
  let tierFrames = 0;
  for (const c of m.video.compositions.values()) {
    composed += c.framesComposed;
    for (const t of c.tierStats) tierFrames += t.frames;
  }
  let audioFrames = 0;
  for (const o of m.audio.outputs.values()) audioFrames += o.framesSent;
  return { composed, tierFrames, audioFrames };
}

async function metric(server: Switchboard, line: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = new RegExp(`^${line.replace(/[{}"]/g, (ch) => `\\${ch}`)} (\\S+)$`, 'm').exec(text);
  assert.ok(m, `/metrics has ${line}`);
  return Number(m[1]);
}

/** Requests dropped when `tokens` changes may go through, starting from `viewed`. */
function dropsWith(tokens: number, viewed: string, requests: readonly string[]): number {
  let dropped = 0;
  for (const r of requests) {
    if (r === viewed) continue;
    if (tokens > 0) {
      tokens--;
      viewed = r;
    } else dropped++;
  }
  return dropped;
}

async function until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(50);
  }
}

before(async () => {
  sb = await startSwitchboard(BASE); // the default maxMcuRooms is enough for this file's rooms
});
after(async () => {
  for (const c of clients) c.terminate();
  await Promise.allSettled(peers.map((p) => p.close()));
  await sb.close();
});

test('MCU rooms whose members joined and never answered encode and decode nothing: no encoder opened, no frame composed or mixed', async () => {
  const rooms = ['idle-a', 'idle-b', 'idle-c', 'idle-d'];
  for (const room of rooms) {
    await idleMember(sb, room);
    await idleMember(sb, room);
  }
  // Long enough for ~22 composite frames at 15 fps and ~75 audio ticks, had anything run.
  await sleep(1500);
  for (const room of rooms) {
    const m = mixerOf(room);
    assert.deepEqual(encodedFrames(m), { composed: 0, tierFrames: 0, audioFrames: 0 }, `${room}: nothing composed or mixed`);
    assert.equal(m.counters.videoEncodersOpened, 0, `${room}: no libvpx encoder opened`);
    assert.equal(m.counters.videoFramesEncoded + m.counters.audioFramesEncoded + m.counters.videoFramesDecoded, 0);
    assert.equal(m.video.encodedCompositions, 0);
    assert.equal(m.audio.listening, 0);
    assert.equal(m.video.compositions.size, 1, 'the grid composition exists (its track is in the offer), idle');
  }
  assert.equal(await metric(sb, 'switchboard_mcu_rooms'), rooms.length);
  assert.equal(await metric(sb, 'switchboard_mcu_compositions_encoded'), 0);
  assert.equal(await metric(sb, 'switchboard_mcu_mixes_encoded'), 0);
  assert.equal(await metric(sb, 'switchboard_mcu_video_frames_encoded_total'), 0);
  for (const c of clients.splice(0)) c.close();
  await until(() => sb.sfu?.mixers.size === 0, 'the idle rooms close with their members');
});

test('a connected headless viewer gets the composite and its mix; an unanswered member of the same room gets nothing encoded; encoding stops when the last connected viewer goes', async () => {
  const room = 'live';
  const [, idleId] = await idleMember(sb, room);
  const peer = await SfuNodePeer.join(sb.wsUrl, room, 'viewer', new WeriftRtc(), 20_000, 'mcu');
  peers.push(peer);
  await until(
    () => peer.receivedFrom('mixer').videoKeyframes > 0 && peer.receivedFrom('mixer').audioPackets > 20,
    'the viewer receives a composite keyframe and its audio mix',
  );
  const m = mixerOf(room);
  assert.equal(m.audio.outputs.get(idleId)?.framesSent, 0, 'nothing is encoded for the member who never answered');
  assert.ok((m.audio.outputs.get(peer.id)?.framesSent ?? 0) > 20);
  assert.ok(m.counters.videoEncodersOpened > 0 && m.counters.videoFramesEncoded > 0, 'the composite is encoded');
  assert.equal(m.video.encodedCompositions, 1);
  assert.equal(m.audio.listening, 1, "one mix is encoded: the viewer's");
  await until(() => m.counters.videoFramesDecoded > 0, "the viewer's own camera is decoded into the composite");
  assert.equal(await metric(sb, 'switchboard_mcu_compositions_encoded'), 1);
  assert.equal(await metric(sb, 'switchboard_mcu_mixes_encoded'), 1);
  assert.deepEqual(peer.errors, []);

  // The viewer leaves; the member who never answered stays, and the room with them.
  await peer.close();
  await until(() => sb.sfu?.rooms.get(room)?.participants.size === 1, 'the viewer has left');
  assert.equal(sb.sfu?.mixers.get(room), m, 'the room lives on with its unanswered member');
  assert.equal(m.video.encodedCompositions, 0, 'no composition is encoded any more');
  assert.equal(m.audio.listening, 0, 'no mix is encoded any more');
  const stopped = encodedFrames(m);
  const counters = { ...m.counters };
  await sleep(500);
  assert.deepEqual(encodedFrames(m), stopped, 'nothing composed or mixed after the last connected viewer went');
  assert.deepEqual({ ...m.counters }, counters, 'nothing encoded or decoded either');
});

test('maxMcuRooms: a join that would create one more MCU room gets mcu-capacity; existing MCU rooms and SFU rooms still take members', async () => {
  const capped = await startSwitchboard({ ...BASE, maxMcuRooms: 2 });
  try {
    const [a] = await idleMember(capped, 'cap-1');
    await idleMember(capped, 'cap-2');
    const [c] = await TestClient.hello(capped.wsUrl);
    clients.push(c);
    const refused = await c.expectError({ type: 'join', id: 'j3', room: 'cap-3', topology: 'mcu' });
    assert.equal(refused.code, 'mcu-capacity');
    assert.equal(refused.ref, 'j3');
    assert.match(refused.message, /maximum of 2 MCU rooms/);
    assert.equal(capped.sfu?.mixers.size, 2);
    assert.equal(capped.signaling.stats.rooms, 2, 'nothing was created for the refused join');
    // The refused client is not in a room and may join elsewhere.
    c.send({ type: 'join', room: 'cap-1', topology: 'mcu' });
    assert.equal((await c.next('joined')).room, 'cap-1', 'an existing MCU room still takes members');
    const [s] = await TestClient.hello(capped.wsUrl);
    clients.push(s);
    s.send({ type: 'join', room: 'sfu-room', topology: 'sfu' });
    assert.equal((await s.next('joined')).topology, 'sfu', 'SFU rooms are not capped by maxMcuRooms');
    assert.equal(await metric(capped, 'switchboard_mcu_rooms'), 2);
    assert.equal(await metric(capped, 'switchboard_mcu_rooms_max'), 2);
    assert.equal(await metric(capped, 'switchboard_mcu_rooms_refused_total'), 1);
    assert.equal(await metric(capped, 'switchboard_errors_total{code="mcu-capacity"}'), 1);
    // An MCU room that empties frees its place.
    a.send({ type: 'leave' });
    await a.next('left');
    c.send({ type: 'leave' });
    await c.next('left');
    await until(() => capped.sfu?.mixers.size === 1, 'cap-1 closes with its last member');
    const [d] = await TestClient.hello(capped.wsUrl);
    clients.push(d);
    d.send({ type: 'join', room: 'cap-3', topology: 'mcu' });
    assert.equal((await d.next('joined')).topology, 'mcu');
  } finally {
    await capped.close();
  }
});

test('mcu-layout changes are rate-limited per participant (one rate-limited error per second, the excess dropped); the layout already viewed costs nothing', async () => {
  const room = 'layouts';
  const [a, aId] = await idleMember(sb, room);
  const [b, bId] = await idleMember(sb, room);
  const m = mixerOf(room);
  const cycle = ['speaker', 'presentation', 'grid'] as const;
  // 20 changes at once: the burst goes through, the rest is dropped with one error.
  const sent: string[] = [];
  const started = performance.now();
  for (let i = 0; i < 20; i++) {
    const layout = cycle[i % cycle.length] as string;
    sent.push(layout);
    a.send({ type: 'mcu-layout', id: `l${i}`, layout });
  }
  a.send({ type: 'ping', id: 'after-burst' });
  await a.next('pong');
  // The bucket refills while the server works through the burst (slowly on a loaded machine):
  // what may go through is the burst plus the refill over the time it took.
  const seconds = (performance.now() - started) / 1000;
  const errors = a.received.filter((x) => x.type === 'error');
  assert.ok(
    errors.length >= 1 && errors.length <= 1 + Math.floor(seconds),
    `at most one error per second of the burst: ${JSON.stringify(errors)}`,
  );
  const e = errors[0];
  assert.ok(e && e.type === 'error');
  assert.equal(e.code, 'rate-limited');
  assert.equal(e.inReplyTo, 'mcu-layout');
  assert.match(e.message, /layout changes per second/);
  const limit = sb.sfu!.layoutLimit; // the only layout changes on this server are this test's
  const dropped = limit.dropped;
  // A request for the layout being viewed takes no token: which requests are dropped follows
  // from how many tokens there were, between the burst and the burst plus the refill.
  const drops: number[] = [];
  for (let t = limit.burst; t <= limit.burst + Math.ceil(limit.perSecond * seconds); t++) drops.push(dropsWith(t, 'grid', sent));
  assert.ok(
    dropped >= Math.min(...drops) && dropped <= Math.max(...drops),
    `the excess was dropped (${dropped} of 20 in ${seconds.toFixed(2)} s; expected ${drops.join(' or ')})`,
  );
  assert.ok(sent.includes(m.video.layoutOf(aId) ?? ''), 'a views one of the layouts asked for');
  assert.notEqual(m.video.layoutOf(aId), 'grid', 'the first changes went through');
  assert.equal(m.video.layoutOf(bId), 'grid', "b is not affected by a's limit");
  // The layout already viewed: no error, nothing dropped, nothing changed, even with an empty bucket.
  const viewed = m.video.layoutOf(aId);
  for (let i = 0; i < 10; i++) a.send({ type: 'mcu-layout', layout: viewed });
  a.send({ type: 'ping', id: 'after-same' });
  await a.next('pong');
  assert.equal(a.received.filter((x) => x.type === 'error').length, errors.length, 'no error for the layout already viewed');
  assert.equal(limit.dropped, dropped, 'and no token taken');
  // b has its own allowance.
  b.send({ type: 'mcu-layout', layout: 'speaker' });
  await until(() => m.video.layoutOf(bId) === 'speaker', 'b changes its layout');
  // A second later the bucket has refilled a little, and a new burst gets one new error.
  await sleep(1100);
  for (let i = 0; i < 10; i++) a.send({ type: 'mcu-layout', layout: cycle[i % cycle.length] });
  a.send({ type: 'ping', id: 'after-second-burst' });
  await a.next('pong');
  const more = a.received.filter((x) => x.type === 'error').slice(errors.length);
  assert.ok(
    more.length >= 1 && more.every((x) => x.type === 'error' && x.code === 'rate-limited'),
    'a new rate-limited error for the second burst',
  );
  assert.ok((await metric(sb, 'switchboard_mcu_layout_changes_dropped_total')) >= dropped);
});
