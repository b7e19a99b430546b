/**
 * The MCU's video jitter buffer on synthetic VP8 RTP: frames made by our own packetizer
 * (RFC 7741 descriptors) go in reordered, lost, duplicated or wrapped; whole frames must come
 * out in order, and nothing after a lost frame until a keyframe.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRtpHeader, RtpHeaderView } from '../../src/rtc/rtp/index.js';
import { VideoJitterBuffer } from '../../src/mcu/video/VideoJitterBuffer.js';
import { Vp8Packetizer, VP8_MAX_PAYLOAD } from '../../src/mcu/video/Vp8Packetizer.js';
import { mulberry32 } from '../helpers/random.js';

interface Pkt {
  seq: number;
  ts: number;
  marker: boolean;
  payload: Buffer;
}

/** A VP8 frame body: first byte's P bit (bit 0) is 0 on a keyframe (RFC 7741 §4.3); then a marker pattern. */
function frameBody(index: number, keyframe: boolean, size: number): Buffer {
  const b = Buffer.alloc(size);
  b[0] = keyframe ? 0x10 : 0x11;
  for (let i = 1; i < size; i++) b[i] = (index * 31 + i) & 0xff;
  return b;
}

/** Packets of frames 0..n−1 (keyframe every `gop`), each `size` bytes, from our packetizer. */
function packetsOf(n: number, size: number, gop = 1000, startSeq?: number): { packets: Pkt[]; bodies: Buffer[] } {
  const p = new Vp8Packetizer(0x1234, 96, startSeq ?? 1000);
  const packets: Pkt[] = [];
  const bodies: Buffer[] = [];
  const view = new RtpHeaderView();
  for (let f = 0; f < n; f++) {
    const body = frameBody(f, f % gop === 0, size);
    bodies.push(body);
    p.packetize(body, f * 6000, (pkt) => {
      assert.ok(parseRtpHeader(pkt, view));
      packets.push({
        seq: view.sequenceNumber,
        ts: view.timestamp,
        marker: view.marker,
        payload: Buffer.from(pkt.subarray(view.headerLength, view.headerLength + view.payloadLength)),
      });
    });
  }
  return { packets, bodies };
}

function buffer(opts: { maxWaitMs?: number } = {}): {
  jb: VideoJitterBuffer;
  frames: Array<{ data: Buffer; key: boolean; ts: number }>;
  keyframeRequests: () => number;
} {
  const frames: Array<{ data: Buffer; key: boolean; ts: number }> = [];
  let requests = 0;
  const jb = new VideoJitterBuffer({
    ...opts,
    onFrame: (data, key, ts) => frames.push({ data: Buffer.from(data), key, ts }),
    onKeyframeNeeded: () => {
      requests++;
    },
  });
  return { jb, frames, keyframeRequests: () => requests };
}

const push = (jb: VideoJitterBuffer, p: Pkt, now = 0): void => jb.push(p.seq, p.ts, p.marker, p.payload, now);

test('in order: every frame out whole, in order, keyframe flagged', () => {
  const { packets, bodies } = packetsOf(5, 2500, 3);
  assert.ok(packets.length > 5, 'frames span several packets');
  const { jb, frames } = buffer();
  for (const p of packets) push(jb, p);
  assert.equal(frames.length, 5);
  frames.forEach((f, i) => {
    assert.deepEqual(f.data, bodies[i]);
    assert.equal(f.key, i % 3 === 0);
    assert.equal(f.ts, i * 6000);
  });
});

test('reordered packets within a frame and across frames: frames still whole and in order', () => {
  const { packets, bodies } = packetsOf(6, 3 * VP8_MAX_PAYLOAD);
  const shuffled = [...packets];
  // Swap neighbours pairwise: every packet arrives one place off.
  for (let i = 0; i + 1 < shuffled.length; i += 2) [shuffled[i], shuffled[i + 1]] = [shuffled[i + 1] as Pkt, shuffled[i] as Pkt];
  const { jb, frames } = buffer();
  for (const p of shuffled) push(jb, p);
  assert.deepEqual(
    frames.map((f) => f.data),
    bodies,
  );
});

test('a lost packet: its frame and the ones after it are held, given up after the wait, then a keyframe restarts', () => {
  const { packets, bodies } = packetsOf(8, 2000, 5); // keyframes at 0 and 5
  const lost = packets.findIndex((p) => p.ts === 2 * 6000); // first packet of frame 2
  const { jb, frames, keyframeRequests } = buffer({ maxWaitMs: 100 });
  packets.forEach((p, i) => {
    if (i !== lost) push(jb, p, i);
  });
  // Frames 0, 1 out; 2 is incomplete; 3, 4 wait behind it; keyframe 5 waits too until the wait is over.
  assert.deepEqual(
    frames.map((f) => f.ts / 6000),
    [0, 1],
  );
  jb.poll(1000);
  assert.equal(keyframeRequests(), 1, 'a keyframe was asked for');
  assert.deepEqual(
    frames.map((f) => f.ts / 6000),
    [0, 1, 5, 6, 7],
    'frames 2–4 skipped, the keyframe and its followers out',
  );
  assert.deepEqual(frames.at(-1)?.data, bodies[7]);
  assert.equal(jb.framesDropped, 1);
});

