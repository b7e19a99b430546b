/**
 * Simulcast / SVC selection parts: the VP8 munger (PictureID and TL0PICIDX continuity across a
 * stream switch and temporal drops, 7- and 15-bit ids), the VP9 descriptor on vectors built
 * from RFC 9628 §4.2's bit layout plus a fuzz run, the layer selector's switching rules, and
 * rid → SSRC binding (repaired-rid; unknown rid/mid dropped and counted).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  RtpHeaderView,
  Vp8Descriptor,
  Vp8FrameSize,
  Vp9Descriptor,
  isVp9Keyframe,
  parseRtpHeader,
  parseVp8Descriptor,
  parseVp9Descriptor,
  readVp8KeyframeSize,
  writeRtpHeader,
} from '../../src/rtc/rtp/index.js';
import { LayerPauser } from '../../src/sfu/forward/LayerPauser.js';
import { LayerSelector, PacketLayers, Verdict } from '../../src/sfu/forward/LayerSelector.js';
import { PacketInfo, describePacket } from '../../src/sfu/receive/packet-info.js';
import type { Producer } from '../../src/sfu/Producer.js';
import { RidBinder } from '../../src/sfu/receive/RidBinder.js';
import { Vp8Munger } from '../../src/sfu/forward/vp8-munger.js';
import { xorshift32 } from '../helpers/random.js';
import { testProducer, testConsumer, routerOf } from '../helpers/media-core.js';

/** A VP8 descriptor: X=1, I (M as `longId`), L, T with Y. */
function vp8(pictureId: number, tl0: number, tid: number, sync: boolean, longId = true): Buffer {
  const pid = longId ? [0x80 | (pictureId >> 8), pictureId & 0xff] : [pictureId & 0x7f];
  return Buffer.from([0x90, 0xe0, ...pid, tl0, (tid << 6) | (sync ? 0x20 : 0), 0x00]);
}

function read(buf: Buffer): Vp8Descriptor {
  const d = new Vp8Descriptor();
  assert.ok(parseVp8Descriptor(buf, 0, buf.length, d));
  return d;
}

test('VP8 munger: continuous PictureID / TL0PICIDX across temporal drops and a stream switch (15-bit)', () => {
  const m = new Vp8Munger();
  const outs: [number, number][] = [];
  const pass = (b: Buffer): void => {
    const d = read(b);
    m.rewrite(b, 0, d);
    const r = read(b);
    outs.push([r.pictureId, r.tl0PicIdx]);
  };
  // Stream A: pictures 100..107, temporal pattern 0,2,1,2; layer 2 dropped.
  const tids = [0, 2, 1, 2];
  let tl0 = 50;
  for (let i = 0; i < 8; i++) {
    const tid = tids[i % 4] as number;
    if (tid === 0 && i > 0) tl0++;
    const b = vp8(100 + i, tl0, tid, false);
    if (tid === 2) m.drop(read(b));
    else pass(b);
  }
  assert.deepEqual(outs, [
    [100, 50],
    [101, 50],
    [102, 51],
    [103, 51],
  ]);
  // A retransmission of picture 102 (input) gets 101 again.
  const again = vp8(102, 50, 1, false);
  m.rewrite(again, 0, read(again));
  assert.equal(read(again).pictureId, 101);
  // Switch to stream B with unrelated numbering, near the 15-bit wrap.
  m.switchSource();
  outs.length = 0;
  pass(vp8(0x7ffe, 200, 0, true));
  pass(vp8(0x7fff, 200, 1, false));
  pass(vp8(0, 201, 0, false));
  assert.deepEqual(outs, [
    [104, 52],
    [105, 52],
    [106, 53],
  ]);
});

