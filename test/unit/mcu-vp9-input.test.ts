/**
 * VP9 into the MCU: frames from libvpx-vp9 (node-av), sent as RFC 9628 RTP (B/E bits, 15-bit
 * PictureID, P on inter frames), through the video jitter buffer into FFmpeg's vp9 decoder —
 * the path a VP9 publisher's packets take in an MCU room. Every frame decodes at its size; after
 * a lost packet nothing is decoded until the next keyframe, which is asked for.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Codec, CodecContext, Frame, Packet, Rational } from 'node-av/lib';
import { AV_PICTURE_TYPE_I, AV_PICTURE_TYPE_NONE, AV_PIX_FMT_YUV420P, FF_ENCODER_LIBVPX_VP9 } from 'node-av/constants';
import { VideoFrameDecoder } from '../../src/mcu/codec/video-decoder.js';
import { VideoJitterBuffer } from '../../src/mcu/video/VideoJitterBuffer.js';

const W = 320;
const H = 180;

/** `count` VP9 frames of a moving gradient, keyframes where `key(i)`. */
function vp9Frames(count: number, key: (i: number) => boolean): Array<{ data: Buffer; keyframe: boolean }> {
  const codec = Codec.findEncoderByName(FF_ENCODER_LIBVPX_VP9);
  assert.ok(codec, 'libvpx-vp9 encoder');
  const ctx = new CodecContext();
  ctx.allocContext3(codec);
  ctx.width = W;
  ctx.height = H;
  ctx.pixelFormat = AV_PIX_FMT_YUV420P;
  ctx.timeBase = new Rational(1, 30);
  ctx.framerate = new Rational(30, 1);
  ctx.bitRate = 300_000n;
  ctx.gopSize = 1000;
  for (const [k, v] of [['deadline', 'realtime'], ['cpu-used', '8'], ['lag-in-frames', '0']] as const) assert.ok(ctx.setOption(k, v) >= 0, k);
  assert.ok(ctx.open2Sync(codec, null) >= 0);
  const frame = new Frame();
  frame.alloc();
  frame.width = W;
  frame.height = H;
  frame.format = AV_PIX_FMT_YUV420P;
  frame.getBuffer(32);
  const packet = new Packet();
  packet.alloc();
  const out: Array<{ data: Buffer; keyframe: boolean }> = [];
  for (let i = 0; i < count; i++) {
    frame.makeWritable();
    const [y, u, v] = frame.data as Buffer[];
    const stride = frame.linesize[0] as number;
    for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) (y as Buffer)[r * stride + c] = (c + r + i * 4) & 0xff;
    (u as Buffer).fill(100);
    (v as Buffer).fill(150);
    frame.pts = BigInt(i);
    frame.pictType = key(i) ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
    assert.ok(ctx.sendFrameSync(frame) >= 0);
    while (ctx.receivePacketSync(packet) >= 0) out.push({ data: Buffer.from(packet.data as Buffer), keyframe: packet.isKeyframe });
  }
  ctx.freeContext();
  return out;
}

interface Rtp { seq: number; ts: number; marker: boolean; payload: Buffer }

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
    onFrame: (data, key) => { if (decoder.decode(data)) decoded.push({ w: decoder.width, h: decoder.height, key }); },
    onKeyframeNeeded: () => { requests++; },
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
  packets.forEach((p, i) => { if (i !== lostAt) jb.push(p.seq, p.ts, p.marker, p.payload, i); });
  jb.poll(10_000);
  assert.equal(requests(), 1);
  assert.equal(decoded.length, 5 + 8, 'frames 0–4, then 12–19 from the keyframe on');
  assert.equal(decoded[5]?.key, true);
});
