/**
 * Two Routers joined by a pipe on real UDP sockets (127.0.0.1, SRTP): a producer on router A,
 * fed by an in-memory publisher transport, piped to router B, where subscribers consume it as
 * they would a local publisher's — audio, plain video and 3-layer simulcast with layer
 * selection. Feedback crosses back: loss on the pipe is recovered by NACK → resend from A's
 * cache, a subscriber's NACK is answered from B's own cache, a subscriber's PLI reaches the
 * publisher as a PLI, and B's layer demand reaches A's LayerDemand (and so A's LayerPauser).
 * Close cascades both ways.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SwitchboardError } from '../../src/protocol/errors.js';
import { parseRtcpCompound, writeNack, writePli, type RtcpPacket } from '../../src/rtc/rtcp/index.js';
import type { Consumer } from '../../src/sfu/Consumer.js';
import { LayerPauser } from '../../src/sfu/forward/LayerPauser.js';
import type { Producer } from '../../src/sfu/Producer.js';
import type { SfuTransport } from '../../src/sfu/SfuTransport.js';
import type { MemoryTransport } from '../helpers/media-core.js';
import { until } from '../helpers/pipe-pair.js';
import { OPUS, VP8, pipeAcross, pipedRouters, rtpPacket, tagOf, vp8Payload, type PipedRouters } from '../helpers/piped-routers.js';

const seqOf = (p: Buffer): number => p.readUInt16BE(2);

function assertContinuous(packets: readonly Buffer[]): void {
  for (let i = 1; i < packets.length; i++)
    assert.equal(seqOf(packets[i] as Buffer), (seqOf(packets[i - 1] as Buffer) + 1) & 0xffff, `sequence continuous at ${i}`);
}

function rtcpOf(list: readonly Buffer[]): RtcpPacket[] {
  return list.flatMap((b) => parseRtcpCompound(b) ?? []);
}

function subscribe(
  r: PipedRouters,
  far: Producer,
  name: string,
  ssrc: number,
  pt: number,
): { sub: SfuTransport<MemoryTransport>; consumer: Consumer } {
  const sub = r.b.createTransport(`${name}/subscribe`);
  const consumer = r.b.consume(far, sub, { id: `${far.id}>${name}`, subscriberId: name, ssrc, payloadType: pt });
  return { sub, consumer };
}

function videoProducer(r: PipedRouters, ssrc = 0x3333): Producer {
  return r.a.produce({ id: 'alice-video', kind: 'video', ownerId: 'alice', mid: '1', ssrc, codec: VP8, transport: r.pub });
}

test('pipe: audio crosses to a consumer on the far router, payloads and sequence intact', async (t) => {
  const r = await pipedRouters();
  t.after(() => r.close());
  const producer = r.a.produce({
    id: 'alice-audio',
    kind: 'audio',
    ownerId: 'alice',
    mid: '0',
    ssrc: 0x1111,
    codec: OPUS,
    audioLevelExtensionId: 1,
    transport: r.pub,
  });
  const { pipe, far } = pipeAcross(r, producer);
  assert.deepEqual(
    [far.id, far.kind, far.ownerId, far.mid, far.simulcast, far.codec.name],
    ['alice-audio', 'audio', 'alice', '0', false, 'opus'],
    'the far producer is the same track',
  );
  assert.equal(far.ssrc, pipe.ssrcs[0], 'fed on the pipe SSRC');
  const { sub } = subscribe(r, far, 'bob', 0x2222, 111);
  const level = [{ id: 1, value: Uint8Array.of(0x80 | 30) }];
  for (let i = 0; i < 50; i++) r.pub.media.deliverRtp(rtpPacket(0x1111, 111, 60_000 + i, i * 960, Buffer.from([0xf8, i]), true, level));
  await until(() => sub.media.rtp.length === 50, 'fifty packets at the subscriber');
  assert.deepEqual(
    sub.media.rtp.map((p) => p.at(-1)),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assertContinuous(sub.media.rtp);
  assert.equal(far.audioLevel?.packetsWithLevel, 50, 'the level extension came through with its id');
  assert.equal(pipe.packetsSent, 50);
  assert.equal(r.pair.b.counters.droppedAuth + r.pair.b.counters.droppedWrongSource, 0);
});

test('pipe: plain video starts on a keyframe at the far consumer; sequence continuous across a wrap', async (t) => {
  const r = await pipedRouters();
  t.after(() => r.close());
  const producer = videoProducer(r);
  const { far } = pipeAcross(r, producer);
  const { sub } = subscribe(r, far, 'bob', 0x4444, 96);
  for (let i = 0; i < 30; i++) r.pub.media.deliverRtp(rtpPacket(0x3333, 96, (65_530 + i) & 0xffff, i * 3000, vp8Payload(i === 0, i)));
  await until(() => sub.media.rtp.length === 30, 'thirty packets at the subscriber');
  assert.deepEqual(
    sub.media.rtp.map(tagOf),
    Array.from({ length: 30 }, (_, i) => i),
  );
  assertContinuous(sub.media.rtp);
  assert.equal(far.keyframesReceived, 1);
  assert.deepEqual(far.layerSize(0), { width: 320, height: 180 }, 'sizes learned from the piped keyframe');
});

test('pipe: 3-layer simulcast keeps its layers; a far consumer selecting a layer gets that layer', async (t) => {
  const r = await pipedRouters();
  t.after(() => r.close());
  r.pub.ridBinder.ids = { mid: 1, rid: 2 };
  const producer = r.a.produce({
    id: 'alice-sim',
    kind: 'video',
    ownerId: 'alice',
    mid: '1',
    rids: ['q', 'h', 'f'],
    codec: VP8,
    transport: r.pub,
  });
  const { pipe, far } = pipeAcross(r, producer);
  assert.equal(pipe.parameters().layering, 'simulcast');
  assert.equal(far.simulcast, true);
  assert.equal(far.streams.length, 3);
  const sizes = [
    [320, 180],
    [640, 360],
    [1280, 720],
  ] as const;
  const rids = ['q', 'h', 'f'];
  const seq = [100, 20_000, 40_000];
  const send = (layer: number, keyframe: boolean, n: number): void => {
    const [w, h] = sizes[layer] as readonly [number, number];
    const ext = [
      { id: 1, value: Buffer.from('1') },
      { id: 2, value: Buffer.from(rids[layer] as string) },
    ];
    const s = (seq[layer] as number) + n;
    r.pub.media.deliverRtp(rtpPacket(0x5000 + layer, 96, s, n * 3000, vp8Payload(keyframe, layer * 1000 + n, w, h), true, ext));
  };
  for (let l = 0; l < 3; l++) send(l, true, 0);
  await until(() => far.streams.every((s) => s.keyframesReceived === 1), 'a keyframe of each layer on B');
  assert.deepEqual(
    [0, 1, 2].map((l) => far.layerSize(l).width),
    [320, 640, 1280],
  );
  const { sub, consumer } = subscribe(r, far, 'bob', 0x6666, 96);
  consumer.setRenderSize(640, 360);
  assert.equal(consumer.targetLayers.spatial, 1, 'the render size picks layer 1');
  // Layer 1's keyframe first: a consumer with nothing forwarded yet starts on any keyframe up to its target.
  for (let n = 1; n <= 10; n++) for (const l of [1, 0, 2]) send(l, n === 1, n);
  await until(() => sub.media.rtp.length === 10, 'layer 1 at the subscriber');
  await new Promise((res) => setTimeout(res, 50));
  assert.deepEqual(
    sub.media.rtp.map(tagOf),
    Array.from({ length: 10 }, (_, i) => 1001 + i),
    'only layer 1, from its keyframe on',
  );
  assertContinuous(sub.media.rtp);
});

test('pipe: a packet lost on the pipe is NACKed by B and resent from A; B answers its own subscriber from its cache', async (t) => {
  const r = await pipedRouters({ relay: true });
  t.after(() => r.close());
  const relay = r.pair.relay!;
  const producer = videoProducer(r);
  const { pipe, far } = pipeAcross(r, producer);
  const { sub, consumer } = subscribe(r, far, 'bob', 0x4444, 96);
  const LOST = 1005;
  let droppedOnce = false;
  relay.drop = (fromA, d) => {
    const rtp = ((d[1] as number) & 0x7f) < 64 || ((d[1] as number) & 0x7f) > 95;
    if (!fromA || !rtp || droppedOnce || d.readUInt16BE(2) !== LOST) return false;
    droppedOnce = true;
    return true;
  };
  for (let i = 0; i < 20; i++) r.pub.media.deliverRtp(rtpPacket(0x3333, 96, 1000 + i, i * 3000, vp8Payload(i === 0, i)));
  await until(() => sub.media.rtp.length === 20, 'all twenty, the lost one resent');
  assert.equal(relay.counts.dropped, 1, 'the relay dropped one datagram');
  assert.ok(pipe.nacksReceived >= 1 && pipe.retransmitted >= 1, 'A answered a NACK from its cache');
  assert.equal(far.streams[0]?.nack?.recovered, 1, "B's NackRequester saw it recovered");
  assert.deepEqual(
    sub.media.rtp.map(tagOf).sort((x, y) => x - y),
    Array.from({ length: 20 }, (_, i) => i),
  );
  const lostAtSub = sub.media.rtp.find((p) => tagOf(p) === 5)!;
  assert.equal(seqOf(lostAtSub), (seqOf(sub.media.rtp.find((p) => tagOf(p) === 4)!) + 1) & 0xffff, 'the late one took its own number');

  // The subscriber's NACK for it: B's cache answers; nothing more crosses the pipe.
  const nacksAtA = pipe.nacksReceived;
  const out = Buffer.alloc(64);
  const len = writeNack(out, 0, { senderSsrc: 0x9999, mediaSsrc: 0x4444, seqs: [seqOf(lostAtSub)] });
  sub.media.deliverRtcp(out.subarray(0, len));
  assert.equal(consumer.retransmitted, 1);
  const resent = sub.media.rtp.at(-1)!;
  assert.equal(tagOf(resent), 5);
  assert.equal(seqOf(resent), seqOf(lostAtSub));
  await new Promise((res) => setTimeout(res, 60));
  assert.equal(pipe.nacksReceived, nacksAtA, 'not asked over the pipe');
});

test("pipe: a far subscriber's PLI reaches A's publisher as a PLI for the producer's SSRC", async (t) => {
  const r = await pipedRouters();
  t.after(() => r.close());
  const producer = videoProducer(r);
  const { pipe, far } = pipeAcross(r, producer);
  const plis = (): number => rtcpOf(r.pub.media.rtcp).filter((p) => p.type === 'pli' && p.mediaSsrc === 0x3333).length;
  const { sub } = subscribe(r, far, 'bob', 0x4444, 96);
  await until(() => plis() === 1, 'the new consumer asks for a keyframe, through the pipe');
  assert.equal(pipe.keyframeRequests, 1);
  // Keyframe requests are throttled to one per second per stream, on B and on A.
  await new Promise((res) => setTimeout(res, 1_100));
  const out = Buffer.alloc(64);
  const len = writePli(out, 0, { senderSsrc: 0x9999, mediaSsrc: 0x4444 });
  sub.media.deliverRtcp(out.subarray(0, len));
  await until(() => plis() === 2, "the subscriber's PLI at the publisher");
  assert.equal(pipe.keyframeRequests, 2);
});

test("pipe: B's layer demand reaches A's LayerDemand through onDemand → setDemand", async (t) => {
  const r = await pipedRouters();
  t.after(() => r.close());
  r.pub.ridBinder.ids = { mid: 1, rid: 2 };
  const producer = r.a.produce({
    id: 'alice-sim',
    kind: 'video',
    ownerId: 'alice',
    mid: '1',
    rids: ['q', 'h', 'f'],
    codec: VP8,
    transport: r.pub,
  });
  const demandAtA = (): boolean[] => r.a.demandOf(producer).markNeeded([false, false, false]);
  // A's publisher pauses unneeded layers (no delay here); its layers' sizes are known.
  const activeRids: string[][] = [];
  const pauser = new LayerPauser(producer, r.a.demandOf(producer), (_mid, rids) => activeRids.push(rids), 0);
  producer.streams.forEach((s, i) => {
    s.width = 320 << i;
    s.height = 180 << i;
  });
  const pipe = r.a.pipeProducer(producer, r.pipeA);
  assert.deepEqual(demandAtA(), [true, true, true], 'every layer until the far side reports');
  const reports: boolean[][] = [];
  const far = r.b.producePiped(pipe.parameters(), r.pipeB, {
    onDemand: (needed) => {
      reports.push(needed);
      pipe.setDemand(needed);
    },
  });
  assert.deepEqual(reports, [[false, false, false]], 'reported at once: nobody on B needs a layer');
  assert.deepEqual(demandAtA(), [false, false, false]);
  const { consumer } = subscribe(r, far, 'bob', 0x6666, 96);
  assert.deepEqual(demandAtA(), [true, true, true], 'a new consumer aims at the top layer (sizes unknown)');
  consumer.setTargetLayers({ spatial: 0, temporal: 7 });
  assert.deepEqual(demandAtA(), [true, false, false]);
  pauser.update();
  assert.deepEqual(activeRids.at(-1), ['q'], "A's publisher is told to pause what B does not need");
  consumer.setTargetLayers({ spatial: 2, temporal: 7 });
  assert.deepEqual(activeRids.at(-1), ['q', 'h', 'f'], 'and to resume it at once when B needs it');
  consumer.close();
  assert.deepEqual(demandAtA(), [false, false, false]);
  assert.equal(reports.length, 5, 'equal reports are not repeated');
});

test('pipe: close cascades — origin producer, pipe transports; parameters are checked', async (t) => {
  const r = await pipedRouters();
  t.after(() => r.close());
  const producer = videoProducer(r);
  const { pipe, far } = pipeAcross(r, producer);
  assert.deepEqual([...r.a.pipesOf(producer)], [pipe]);
  assert.throws(
    () => r.a.pipeProducer(producer, r.pipeA),
    (e: unknown) => e instanceof SwitchboardError && e.code === 'invalid-argument',
    'one pipe consumer per producer and pipe',
  );
  assert.throws(() => r.a.pipeProducer(producer, r.pub), SwitchboardError, 'only on a pipe transport');
  const params = pipe.parameters();
  const refused = (value: unknown, field: string): void =>
    assert.throws(
      () => r.b.producePiped(value, r.pipeB),
      (e: unknown) => e instanceof SwitchboardError && e.field === field,
      field,
    );
  refused({ ...params, producerId: 'other' }, 'ssrcs'); // same SSRCs as `far` on this pipe
  refused({ ...params, ssrcs: [1, 2] }, 'ssrcs');
  refused({ ...params, codec: { ...params.codec, payloadType: 72 } }, 'codec.payloadType');
  refused({ ...params, kind: 'data' }, 'kind');
  refused({ ...params, layering: 'simulcast', ssrcs: [5, 5] }, 'ssrcs');
  refused({ ...params, codec: { ...params.codec, rtcpFeedback: 'nack' } }, 'codec.rtcpFeedback');
  refused('{}', 'parameters');

  producer.close();
  assert.equal(pipe.closed, true, 'the origin producer closed its pipe consumer');
  assert.equal(r.a.pipesOf(producer).size, 0);
  r.pipeB.close();
  assert.equal(far.closed, true, "closing B's pipe transport closes what it fed");
  assert.equal(r.pair.b.closed, true, 'and the pipe end under it');

  const second = videoProducer(r, 0x7777);
  const pipe2 = r.a.pipeProducer(second, r.pipeA);
  r.a.close();
  assert.equal(pipe2.closed, true, 'closing router A closes its pipe transports and their pipes');
  assert.equal(r.pair.a.closed, true);
});

test("pipe: the transports' receiver reports keep an idle pipe alive; a pipe whose far end is gone closes", async (t) => {
  const r = await pipedRouters({ silenceTimeoutMs: 1500 });
  t.after(() => r.close());
  await new Promise((res) => setTimeout(res, 2_200));
  assert.equal(r.pair.a.closed || r.pair.b.closed, false, 'no media, but an RR every second each way');
  const producer = videoProducer(r);
  const pipe = r.a.pipeProducer(producer, r.pipeA);
  r.pipeB.close(); // the far end goes away without a word on the control channel
  await until(() => r.pair.a.closed, 'the silent pipe closed', 3_000);
  assert.match(r.pair.a.closeReason ?? '', /remote silent/);
  assert.equal(r.pipeA.closed, true, 'its SfuTransport closed with it');
  assert.equal(pipe.closed, true, 'and the pipe consumer on it');
  assert.equal(producer.closed, false, 'the origin producer goes on');
});