test('VP8 munger: 7-bit picture ids wrap continuously', () => {
  const m = new Vp8Munger();
  const got: number[] = [];
  for (let i = 0; i < 6; i++) {
    const id = (125 + i) & 0x7f;
    const b = vp8(id, 1, i % 2, false, false);
    if (i % 2 === 1 && i < 4) {
      m.drop(read(b));
      continue;
    }
    m.rewrite(b, 0, read(b));
    got.push(read(b).pictureId);
  }
  // 125, (126 dropped), 127→126, (0 dropped), 1→127, 2→0
  assert.deepEqual(got, [125, 126, 127, 0]);
});

test('VP8 keyframe size (RFC 6386 §9.1)', () => {
  const frame = Buffer.from([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x00, 0x05, 0xd0, 0x02]); // 1280 × 720
  const s = new Vp8FrameSize();
  assert.ok(readVp8KeyframeSize(frame, 0, frame.length, s));
  assert.deepEqual([s.width, s.height], [1280, 720]);
  frame[0] = 0x11; // P=1: interframe
  assert.equal(readVp8KeyframeSize(frame, 0, frame.length, s), false);
  assert.equal(readVp8KeyframeSize(frame, 0, 9, s), false, 'truncated');
});

test('VP9 descriptor: non-flexible mode with layer indices and scalability structure', () => {
  // I P L F B E V Z = 1 0 1 0 1 0 1 0; 15-bit picture id 0x1234; TID=2 U=1 SID=1 D=1; TL0PICIDX 7;
  // SS: N_S=2 (3 layers), Y=1, G=1; 320x180, 640x360, 1280x720; N_G=1: TID 0 U 0 R 1, P_DIFF 1.
  const b = Buffer.from([
    0xaa,
    0x92,
    0x34,
    (2 << 5) | 0x10 | (1 << 1) | 1,
    7,
    (2 << 5) | 0x10 | 0x08,
    0x01,
    0x40,
    0x00,
    0xb4,
    0x02,
    0x80,
    0x01,
    0x68,
    0x05,
    0x00,
    0x02,
    0xd0,
    1,
    (0 << 5) | (1 << 2),
    1,
    0xde,
    0xad,
  ]);
  const d = new Vp9Descriptor();
  assert.ok(parseVp9Descriptor(b, 0, b.length, d));
  assert.equal(d.pictureId, 0x1234);
  assert.equal(d.pictureIdLength, 2);
  assert.deepEqual([d.temporalId, d.switchingUp, d.spatialId, d.interLayerDependency], [2, true, 1, true]);
  assert.equal(d.tl0PicIdx, 7);
  assert.equal(d.beginningOfFrame, true);
  assert.equal(d.endOfFrame, false);
  assert.equal(d.interPicturePredicted, false);
  assert.equal(d.spatialLayers, 3);
  assert.deepEqual([...d.widths.subarray(0, 3)], [320, 640, 1280]);
  assert.deepEqual([...d.heights.subarray(0, 3)], [180, 360, 720]);
  assert.equal(d.pictureGroupSize, 1);
  assert.equal(d.descriptorLength, b.length - 2);
  assert.equal(isVp9Keyframe(d), false, 'SID 1 is not where a decoder starts');
  for (let n = 1; n < b.length - 2; n++) assert.equal(parseVp9Descriptor(b, 0, n, d), false, `truncated at ${n}`);
});

test('VP9 descriptor: flexible mode P_DIFFs, 7-bit id, keyframe', () => {
  // I P L F B E V Z = 1 1 1 1 0 1 0 0; id 5; TID 1 U 0 SID 0 D 0; P_DIFFs 1 (N) 2 (N) 3.
  const b = Buffer.from([0xf4, 0x05, 1 << 5, (1 << 1) | 1, (2 << 1) | 1, 3 << 1, 0xff]);
  const d = new Vp9Descriptor();
  assert.ok(parseVp9Descriptor(b, 0, b.length, d));
  assert.equal(d.flexible, true);
  assert.equal(d.tl0PicIdx, -1);
  assert.deepEqual([...d.pDiffs.subarray(0, d.pDiffCount)], [1, 2, 3]);
  assert.equal(d.descriptorLength, 6);
  assert.equal(d.endOfFrame, true);
  // A fourth P_DIFF is malformed (at most 3).
  assert.equal(parseVp9Descriptor(Buffer.from([0xf4, 0x05, 0x20, 3, 5, 7, 8]), 0, 7, d), false);
  // B=1, P=0, SID 0: a keyframe.
  const key = Buffer.from([0xa8, 0x05, 0x00, 0x00, 0x00]);
  assert.ok(parseVp9Descriptor(key, 0, key.length, d));
  assert.equal(isVp9Keyframe(d), true);
});

