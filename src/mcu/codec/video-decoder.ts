/**
 * Decoding of participants' VP8 or VP9 frames with FFmpeg's own decoders (`vp8`, `vp9`) through
 * node-av, synchronously on the event loop: the picture stays valid until the next decode.
 * (FFmpeg's vp8 was as fast as libvpx's decoder in bench/mcu-codecs.ts.)
 */
import { Codec, CodecContext, Frame, Packet } from 'node-av/lib';
import { AV_PIX_FMT_YUV420P, FF_DECODER_VP8, FF_DECODER_VP9 } from 'node-av/constants';
import { quietFfmpegLog } from './ffmpeg-log.js';
import type { DecodedCodec } from '../video/frame-bits.js';
import { SwitchboardError } from '../../protocol/errors.js';

export class VideoFrameDecoder {
  private readonly ctx = new CodecContext();
  private readonly packet = new Packet();
  /** The last decoded picture (I420); its planes are FFmpeg's, valid until the next decode. */
  readonly frame = new Frame();
  hasFrame = false;
  /** Frames FFmpeg refused (corrupt, or missing their reference). */
  errors = 0;

  constructor(readonly codec: DecodedCodec = 'vp8') {
    quietFfmpegLog();
    const ff = Codec.findDecoderByName(codec === 'vp8' ? FF_DECODER_VP8 : FF_DECODER_VP9);
    if (!ff) throw new SwitchboardError('unavailable', `FFmpeg has no ${codec} decoder`);
    this.ctx.allocContext3(ff);
    this.ctx.threadCount = 1;
    const ret = this.ctx.open2Sync(ff, null);
    if (ret < 0) throw new SwitchboardError('unavailable', `${codec} decoder: open failed (${ret})`);
    this.packet.alloc();
    this.frame.alloc();
  }

  /** One complete frame (RTP payloads joined, descriptors removed); true when a picture came out. */
  decode(data: Buffer): boolean {
    this.packet.data = data;
    if (this.ctx.sendPacketSync(this.packet) < 0) {
      this.errors++;
      return false;
    }
    // One packet, one picture (no frame threading). avcodec_receive_frame unrefs its frame
    // before anything else, so asking again would empty the picture just received.
    if (this.ctx.receiveFrameSync(this.frame) < 0) return false;
    this.hasFrame = this.frame.format === AV_PIX_FMT_YUV420P;
    return this.hasFrame;
  }

  get width(): number {
    return this.hasFrame ? this.frame.width : 0;
  }
  get height(): number {
    return this.hasFrame ? this.frame.height : 0;
  }

  close(): void {
    this.ctx.freeContext();
    this.frame.free();
    this.packet.free();
    this.hasFrame = false;
  }
}