test('a retransmission arriving within the wait completes the frame: nothing lost', () => {
  const { packets, bodies } = packetsOf(4, 2000);
  const late = 3;
  const { jb, frames, keyframeRequests } = buffer({ maxWaitMs: 200 });
  packets.forEach((p, i) => {
    if (i !== late) push(jb, p, i * 10);
  });
  push(jb, packets[late] as Pkt, 150);
  assert.deepEqual(
    frames.map((f) => f.data),
    bodies,
  );
  assert.equal(keyframeRequests(), 0);
});

test('duplicates and packets older than what was played are dropped', () => {
  const { packets, bodies } = packetsOf(3, 1500);
  const { jb, frames } = buffer();
  for (const p of packets) {
    push(jb, p);
    push(jb, p);
  }
  push(jb, packets[0] as Pkt);
  assert.deepEqual(
    frames.map((f) => f.data),
    bodies,
  );
  assert.ok(jb.latePackets >= 1);
});

test('sequence numbers wrapping 65535 → 0 inside a frame', () => {
  const { packets, bodies } = packetsOf(4, 3 * VP8_MAX_PAYLOAD, 1000, 65533);
  assert.ok(packets.some((p) => p.seq === 65535) && packets.some((p) => p.seq === 0));
  const { jb, frames } = buffer();
  for (const p of packets) push(jb, p);
  assert.deepEqual(
    frames.map((f) => f.data),
    bodies,
  );
});

test('a stream that starts mid-GOP: nothing until a keyframe', () => {
  const { packets, bodies } = packetsOf(7, 1000, 4); // keyframes 0 and 4
  const { jb, frames } = buffer();
  for (const p of packets.filter((p) => p.ts >= 2 * 6000)) push(jb, p);
  assert.deepEqual(
    frames.map((f) => f.ts / 6000),
    [4, 5, 6],
  );
  assert.deepEqual(frames[0]?.data, bodies[4]);
});

test('fuzz: real packets in random order mixed with junk never throw; frames stay bounded', () => {
  const rnd = mulberry32(7);
  const { packets } = packetsOf(200, 1800, 10);
  const { jb, frames } = buffer({ maxWaitMs: 30 });
  let now = 0;
  for (let i = 0; i < 20_000; i++) {
    now += rnd() * 5;
    const r = rnd();
    if (r < 0.7) {
      const p = packets[Math.floor(rnd() * packets.length)] as Pkt;
      push(jb, p, now);
    } else if (r < 0.9) {
      const len = Math.floor(rnd() * 40);
      const junk = Buffer.alloc(len);
      for (let k = 0; k < len; k++) junk[k] = Math.floor(rnd() * 256);
      jb.push(Math.floor(rnd() * 65536), Math.floor(rnd() * 2 ** 32), rnd() < 0.5, junk, now);
    } else jb.poll(now);
  }
  assert.ok(jb.framesOut > 0, 'frames still come out');
  assert.ok(jb.malformedPackets > 0, 'junk was counted');
  for (const f of frames) assert.ok(f.data.length <= 1 << 20);
});

test('fuzz: random bytes as VP9 payloads (RFC 9628 descriptors) never throw', () => {
  const rnd = mulberry32(11);
  let out = 0;
  const jb = new VideoJitterBuffer({
    codec: 'vp9',
    maxWaitMs: 30,
    onFrame: () => {
      out++;
    },
    onKeyframeNeeded: () => undefined,
  });
  let now = 0;
  for (let i = 0; i < 50_000; i++) {
    now += rnd() * 3;
    const len = Math.floor(rnd() * 60);
    const junk = Buffer.alloc(len);
    for (let k = 0; k < len; k++) junk[k] = Math.floor(rnd() * 256);
    // Nearby sequence numbers, so that runs can form and be given up.
    jb.push((i + Math.floor(rnd() * 8)) & 0xffff, Math.floor(rnd() * 4) * 3000, rnd() < 0.3, junk, now);
    if (rnd() < 0.05) jb.poll(now);
  }
  assert.ok(jb.malformedPackets > 0);
  assert.ok(out + jb.framesDropped + jb.latePackets > 0, 'the junk went somewhere');
});