test('VP9 descriptor fuzz: 200,000 mutated and random inputs never throw and stay in bounds', () => {
  const rng = xorshift32(0x5eed9);
  const seeds = [
    Buffer.from([0xaa, 0x92, 0x34, 0x53, 7, 0x58, 0x01, 0x40, 0x00, 0xb4, 0x02, 0x80, 0x01, 0x68, 0x05, 0x00, 0x02, 0xd0, 1, 4, 1, 0xde]),
    Buffer.from([0xf4, 0x05, 0x20, 3, 5, 6, 0xff]),
  ];
  const d = new Vp9Descriptor();
  for (let i = 0; i < 200_000; i++) {
    let b: Buffer;
    if (i % 4 === 3) {
      b = Buffer.alloc(rng(40));
      for (let k = 0; k < b.length; k++) b[k] = rng(256);
    } else {
      b = Buffer.from(seeds[i % seeds.length] as Buffer);
      for (let f = rng(4); f >= 0; f--) {
        const k = rng(b.length);
        b[k] = (b[k] as number) ^ (1 << rng(8));
      }
      if (rng(3) === 0) b = b.subarray(0, rng(b.length + 1));
    }
    const off = b.length > 0 ? rng(2) : 0;
    if (parseVp9Descriptor(b, off, b.length - off, d)) {
      assert.ok(d.descriptorLength <= b.length - off);
      assert.ok(d.spatialId < 8 && d.temporalId < 8 && d.pDiffCount <= 3);
    }
  }
});

test('packet description fuzz: 200,000 VP8/VP9 payloads (keyframe headers, descriptors) never throw', () => {
  const rng = xorshift32(0x1a7e5);
  const info = new PacketInfo();
  const view = new RtpHeaderView();
  const seeds = [
    Buffer.concat([
      Buffer.from([0x90, 0xe0, 0x80, 0x01, 0x05, 0x20]),
      Buffer.from([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x00, 0x05, 0xd0, 0x02]),
    ]),
    Buffer.from([0xaa, 0x92, 0x34, 0x53, 7, 0x58, 0x01, 0x40, 0x00, 0xb4, 0x02, 0x80, 0x01, 0x68, 0x05, 0x00, 0x02, 0xd0, 1, 4, 1, 0xde]),
  ];
  const packet = Buffer.alloc(12 + 64);
  for (let i = 0; i < 200_000; i++) {
    const seed = seeds[i % 2] as Buffer;
    const len = rng(3) === 0 ? rng(64) : Math.min(64, seed.length);
    seed.copy(packet, 12, 0, len);
    for (let k = 12 + seed.length; k < 12 + len; k++) packet[k] = rng(256);
    for (let f = rng(5); f > 0; f--) {
      const k = 12 + rng(Math.max(1, len));
      packet[k] = (packet[k] as number) ^ (1 << rng(8));
    }
    writeRtpHeader(packet, 0, { marker: rng(2) === 1, payloadType: 96, sequenceNumber: i & 0xffff, timestamp: i, ssrc: 1 }, []);
    const b = packet.subarray(0, 12 + len);
    if (!parseRtpHeader(b, view)) continue;
    if (describePacket(i % 2 === 0 ? 'vp8' : 'vp9', b, view, 0, false, info)) {
      assert.ok(info.spatial >= 0 && info.spatial < 8 && info.temporal >= 0 && info.temporal < 8);
      if (info.hasSize) assert.ok(info.size.width > 0 && info.size.width < 0x4000 && info.size.height < 0x4000);
    }
  }
});

