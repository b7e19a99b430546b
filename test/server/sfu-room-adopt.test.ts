/**
 * SfuRoom.adopt: a producer of a participant on another router of the room (piped from another
 * worker or node) is offered to every participant here like a local one, named by its owner; a
 * participant who joins later gets it too; it leaves the offers when it closes; an MCU-style
 * room (no forwarding) only announces it. Real WebRtcServer on loopback, no peers needed: what
 * is checked is the subscribe offer each participant would be sent.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebRtcServer } from '../../src/rtc/WebRtcServer.js';
import type { SubscribeOffer } from '../../src/session/SfuParticipant.js';
import { SfuRoom } from '../../src/session/SfuRoom.js';
import type { Producer } from '../../src/sfu/Producer.js';
import type { CodecParameters } from '../../src/sfu/types.js';

const OPUS: CodecParameters = { name: 'opus', payloadType: 111, clockRate: 48_000, channels: 2, fmtp: '', rtcpFeedback: [] };

let server: WebRtcServer;
before(async () => {
  server = await WebRtcServer.start({ port: 0, listenAddresses: ['127.0.0.1'], tcp: false });
});
after(async () => {
  await server.close();
});

/** A producer on `room`'s router for a participant who is not here (its feedback goes nowhere in this test). */
function remoteProducer(room: SfuRoom, ownerId: string, ssrc: number): Producer {
  return room.router.produce({ id: `${ownerId}-a`, kind: 'audio', ownerId, mid: '0', ssrc, codec: OPUS, feedback: { sendRtcp: () => {} } });
}

function tracksOf(offers: SubscribeOffer[]): string[] {
  const last = offers.at(-1);
  return (last?.tracks ?? []).filter((t) => t.active).map((t) => `${t.kind}:${t.participantId}`);
}

test('an adopted producer is offered to everyone here, late joiners included, until it closes', () => {
  const room = new SfuRoom('adopt-1', server);
  try {
    const announced: string[] = [];
    room.on('producer', (p) => announced.push(p.id));
    const aliceOffers: SubscribeOffer[] = [];
    room.join('alice', (o) => aliceOffers.push(o));
    const remote = remoteProducer(room, 'carol-on-node-2', 0xc0c0);
    room.adopt(remote);
    assert.deepEqual(announced, ['carol-on-node-2-a'], 'announced like a local producer (an MCU takes it)');
    assert.deepEqual(room.remoteProducers, [remote]);
    // Alice's first offer is still unanswered (the next waits for her answer): her consumers say what she will get.
    assert.deepEqual(
      [...room.router.consumersOf(remote)].map((c) => c.subscriberId),
      ['alice'],
    );
    const bobOffers: SubscribeOffer[] = [];
    room.join('bob', (o) => bobOffers.push(o));
    assert.deepEqual(
      tracksOf(bobOffers),
      ['audio:carol-on-node-2'],
      'a late joiner is offered the remote track at once, named by its owner',
    );
    assert.deepEqual([...room.router.consumersOf(remote)].map((c) => c.subscriberId).sort(), ['alice', 'bob']);
    remote.close();
    assert.deepEqual(room.remoteProducers, []);
    assert.equal(room.router.consumersOf(remote).size, 0, 'its consumers closed with it');
    assert.ok(aliceOffers.length >= 1, 'alice was sent her first offer');
  } finally {
    room.close();
  }
});

test('a room that does not forward (MCU) only announces; a producer whose owner is here is refused', () => {
  const room = new SfuRoom('adopt-2', server, { forward: false });
  try {
    room.join('alice', () => {});
    const announced: Producer[] = [];
    room.on('producer', (p) => announced.push(p));
    const remote = remoteProducer(room, 'dave', 0xd0d0);
    room.adopt(remote);
    assert.deepEqual(announced, [remote]);
    assert.equal(room.router.consumersOf(remote).size, 0, 'nobody consumes it directly: the mixer does');
    const own = remoteProducer(room, 'alice', 0xa1a1);
    assert.throws(
      () => room.adopt(own),
      (err: Error & { code?: string }) => err.code === 'invalid-argument' && /alice is on this router/.test(err.message),
    );
  } finally {
    room.close();
  }
  const other = new SfuRoom('adopt-3', server);
  try {
    assert.throws(
      () => room.adopt(remoteProducer(other, 'x', 1)),
      (err: Error & { code?: string }) => err.code === 'closed',
    );
  } finally {
    other.close();
  }
});
