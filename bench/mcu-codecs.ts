/**
 * MCU codec candidates, measured side by side in one run (the choice recorded in the README):
 *
 * - Opus, 20 ms mono 48 kHz frames of a voice-like signal at 32 kbit/s: @evan/opus's native addon
 *   (the reference, ratio 1.0), its WebAssembly build, and FFmpeg's libopus through node-av.
 *   µs per frame to encode and to decode.
 * - VP8 decode of a 640×360 camera-like stream (moving gradient and blocks): FFmpeg's own `vp8`
 *   decoder vs libvpx's (`libvpx` decoder), both through node-av (reference: `vp8`).
 * - VP8 encode of a 1280×720 composite with libvpx at realtime speed, cpu-used 4, 8 and 12:
 *   ms per frame and the share of one core at 15 fps (reference: cpu-used 8, the default).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/mcu-codecs.js [--frames 1500]
 *
 * Single-threaded, in this process; about 20 s at the defaults.
 */
import { createRequire } from 'node:module';
import { Codec, CodecContext, Frame, Packet, Rational } from 'node-av/lib';
import {
  AV_CHANNEL_ORDER_NATIVE,
  AV_CH_LAYOUT_MONO,
  AV_SAMPLE_FMT_S16,
  FF_DECODER_LIBOPUS,
  FF_DECODER_LIBVPX_VP8,
  FF_ENCODER_LIBOPUS,
} from 'node-av/constants';
import { Decoder as EvanDecoder, Encoder as EvanEncoder } from '@evan/opus';
import { VideoFrameDecoder } from '../src/mcu/codec/video-decoder.js';
import { VideoFrameEncoder } from '../src/mcu/codec/video-encoder.js';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../src/mcu/audio/format.js';
import { I420Canvas } from '../src/mcu/video/I420Canvas.js';
import { nonNegative } from './lib/proc.js';

interface OpusCandidate {
  name: string;
  encode(pcm: Int16Array): Uint8Array;
  decode(packet: Uint8Array): number;
}

function usage(problem: string): never {
  console.error(`${problem}\nusage: node dist/bench/mcu-codecs.js [--frames N]`);
  process.exit(2);
}

function parseArgs(argv: string[]): { frames: number } {
  const o = { frames: 1500 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--frames') o.frames = Math.max(10, Math.floor(nonNegative('frames', argv[++i], usage)));
    else usage(`unknown option ${a}`);
  }
  return o;
}

/** 2 s of a voice-like signal: a pitched tone with formant-ish harmonics and syllable envelope. */
function voiceFrames(count: number): Int16Array[] {
  const out: Int16Array[] = [];
  let n = 0;
  for (let f = 0; f < count; f++) {
    const pcm = new Int16Array(FRAME_SAMPLES);
    for (let i = 0; i < FRAME_SAMPLES; i++, n++) {
      const t = n / SAMPLE_RATE;
      const env = 0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t);
      const s = Math.sin(2 * Math.PI * 140 * t) + 0.5 * Math.sin(2 * Math.PI * 700 * t) + 0.25 * Math.sin(2 * Math.PI * 2200 * t);
      pcm[i] = Math.round(6000 * env * s + (((n * 7919) % 200) - 100));
    }
    out.push(pcm);
  }
  return out;
}

function evanCandidate(name: string, lib: { Encoder: typeof EvanEncoder; Decoder: typeof EvanDecoder }): OpusCandidate {
  const enc = new lib.Encoder({ channels: 1, sample_rate: SAMPLE_RATE, application: 'voip' });
  enc.bitrate = 32_000;
  const dec = new lib.Decoder({ channels: 1, sample_rate: SAMPLE_RATE });
  return { name, encode: (pcm) => Uint8Array.from(enc.encode(pcm)), decode: (p) => dec.decode(p).byteLength >> 1 };
}