function layers(spatial: number, temporal: number, opts: Partial<PacketLayers> = {}): PacketLayers {
  return Object.assign(new PacketLayers(), { spatial, temporal, beginningOfFrame: true, ...opts });
}

test('layer selector (simulcast): spatial switches only on keyframes of the target; temporal up only at sync points', () => {
  const s = new LayerSelector('simulcast', 2, 2);
  s.setTarget(2, 2);
  assert.equal(s.select(layers(1, 0)), Verdict.Skip, 'no keyframe yet');
  assert.equal(s.select(layers(0, 0, { keyframe: true })), Verdict.Switch, 'start on a lower layer while the target has not come');
  assert.equal(s.select(layers(0, 1)), Verdict.Forward);
  assert.equal(s.select(layers(1, 0, { keyframe: true })), Verdict.Switch, 'up toward the target');
  assert.equal(s.select(layers(0, 0, { keyframe: true })), Verdict.Skip, 'never down unless targeted');
  assert.equal(s.select(layers(2, 0)), Verdict.Skip, 'target layer without keyframe');
  assert.equal(s.select(layers(2, 0, { keyframe: true })), Verdict.Switch);
  assert.deepEqual(s.current, { spatial: 2, temporal: 2 });
  // Down to layer 0 with temporal 0 only.
  s.setTarget(0, 0);
  assert.equal(s.select(layers(2, 0)), Verdict.Forward, 'keeps the current layer until the target keyframe');
  assert.equal(s.select(layers(0, 0)), Verdict.Skip);
  assert.equal(s.select(layers(0, 0, { keyframe: true })), Verdict.Switch);
  assert.equal(s.select(layers(0, 1, { layerSync: true })), Verdict.Drop, 'temporal 1 above target');
  // Temporal climbs at a sync frame only.
  s.setTarget(0, 2);
  assert.equal(s.select(layers(0, 1)), Verdict.Drop, 'not a sync point');
  assert.equal(s.select(layers(0, 1, { beginningOfFrame: false, layerSync: true })), Verdict.Drop, 'mid-frame');
  assert.equal(s.select(layers(0, 1, { layerSync: true })), Verdict.Forward);
  assert.equal(s.select(layers(0, 2, { layerSync: true })), Verdict.Forward);
  s.setTarget(-1, 0);
  assert.equal(s.select(layers(0, 0, { keyframe: true })), Verdict.Skip, 'paused');
});

test('layer selector (SVC): drops upper layers, switches up only on a keyframe, marker on the last forwarded layer', () => {
  const s = new LayerSelector('svc', 2, 2);
  s.setTarget(1, 2);
  const pic = (key: boolean): Verdict[] =>
    [0, 1, 2].map((sid) => {
      const v = s.select(layers(sid, 0, { keyframe: key && sid === 0, endOfFrame: true }));
      return v === Verdict.Forward && s.setMarker ? (9 as Verdict) : v;
    });
  assert.deepEqual(pic(false), [Verdict.Skip, Verdict.Skip, Verdict.Skip], 'waits for a keyframe');
  // Switch, then layer 1 forwarded with the marker (9), layer 2 dropped.
  assert.deepEqual(pic(true), [Verdict.Switch, 9, Verdict.Drop]);
  s.setTarget(2, 2);
  assert.deepEqual(pic(false), [Verdict.Forward, 9, Verdict.Drop], 'up needs a keyframe');
  assert.deepEqual(pic(true), [Verdict.Forward, Verdict.Forward, 9]);
  s.setTarget(0, 2);
  assert.deepEqual(pic(false), [9, Verdict.Drop, Verdict.Drop], 'down at the next picture');
});

