/**
 * Encoding of the MCU's composed picture with libvpx through FFmpeg (node-av): VP8, which every
 * browser decodes, or VP9. Synchronous on the event loop, one frame at a time (participants'
 * frames are decoded by video-decoder.ts).
 */
import { Codec, CodecContext, Frame, Packet, Rational } from 'node-av/lib';
import {
  AV_PICTURE_TYPE_I,
  AV_PICTURE_TYPE_NONE,
  AV_PIX_FMT_YUV420P,
  FF_ENCODER_LIBVPX_VP8,
  FF_ENCODER_LIBVPX_VP9,
} from 'node-av/constants';
import { quietFfmpegLog } from './ffmpeg-log.js';
import type { DecodedCodec } from '../video/frame-bits.js';
import type { I420Image } from '../video/i420.js';
import { SwitchboardError } from '../../protocol/errors.js';

export interface VideoEncoderOptions {
  /** Default vp8. */
  codec?: DecodedCodec;
  width: number;
  height: number;
  fps: number;
  bitrate: number;
  /** libvpx speed for realtime (4..16 in FFmpeg's range; higher is faster and worse). Default 8. */
  cpuUsed?: number;
}

/** One encoded frame: a view of the encoder's packet, valid until the next encode. */
export interface EncodedFrame {
  data: Buffer;
  keyframe: boolean;
}

export class VideoFrameEncoder {
  private readonly ctx = new CodecContext();
  private readonly input = new Frame();
  private readonly packet = new Packet();
  private readonly result: EncodedFrame = { data: Buffer.alloc(0), keyframe: false };
  private pts = 0n;
  private keyframeWanted = true;
  readonly width: number;
  readonly height: number;
  framesEncoded = 0;
  keyframesEncoded = 0;
  bytesEncoded = 0;

  constructor(readonly opts: VideoEncoderOptions) {
    this.width = opts.width;
    this.height = opts.height;
    quietFfmpegLog();
    const codec = Codec.findEncoderByName(opts.codec === 'vp9' ? FF_ENCODER_LIBVPX_VP9 : FF_ENCODER_LIBVPX_VP8);
    if (!codec) throw new SwitchboardError('unavailable', `FFmpeg has no libvpx ${opts.codec ?? 'vp8'} encoder`);
    const ctx = this.ctx;
    ctx.allocContext3(codec);
    ctx.width = opts.width;
    ctx.height = opts.height;
    ctx.pixelFormat = AV_PIX_FMT_YUV420P;
    ctx.timeBase = new Rational(1, opts.fps);
    ctx.framerate = new Rational(opts.fps, 1);
    ctx.bitRate = BigInt(Math.round(opts.bitrate));
    // Keyframes only when asked (a new receiver, a PLI): periodic ones would be wasted bits.
    ctx.gopSize = 0x7fffffff;
    ctx.threadCount = 1;
    // Realtime, no lookahead (every frame out at once), resilient to the loss of a packet. Set
    // on the context, not passed as a Dictionary to open: avcodec_open2 rewrites that dictionary
    // and node-av's finalizer then frees a pointer it no longer owns (a crash at the next GC).
    // Rate control as libwebrtc sets it for realtime VP8: a keyframe at most 3× an average frame
    // (a full-size keyframe on a slow link is lost, asked for again, and floods it), overshoot
    // held to 15 %, a 1 s rate-control buffer.
    const options: Array<[string, string]> = [
      ['deadline', 'realtime'],
      ['cpu-used', String(opts.cpuUsed ?? 8)],
      ['lag-in-frames', '0'],
      ['error-resilient', '1'],
      ['static-thresh', '0'],
      ['max-intra-rate', '300'],
      ['undershoot-pct', '100'],
      ['overshoot-pct', '15'],
    ];
    ctx.rcBufferSize = Math.round(opts.bitrate);
    for (const [name, value] of options) {
      if (ctx.setOption(name, value) < 0) throw new SwitchboardError('unavailable', `libvpx encoder: option ${name}=${value} refused`);
    }
    const ret = ctx.open2Sync(codec, null);
    if (ret < 0) throw new SwitchboardError('unavailable', `libvpx encoder: open failed (${ret})`);
    this.input.alloc();
    this.input.width = opts.width;
    this.input.height = opts.height;
    this.input.format = AV_PIX_FMT_YUV420P;
    if (this.input.getBuffer(32) < 0) throw new SwitchboardError('unavailable', 'libvpx encoder: no frame buffer');
    this.packet.alloc();
  }

  /** The next frame is a keyframe (a receiver starts or lost one). */
  requestKeyframe(): void {
    this.keyframeWanted = true;
  }

  /** Encodes `image` (the encoder's size); null when libvpx dropped the frame (rate control). */
  encode(image: I420Image): EncodedFrame | null {
    const frame = this.input;
    frame.makeWritable();
    const planes = frame.data;
    if (!planes) return null;
    const strides = frame.linesize;
    copyPlane(image.y, image.strideY, planes[0] as Buffer, strides[0] as number, this.width, this.height);
    const cw = (this.width + 1) >> 1;
    const ch = (this.height + 1) >> 1;
    copyPlane(image.u, image.strideU, planes[1] as Buffer, strides[1] as number, cw, ch);
    copyPlane(image.v, image.strideV, planes[2] as Buffer, strides[2] as number, cw, ch);
    frame.pts = this.pts++;
    frame.pictType = this.keyframeWanted ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
    this.keyframeWanted = false;
    if (this.ctx.sendFrameSync(frame) < 0) return null;
    if (this.ctx.receivePacketSync(this.packet) < 0) return null;
    const data = this.packet.data;
    if (!data) return null;
    this.result.data = data;
    this.result.keyframe = this.packet.isKeyframe;
    this.framesEncoded++;
    this.bytesEncoded += data.length;
    if (this.result.keyframe) this.keyframesEncoded++;
    return this.result;
  }

  close(): void {
    this.ctx.freeContext();
    this.input.free();
    this.packet.free();
  }
}

function copyPlane(src: Uint8Array, srcStride: number, dst: Buffer, dstStride: number, width: number, height: number): void {
  if (srcStride === dstStride && src.length >= srcStride * height) {
    dst.set(src.subarray(0, srcStride * height));
    return;
  }
  for (let row = 0; row < height; row++) dst.set(src.subarray(row * srcStride, row * srcStride + width), row * dstStride);
}