function nodeAvOpus(): OpusCandidate {
  const layout = { nbChannels: 1, order: AV_CHANNEL_ORDER_NATIVE, mask: AV_CH_LAYOUT_MONO };
  const open = (ctx: CodecContext, codec: Codec | null, what: string): void => {
    if (!codec) throw new Error(`no ${what}`);
    ctx.allocContext3(codec);
    ctx.sampleRate = SAMPLE_RATE;
    ctx.channelLayout = layout;
    ctx.sampleFormat = AV_SAMPLE_FMT_S16;
    ctx.timeBase = new Rational(1, SAMPLE_RATE);
    if (what === 'encoder') ctx.bitRate = 32_000n;
    if (ctx.open2Sync(codec, null) < 0) throw new Error(`node-av libopus ${what}: open failed`);
  };
  const enc = new CodecContext();
  open(enc, Codec.findEncoderByName(FF_ENCODER_LIBOPUS), 'encoder');
  const dec = new CodecContext();
  open(dec, Codec.findDecoderByName(FF_DECODER_LIBOPUS), 'decoder');
  const frame = new Frame();
  frame.alloc();
  frame.nbSamples = FRAME_SAMPLES;
  frame.format = AV_SAMPLE_FMT_S16;
  frame.sampleRate = SAMPLE_RATE;
  frame.channelLayout = layout;
  frame.getBuffer(0);
  const out = new Packet();
  out.alloc();
  const inp = new Packet();
  inp.alloc();
  const decoded = new Frame();
  decoded.alloc();
  let pts = 0n;
  return {
    name: 'node-av (FFmpeg libopus)',
    encode(pcm) {
      frame.makeWritable();
      frame.data?.[0]?.set(new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength));
      frame.pts = pts;
      pts += BigInt(FRAME_SAMPLES);
      enc.sendFrameSync(frame);
      return enc.receivePacketSync(out) >= 0 && out.data ? Uint8Array.from(out.data) : new Uint8Array(0);
    },
    decode(p) {
      if (p.length === 0) return 0;
      inp.data = Buffer.from(p.buffer, p.byteOffset, p.byteLength);
      dec.sendPacketSync(inp);
      return dec.receiveFrameSync(decoded) >= 0 ? decoded.nbSamples : 0;
    },
  };
}

function timeOpus(c: OpusCandidate, frames: Int16Array[]): { encodeUs: number; decodeUs: number; bytes: number } {
  for (let i = 0; i < 50; i++) c.decode(c.encode(frames[i % frames.length] as Int16Array)); // warm-up
  const packets: Uint8Array[] = [];
  let t = performance.now();
  for (const f of frames) packets.push(c.encode(f));
  const encodeUs = ((performance.now() - t) * 1000) / frames.length;
  t = performance.now();
  let samples = 0;
  for (const p of packets) samples += c.decode(p);
  const decodeUs = ((performance.now() - t) * 1000) / frames.length;
  if (samples < FRAME_SAMPLES * frames.length * 0.9) throw new Error(`${c.name}: decoded ${samples} samples`);
  return { encodeUs, decodeUs, bytes: packets.reduce((n, p) => n + p.length, 0) / packets.length };
}

/** A camera-like 640×360 picture for frame `i`: a moving gradient and a few moving blocks. */
function drawCamera(canvas: I420Canvas, i: number): void {
  const img = canvas.image;
  for (let y = 0; y < img.height; y++) {
    const row = y * img.strideY;
    for (let x = 0; x < img.width; x++) img.y[row + x] = (x + y + i * 3) & 0xff;
  }
  img.u.fill(110 + (i % 20));
  img.v.fill(140);
  for (let b = 0; b < 4; b++)
    canvas.fillRect({ x: ((i * (b + 2) * 4) % (img.width - 64)) & ~1, y: 40 + b * 70, width: 64, height: 48 }, 200 - b * 30, 90, 160);
}

function vp8Stream(frames: number): Buffer[] {
  const canvas = I420Canvas.alloc(640, 360);
  const enc = new VideoFrameEncoder({ width: 640, height: 360, fps: 30, bitrate: 800_000 });
  const out: Buffer[] = [];
  for (let i = 0; i < frames; i++) {
    drawCamera(canvas, i);
    const e = enc.encode(canvas.image);
    if (e) out.push(Buffer.from(e.data));
  }
  enc.close();
  return out;
}

function libvpxDecoder(): (data: Buffer) => boolean {
  const codec = Codec.findDecoderByName(FF_DECODER_LIBVPX_VP8);
  if (!codec) throw new Error('no libvpx decoder');
  const ctx = new CodecContext();
  ctx.allocContext3(codec);
  ctx.threadCount = 1;
  if (ctx.open2Sync(codec, null) < 0) throw new Error('libvpx decoder: open failed');
  const pkt = new Packet();
  pkt.alloc();
  const frame = new Frame();
  frame.alloc();
  return (data) => {
    pkt.data = data;
    ctx.sendPacketSync(pkt);
    return ctx.receiveFrameSync(frame) >= 0;
  };
}