test('rid binding: media and repaired-rid SSRCs; unknown mid or rid dropped and counted', () => {
  const producer = testProducer({
    id: 'p',
    kind: 'video',
    ownerId: 'o',
    mid: '1',
    rids: ['q', 'h', 'f'],
    codec: { name: 'VP8', payloadType: 96, clockRate: 90000, fmtp: '', rtcpFeedback: [{ type: 'nack' }], rtxPayloadType: 97 },
    feedbackSsrc: 1,
    feedback: { sendRtcp: () => {} },
  });
  const binder = new RidBinder();
  binder.ids = { mid: 4, rid: 10, repairedRid: 11 };
  const view = new RtpHeaderView();
  const packet = (ssrc: number, exts: { id: number; value: Buffer }[]): Buffer => {
    const out = Buffer.alloc(100);
    const n = writeRtpHeader(out, 0, { marker: false, payloadType: 96, sequenceNumber: 1, timestamp: 1, ssrc }, exts);
    const b = out.subarray(0, n + 4);
    assert.ok(parseRtpHeader(b, view));
    return b;
  };
  const mid = { id: 4, value: Buffer.from('1') };
  let b = packet(0x1111, [mid, { id: 10, value: Buffer.from('h') }]);
  assert.equal(binder.bind(b, view, [producer])?.stream.rid, 'h');
  assert.equal(producer.streams[1]?.ssrc, 0x1111);
  b = packet(0x2222, [mid, { id: 11, value: Buffer.from('h') }]);
  assert.equal(binder.bind(b, view, [producer])?.stream.rid, 'h');
  assert.equal(producer.streams[1]?.rtxSsrc, 0x2222);
  assert.equal(producer.streams[1]?.ssrc, 0x1111, 'the RTX stream does not rebind the media SSRC');
  // Hostile / stray packets.
  assert.equal(binder.bind(packet(0x3333, [mid, { id: 10, value: Buffer.from('zz') }]), view, [producer]), null);
  assert.equal(binder.unknownRid, 1);
  assert.equal(
    binder.bind(
      packet(0x4444, [
        { id: 4, value: Buffer.from('7') },
        { id: 10, value: Buffer.from('q') },
      ]),
      view,
      [producer],
    ),
    null,
  );
  assert.equal(binder.unknownMid, 1);
  assert.equal(binder.bind(packet(0x5555, []), view, [producer]), null);
  assert.equal(binder.bind(packet(0x5556, [mid]), view, [producer]), null);
  assert.equal(binder.unidentified, 2);
  assert.equal(producer.streams[0]?.bound, false);
  producer.close();
});

// ---- consumers of a simulcast producer: preferred layer from render size, pausing unused layers ----

function simulcastProducer(): Producer {
  return testProducer({
    id: 'p',
    kind: 'video',
    ownerId: 'o',
    mid: '1',
    rids: ['q', 'h', 'f'],
    codec: { name: 'VP8', payloadType: 96, clockRate: 90000, fmtp: '', rtcpFeedback: [{ type: 'nack' }] },
    feedbackSsrc: 1,
    feedback: { sendRtcp: () => {} },
  });
}

/** A VP8 keyframe packet of 1 × `width` × `height` on `ssrc`. */
function keyframePacket(ssrc: number, seq: number, width: number, height: number): Buffer {
  const payload = Buffer.from([0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, width & 0xff, width >> 8, height & 0xff, height >> 8, 0, 0]);
  const out = Buffer.alloc(12 + payload.length);
  writeRtpHeader(out, 0, { marker: true, payloadType: 96, sequenceNumber: seq, timestamp: seq * 3000, ssrc }, []);
  payload.copy(out, 12);
  return out;
}

