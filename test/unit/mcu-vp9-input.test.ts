/**
 * VP9 into the MCU: frames from libvpx-vp9 (node-av, through our encoder wrapper), sent as RFC 9628 RTP (B/E bits, 15-bit
 * PictureID, P on inter frames), through the video jitter buffer into FFmpeg's vp9 decoder —
 * the path a VP9 publisher's packets take in an MCU room. Every frame decodes at its size; after
 * a lost packet nothing is decoded until the next keyframe, which is asked for.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VideoFrameDecoder } from '../../src/mcu/codec/video-decoder.js';
import { VideoFrameEncoder } from '../../src/mcu/codec/video-encoder.js';
import { I420Canvas } from '../../src/mcu/video/I420Canvas.js';
import { VideoJitterBuffer } from '../../src/mcu/video/VideoJitterBuffer.js';

const W = 320;
const H = 180;

/** `count` VP9 frames of a moving gradient (our libvpx wrapper in its VP9 mode), keyframes where `key(i)`. */
function vp9Frames(count: number, key: (i: number) => boolean): Array<{ data: Buffer; keyframe: boolean }> {
  const canvas = I420Canvas.alloc(W, H);
  const encoder = new VideoFrameEncoder({ codec: 'vp9', width: W, height: H, fps: 30, bitrate: 300_000 });
  const out: Array<{ data: Buffer; keyframe: boolean }> = [];
  try {
    for (let i = 0; i < count; i++) {
      const img = canvas.image;
      for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) img.y[r * img.strideY + c] = (c + r + i * 4) & 0xff;
      img.u.fill(100);
      img.v.fill(150);
      if (key(i)) encoder.requestKeyframe();
      const e = encoder.encode(img);
      assert.ok(e, `frame ${i} encoded`);
      out.push({ data: Buffer.from(e.data), keyframe: e.keyframe });
    }
  } finally {
    encoder.close();
  }
  return out;
}

interface Rtp {
  seq: number;
  ts: number;
  marker: boolean;
  payload: Buffer;
}

/** RFC 9628 non-flexible mode, one spatial layer: I=1 (15-bit PictureID), P on inter frames, B/E. */
function packetize(frames: Array<{ data: Buffer; keyframe: boolean }>, mtu = 500): Rtp[] {
  const out: Rtp[] = [];
  let seq = 65_500; // wraps inside the run
  frames.forEach((f, picture) => {
    const n = Math.ceil(f.data.length / mtu);
    for (let k = 0; k < n; k++) {
      const chunk = f.data.subarray(k * mtu, Math.min(f.data.length, (k + 1) * mtu));
      const d = Buffer.alloc(3);
      d[0] = 0x80 | (f.keyframe ? 0 : 0x40) | (k === 0 ? 0x08 : 0) | (k === n - 1 ? 0x04 : 0);
      d.writeUInt16BE(0x8000 | picture, 1);
      out.push({ seq: seq & 0xffff, ts: picture * 3000, marker: k === n - 1, payload: Buffer.concat([d, chunk]) });
      seq++;
    }
  });
  return out;
}

function pipeline(): { jb: VideoJitterBuffer; decoded: Array<{ w: number; h: number; key: boolean }>; requests: () => number } {
  const decoder = new VideoFrameDecoder('vp9');
  const decoded: Array<{ w: number; h: number; key: boolean }> = [];
  let requests = 0;
  const jb = new VideoJitterBuffer({
    codec: 'vp9',
    maxWaitMs: 50,
    onFrame: (data, key) => {
      if (decoder.decode(data)) decoded.push({ w: decoder.width, h: decoder.height, key });
    },
    onKeyframeNeeded: () => {
      requests++;
    },
  });
  return { jb, decoded, requests: () => requests };
}

test('VP9 RTP → jitter buffer → FFmpeg vp9: every frame decoded at its size, reordered packets too', () => {
  const frames = vp9Frames(20, (i) => i === 0);
  assert.ok(frames[0]?.keyframe && !frames[1]?.keyframe);
  const packets = packetize(frames);
  assert.ok(packets.length > frames.length, 'frames span several packets');
  // Swap neighbours: every packet one place off.
  for (let i = 0; i + 1 < packets.length; i += 2) [packets[i], packets[i + 1]] = [packets[i + 1] as Rtp, packets[i] as Rtp];
  const { jb, decoded } = pipeline();
  for (const p of packets) jb.push(p.seq, p.ts, p.marker, p.payload, 0);
  assert.equal(decoded.length, 20);
  assert.ok(decoded.every((d) => d.w === W && d.h === H));
  assert.equal(decoded[0]?.key, true);
});

test('VP9: a lost packet stops decoding until the next keyframe, which is asked for', () => {
  const frames = vp9Frames(20, (i) => i === 0 || i === 12);
  const packets = packetize(frames);
  const lostAt = packets.findIndex((p) => p.ts === 5 * 3000);
  const { jb, decoded, requests } = pipeline();
  packets.forEach((p, i) => {
    if (i !== lostAt) jb.push(p.seq, p.ts, p.marker, p.payload, i);
  });
  jb.poll(10_000);
  assert.equal(requests(), 1);
  assert.equal(decoded.length, 5 + 8, 'frames 0–4, then 12–19 from the keyframe on');
  assert.equal(decoded[5]?.key, true);
});