function timeDecode(decode: (d: Buffer) => boolean, stream: Buffer[]): number {
  let ok = 0;
  const t = performance.now();
  for (const f of stream) if (decode(f)) ok++;
  const ms = (performance.now() - t) / stream.length;
  if (ok < stream.length * 0.95) throw new Error(`decoded ${ok} of ${stream.length}`);
  return ms;
}

function timeEncode(cpuUsed: number, frames: number): { ms: number; kbps: number } {
  const canvas = I420Canvas.alloc(1280, 720);
  const tile = I420Canvas.alloc(640, 360);
  const enc = new VideoFrameEncoder({ width: 1280, height: 720, fps: 15, bitrate: 1_500_000, cpuUsed });
  let bytes = 0;
  let ms = 0;
  for (let i = 0; i < frames; i++) {
    canvas.fill();
    for (let q = 0; q < 4; q++) {
      drawCamera(tile, i + q * 10);
      canvas.blit(tile.image, (q % 2) * 640, Math.floor(q / 2) * 360);
    }
    const t = performance.now();
    const e = enc.encode(canvas.image);
    ms += performance.now() - t;
    bytes += e?.data.length ?? 0;
  }
  enc.close();
  return { ms: ms / frames, kbps: (bytes * 8 * 15) / frames / 1000 };
}

const pad = (s: string, n: number): string => s.padEnd(n);

function main(): void {
  const { frames } = parseArgs(process.argv.slice(2));
  const require = createRequire(import.meta.url);
  console.log(`MCU codec candidates (${frames} audio frames, ${Math.min(frames, 300)} video frames), node ${process.version}\n`);

  const voice = voiceFrames(frames);
  const wasm = require('@evan/opus/wasm/index.js') as { Encoder: typeof EvanEncoder; Decoder: typeof EvanDecoder };
  const candidates = [
    evanCandidate('@evan/opus (native addon)', { Encoder: EvanEncoder, Decoder: EvanDecoder }),
    evanCandidate('@evan/opus (WebAssembly)', wasm),
    nodeAvOpus(),
  ];
  const opus = candidates.map((c) => ({ name: c.name, ...timeOpus(c, voice) }));
  const ref = opus[0]!;
  console.log('Opus, 20 ms mono frame, 32 kbit/s');
  console.log(
    `${pad('candidate', 30)} ${pad('encode µs', 10)} ${pad('decode µs', 10)} ${pad('bytes/frame', 12)} ratio (enc+dec vs native)`,
  );
  for (const r of opus) {
    console.log(
      `${pad(r.name, 30)} ${pad(r.encodeUs.toFixed(1), 10)} ${pad(r.decodeUs.toFixed(1), 10)} ${pad(r.bytes.toFixed(0), 12)} ${((r.encodeUs + r.decodeUs) / (ref.encodeUs + ref.decodeUs)).toFixed(2)}`,
    );
  }

  const videoFrames = Math.min(frames, 300);
  const stream = vp8Stream(videoFrames);
  const ffvp8 = new VideoFrameDecoder();
  const ours = timeDecode((d) => ffvp8.decode(d), stream);
  const libvpx = timeDecode(libvpxDecoder(), stream);
  console.log('\nVP8 decode, 640×360 camera-like stream');
  console.log(`${pad('FFmpeg vp8', 30)} ${ours.toFixed(3)} ms/frame  ratio 1.00`);
  console.log(`${pad('libvpx', 30)} ${libvpx.toFixed(3)} ms/frame  ratio ${(libvpx / ours).toFixed(2)}`);

  console.log('\nVP8 encode (libvpx, realtime), 1280×720 composite of 4 moving tiles, 1.5 Mbit/s target');
  const enc = [4, 8, 12].map((cpuUsed) => ({ cpuUsed, ...timeEncode(cpuUsed, Math.min(videoFrames, 120)) }));
  const encRef = enc.find((e) => e.cpuUsed === 8)!;
  for (const e of enc) {
    console.log(
      `${pad(`cpu-used ${e.cpuUsed}`, 30)} ${e.ms.toFixed(2)} ms/frame, ${((e.ms * 15) / 10).toFixed(1)} % of a core at 15 fps, ${e.kbps.toFixed(0)} kbit/s  ratio ${(e.ms / encRef.ms).toFixed(2)}`,
    );
  }
}

main();