test("consumer: the preferred layer is the smallest covering the render size; switches on that layer's keyframe", () => {
  const producer = simulcastProducer();
  const sent: Buffer[] = [];
  const consumer = testConsumer({
    id: 'c',
    producer,
    subscriberId: 's',
    transport: { sendRtp: (b) => sent.push(Buffer.from(b)), sendRtcp: () => {} },
    ssrc: 9,
    payloadType: 96,
  });
  const sizes = [
    [320, 180],
    [640, 360],
    [1280, 720],
  ] as const;
  producer.streams.forEach((s, i) => s.bind(100 + i));
  const view = new RtpHeaderView();
  let seq = 1;
  const feed = (layer: number): void => {
    const [w, h] = sizes[layer] as readonly [number, number];
    const b = keyframePacket(100 + layer, seq++, w, h);
    assert.ok(parseRtpHeader(b, view));
    producer.receive(b, view, seq * 10, producer.streams[layer]);
  };
  consumer.setRenderSize(160, 90);
  assert.equal(consumer.preferredLayers.spatial, 2, 'sizes unknown: the top layer');
  for (const l of [2, 1, 0]) feed(l); // keyframes teach the sizes; the first one starts the consumer
  assert.equal(consumer.preferredLayers.spatial, 0);
  assert.equal(consumer.targetLayers.spatial, 0);
  assert.equal(consumer.currentLayers.spatial, 0, 'the layer-0 keyframe switched it down');
  consumer.setRenderSize(600, 340);
  assert.equal(consumer.targetLayers.spatial, 1);
  feed(2);
  assert.equal(consumer.currentLayers.spatial, 0, 'never to a layer above the target');
  feed(1);
  assert.equal(consumer.currentLayers.spatial, 1);
  consumer.setTargetLayers({ spatial: 0, temporal: 7 });
  assert.equal(consumer.targetLayers.spatial, 0, 'the allocator limit caps the preferred layer');
  // Output sequence numbers stay continuous across every switch.
  const seqs = sent.map((b) => b.readUInt16BE(2));
  for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], ((seqs[i - 1] as number) + 1) & 0xffff);
  producer.close();
});

test('layer pauser: unused layers pause after the delay, resume at once, the lowest never pauses', () => {
  const producer = simulcastProducer();
  const messages: string[][] = [];
  const pauser = new LayerPauser(producer, routerOf(producer).demandOf(producer), (_mid, rids) => messages.push(rids), 1000);
  const consumer = testConsumer({
    id: 'c',
    producer,
    subscriberId: 's',
    transport: { sendRtp: () => {}, sendRtcp: () => {} },
    ssrc: 9,
    payloadType: 96,
  });
  consumer.setTargetLayers({ spatial: 1, temporal: 7 });
  pauser.update(0);
  pauser.update(2000);
  assert.deepEqual(messages, [], 'a layer of unknown size is never paused');
  producer.streams.forEach((s, i) => {
    s.width = 320 << i;
    s.height = 180 << i;
  });
  pauser.update(0);
  pauser.update(500);
  assert.deepEqual(messages, [], 'not before the delay');
  pauser.update(1600);
  assert.deepEqual(messages, [['q', 'h']]);
  consumer.setTargetLayers({ spatial: 2, temporal: 7 }); // resumes at once (the producer's LayerDemand changed)
  assert.deepEqual(messages[1], ['q', 'h', 'f']);
  // Climbing from layer 0 to 2 keeps layer 1 (the publisher's estimate grows through it).
  consumer.selector!.current.spatial = 0;
  pauser.update(3000);
  pauser.update(4500);
  assert.deepEqual(messages.at(-1), ['q', 'h', 'f']);
  consumer.pause();
  pauser.update(5000);
  pauser.update(7000);
  assert.deepEqual(messages.at(-1), ['q'], 'the lowest layer stays');
  consumer.close();
  producer.close();
});

