/**
 * SFU rooms over real WebSockets, without browsers: the server's first subscribe offer, the
 * publish answer to a real (recorded) Chromium offer, producers appearing in the other
 * participant's next offer, and the exact errors for bad SDP, stale revisions and SFU
 * messages outside SFU rooms.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { parseRemoteSdp } from '../../src/rtc/sdp/index.js';
import { PRIORITY } from '../../src/sfu/allocation/allocate.js';
import type { Consumer } from '../../src/sfu/Consumer.js';
import type { SfuParticipant } from '../../src/session/SfuParticipant.js';
import { loadFixture } from '../fixtures/sdp/fixtures.js';
import { TestClient } from '../helpers/ws-client.js';

const ANNOUNCED = '203.0.113.10'; // documentation range: written into SDP only, never contacted
let sb: Switchboard;
const clients: TestClient[] = [];

async function member(room: string, topology: string): Promise<TestClient> {
  const [c] = await TestClient.hello(sb.wsUrl);
  clients.push(c);
  c.send({ type: 'join', room, topology });
  await c.next('joined');
  return c;
}

before(async () => {
  sb = await startSwitchboard({
    workers: 0,
    port: 0,
    turnPort: 0,
    rtcPort: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    announcedIps: [ANNOUNCED],
  });
});
after(async () => {
  for (const c of clients) c.terminate();
  await sb.close();
});

test('joining an SFU room brings a subscribe offer: ICE-lite, the announced address and the RTC port, a data section', async () => {
  const a = await member('s1', 'sfu');
  const offer = await a.next('sfu-offer');
  assert.equal(offer.transport, 'subscribe');
  assert.equal(offer.revision, 1);
  assert.deepEqual(offer.tracks, []);
  assert.match(offer.sdp, /^a=ice-lite\r$/m);
  const parsed = parseRemoteSdp(offer.sdp, 'offer');
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  assert.equal(parsed.description.media[0]?.kind, 'application');
  const port = sb.rtc?.port.udpPort;
  assert.match(offer.sdp, new RegExp(`^a=candidate:\\S+ 1 udp \\d+ ${ANNOUNCED.replace(/\./g, '\\.')} ${port} typ host`, 'm'));
  assert.match(
    offer.sdp,
    new RegExp(`^a=candidate:\\S+ 1 tcp \\d+ ${ANNOUNCED.replace(/\./g, '\\.')} ${port} typ host tcptype passive`, 'm'),
  );
});

test("a publish offer is answered, and its tracks reach the other participant's next subscribe offer", async () => {
  const a = await member('s2', 'sfu');
  const b = await member('s2', 'sfu');
  await a.next('sfu-offer');
  const first = await b.next('sfu-offer');
  assert.deepEqual(first.tracks, []);
  // b answers nothing yet: the next offer must wait for that answer (one outstanding offer).
  a.send({ type: 'sfu-offer', id: 'pub', transport: 'publish', sdp: loadFixture('chromium-offer.sdp') });
  const answer = await a.next('sfu-answer');
  assert.equal(answer.ref, 'pub');
  assert.equal(answer.transport, 'publish');
  const parsed = parseRemoteSdp(answer.sdp, 'answer');
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  assert.equal(parsed.description.setup, 'passive', 'the server is the DTLS server');
  await assert.rejects(b.next('sfu-offer', 300), /no "sfu-offer"/, 'no second offer before the first is answered');
  const router = sb.sfu?.rooms.get('s2');
  assert.equal(router?.producers.length, 2);
  // Answering revision 1 with a wrong revision is refused by name.
  const stale = await b.expectError({ type: 'sfu-answer', transport: 'subscribe', sdp: 'v=0\r\n', revision: 7 });
  assert.equal(stale.code, 'invalid-sdp');
  assert.match(stale.message, /no subscribe offer 7 is waiting/);
  // A screen share goes first in every subscriber's budget: the page says which it sends.
  const video = router?.producers.find((p) => p.kind === 'video');
  assert.ok(video && router);
  assert.equal(router.priorityOf(video), PRIORITY.normal);
  a.send({ type: 'sfu-video-source', source: 'screen' });
  await until(() => video.source === 'screen', 'the video producer is marked a screen share');
  assert.equal(router.priorityOf(video), PRIORITY.screen);
  a.send({ type: 'sfu-video-source', source: 'camera' });
  await until(() => video.source === 'camera', 'back to the camera');
  assert.equal(router.priorityOf(video), PRIORITY.normal);
  const bad = await a.expectError({ type: 'sfu-video-source', source: 'window' });
  assert.equal(bad.code, 'invalid-message');
  assert.match(bad.message, /source/);
});

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(check(), what);
}

test('bad SDP gets invalid-sdp naming the problem; SFU messages outside an SFU room get not-sfu-room', async () => {
  const a = await member('s3', 'sfu');
  await a.next('sfu-offer');
  const bad = await a.expectError({ type: 'sfu-offer', id: 1, transport: 'publish', sdp: 'v=0\r\nthis is not sdp\r\n' });
  assert.equal(bad.code, 'invalid-sdp');
  assert.equal(bad.ref, 1);
  assert.ok(bad.message.length > 0);
  const noFingerprint = loadFixture('chromium-offer.sdp').replace(/^a=fingerprint:.*\r\n/gm, '');
  const e2 = await a.expectError({ type: 'sfu-offer', transport: 'publish', sdp: noFingerprint });
  assert.equal(e2.code, 'invalid-sdp');
  assert.match(e2.message, /fingerprint/);
  const m = await member('m1', 'mesh');
  const e3 = await m.expectError({ type: 'sfu-offer', transport: 'publish', sdp: loadFixture('chromium-offer.sdp') });
  assert.equal(e3.code, 'not-sfu-room');
  const [lone] = await TestClient.hello(sb.wsUrl);
  clients.push(lone);
  const e4 = await lone.expectError({ type: 'sfu-answer', transport: 'subscribe', sdp: 'v=0', revision: 1 });
  assert.equal(e4.code, 'not-in-room');
});

test('a later member joins the room as it is; leaving closes their producers and empties the router', async () => {
  const a = await member('s4', 'sfu');
  const joinedMesh = await (async () => {
    const [c] = await TestClient.hello(sb.wsUrl);
    clients.push(c);
    c.send({ type: 'join', room: 's4', topology: 'mesh' });
    return c.next('joined');
  })();
  assert.equal(joinedMesh.topology, 'sfu');
  await a.next('sfu-offer');
  a.send({ type: 'sfu-offer', transport: 'publish', sdp: loadFixture('firefox-offer.sdp') });
  await a.next('sfu-answer');
  const router = sb.sfu?.rooms.get('s4');
  assert.equal(router?.producers.length, 2);
  const producers = router.producers;
  a.send({ type: 'leave' });
  await a.next('left');
  assert.ok(producers.every((p) => p.closed));
  assert.equal(router?.participants.size, 1);
});

test('an MCU room: each member is offered exactly its own mix (one audio, one video, owned by the mixer); nothing of the others is forwarded; layout requests are checked', async () => {
  const a = await member('mcu1', 'mcu');
  await member('mcu1', 'sfu'); // b: later members join the room as it is
  const [aId, bId] = [...sb.sfu!.rooms.get('mcu1')!.participants.keys()] as [string, string];
  a.send({ type: 'sfu-offer', transport: 'publish', sdp: loadFixture('chromium-offer.sdp') });
  await a.next('sfu-answer');
  const router = sb.sfu?.rooms.get('mcu1');
  assert.equal(router?.forward, false);
  const mixer = sb.sfu?.mixers.get('mcu1');
  assert.ok(mixer, 'the room has a mixer');
  assert.equal(mixer.audio.inputs.size, 1, "a's microphone goes to the mixer");
  assert.equal(mixer.video.inputs.size, 1, "a's camera goes to the mixer");
  for (const id of [aId, bId]) {
    const p: SfuParticipant | undefined = router.participants.get(id);
    if (!p) throw new Error(`no participant ${id}`);
    const consumed: Consumer[] = [...p.subscribe.consumers];
    assert.deepEqual(consumed.map((x) => x.kind).sort(), ['audio', 'video']);
    assert.ok(
      consumed.every((x) => x.producer.ownerId === 'mixer'),
      "only the mixer's tracks",
    );
    assert.equal(consumed.find((x) => x.kind === 'audio')?.producer.id, `mix-audio-${id}`, "an audio mix of one's own");
  }
  const bad = await a.expectError({ type: 'mcu-layout', layout: 'mosaic' });
  assert.equal(bad.code, 'invalid-message');
  assert.equal(bad.field, 'layout');
  a.send({ type: 'mcu-layout', layout: 'speaker' });
  await waitUntil(() => mixer.video.layoutOf(aId) === 'speaker');
  assert.equal(mixer.video.layoutOf(bId), 'grid', 'b keeps the default layout');
  assert.deepEqual([...mixer.video.compositions.keys()].sort(), ['grid', 'speaker']);
  const s = await member('sfu-not-mcu', 'sfu');
  const e = await s.expectError({ type: 'mcu-layout', layout: 'grid' });
  assert.equal(e.code, 'not-mcu-room');
});

async function waitUntil(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