test('consumer: temporal layers above the target are dropped with sequence numbers and PictureIDs kept continuous', () => {
  const producer = testProducer({
    id: 'p',
    kind: 'video',
    ownerId: 'o',
    mid: '1',
    ssrc: 0x77,
    codec: { name: 'VP8', payloadType: 96, clockRate: 90000, fmtp: '', rtcpFeedback: [] },
    feedbackSsrc: 1,
    feedback: { sendRtcp: () => {} },
  });
  const sent: Buffer[] = [];
  const consumer = testConsumer({
    id: 'c',
    producer,
    subscriberId: 's',
    transport: { sendRtp: (b) => sent.push(Buffer.from(b)), sendRtcp: () => {} },
    ssrc: 9,
    payloadType: 96,
  });
  consumer.setTargetLayers({ spatial: 0, temporal: 1 });
  const view = new RtpHeaderView();
  const tids = [0, 2, 1, 2];
  for (let i = 0; i < 12; i++) {
    const tid = tids[i % 4] as number;
    const d = vp8(1000 + i, 10 + Math.floor(i / 4), tid, false);
    d[d.length - 1] = i === 0 ? 0x00 : 0x01; // P bit: the first picture is a keyframe
    const out = Buffer.alloc(12 + d.length);
    writeRtpHeader(out, 0, { marker: true, payloadType: 96, sequenceNumber: 500 + i, timestamp: i * 3000, ssrc: 0x77 }, []);
    d.copy(out, 12);
    assert.ok(parseRtpHeader(out, view));
    producer.receive(out, view, i * 33);
  }
  assert.equal(sent.length, 6, 'temporal layer 2 dropped');
  const seqs = sent.map((b) => b.readUInt16BE(2));
  // The payload follows the header and its extensions (a transport-cc slot): find where.
  const outView = new RtpHeaderView();
  const pics = sent.map((b) => {
    assert.ok(parseRtpHeader(b, outView));
    return read(b.subarray(outView.headerLength)).pictureId;
  });
  for (let i = 1; i < sent.length; i++) {
    assert.equal(seqs[i], ((seqs[i - 1] as number) + 1) & 0xffff, 'sequence numbers continuous');
    assert.equal(pics[i], (pics[i - 1] as number) + 1, 'PictureIDs continuous');
  }
  assert.deepEqual(consumer.currentLayers, { spatial: 0, temporal: 1 });
  producer.close();
});

test('SVC producer: each spatial layer priced with the layers below it, not as the whole stream', () => {
  const producer = testProducer({
    id: 'svc',
    kind: 'video',
    ownerId: 'o',
    mid: '1',
    ssrc: 0x99,
    codec: { name: 'VP9', payloadType: 98, clockRate: 90000, fmtp: 'profile-id=0', rtcpFeedback: [] },
    feedbackSsrc: 1,
    feedback: { sendRtcp: () => {} },
  });
  const view = new RtpHeaderView();
  const sizes = [100, 300, 900];
  let seq = 0;
  // 30 pictures/s for 2.5 s, each with spatial ids 0, 1, 2 (flexible mode, TID 0, one P_DIFF).
  for (let pic = 0; pic < 75; pic++) {
    for (let sid = 0; sid < 3; sid++) {
      const descriptor = Buffer.from([0xfc, pic & 0x7f, (sid << 1) | (sid > 0 ? 1 : 0), 1 << 1]);
      const payload = Buffer.concat([descriptor, Buffer.alloc(sizes[sid] as number, 7)]);
      const out = Buffer.alloc(12 + payload.length);
      writeRtpHeader(out, 0, { marker: sid === 2, payloadType: 98, sequenceNumber: seq++, timestamp: pic * 3000, ssrc: 0x99 }, []);
      payload.copy(out, 12);
      assert.ok(parseRtpHeader(out, view));
      producer.receive(out, view, pic * 33.3);
    }
  }
  const now = 75 * 33.3;
  const expected = (bytes: number): number => bytes * 8 * 30;
  const within = (got: number, want: number): boolean => Math.abs(got - want) < 0.1 * want;
  const l0 = producer.layerBitrate(0, undefined, now);
  const l1 = producer.layerBitrate(1, undefined, now);
  const l2 = producer.layerBitrate(2, undefined, now);
  assert.ok(within(l0, expected(12 + 4 + 100)), `layer 0 alone: ${Math.round(l0)}`);
  assert.ok(within(l1, expected(2 * 16 + 400)), `layers 0 and 1: ${Math.round(l1)}`);
  assert.ok(within(l2, expected(3 * 16 + 1300)), `all three: ${Math.round(l2)}`);
  producer.close();
});
