/**
 * Scales a decoded picture straight into a rectangle of the composed canvas with FFmpeg's
 * sws_scale: the destination planes are views of the canvas at the rectangle's corner with
 * the canvas' strides, so nothing is copied twice. One scaler per tile; its context is kept
 * while the source and destination sizes stay the same.
 */
import { SoftwareScaleContext, type Frame } from 'node-av/lib';
import { AV_PIX_FMT_YUV420P, SWS_BILINEAR } from 'node-av/constants';
import type { I420Image, Rect } from '../video/i420.js';
import { SwitchboardError } from '../../protocol/errors.js';

export class TileScaler {
  private ctx: SoftwareScaleContext | null = null;
  private key = '';
  private readonly dst: Buffer[] = [];
  private readonly dstStrides: number[] = [0, 0, 0];
  private readonly srcStrides: number[] = [0, 0, 0];

  /** Draws `frame` (I420) into `rect` of `canvas` (even x, y, width, height). */
  scale(frame: Frame, canvas: I420Image, rect: Rect): boolean {
    const planes = frame.data;
    if (!planes || planes.length < 3 || rect.width < 2 || rect.height < 2) return false;
    const key = `${frame.width}x${frame.height}>${rect.width}x${rect.height}`;
    if (key !== this.key || !this.ctx) {
      this.ctx?.freeContext();
      const ctx = new SoftwareScaleContext();
      ctx.getContext(frame.width, frame.height, AV_PIX_FMT_YUV420P, rect.width, rect.height, AV_PIX_FMT_YUV420P, SWS_BILINEAR);
      if (ctx.initContext() < 0) {
        this.ctx = null;
        this.key = '';
        return false;
      }
      this.ctx = ctx;
      this.key = key;
    }
    const cx = rect.x >> 1;
    const cy = rect.y >> 1;
    this.dst[0] = asBuffer(canvas.y).subarray(rect.y * canvas.strideY + rect.x);
    this.dst[1] = asBuffer(canvas.u).subarray(cy * canvas.strideU + cx);
    this.dst[2] = asBuffer(canvas.v).subarray(cy * canvas.strideV + cx);
    this.dstStrides[0] = canvas.strideY;
    this.dstStrides[1] = canvas.strideU;
    this.dstStrides[2] = canvas.strideV;
    const ls = frame.linesize;
    this.srcStrides[0] = ls[0] as number;
    this.srcStrides[1] = ls[1] as number;
    this.srcStrides[2] = ls[2] as number;
    return this.ctx.scaleSync(planes.slice(0, 3), this.srcStrides, 0, frame.height, this.dst, this.dstStrides) > 0;
  }

  close(): void {
    this.ctx?.freeContext();
    this.ctx = null;
    this.key = '';
  }
}

/** A Buffer over the same memory (the binding wants Buffers; the canvas may hold Uint8Arrays). */
function asBuffer(a: Uint8Array): Buffer {
  return Buffer.isBuffer(a) ? a : Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Scales a whole I420 picture into another of a different size (a lower tier's smaller picture). */
export class ImageScaler {
  private readonly ctx = new SoftwareScaleContext();
  private readonly src: Buffer[];
  private readonly dst: Buffer[];
  private readonly srcStrides: number[];
  private readonly dstStrides: number[];

  constructor(
    private readonly from: I420Image,
    readonly to: I420Image,
  ) {
    this.ctx.getContext(from.width, from.height, AV_PIX_FMT_YUV420P, to.width, to.height, AV_PIX_FMT_YUV420P, SWS_BILINEAR);
    if (this.ctx.initContext() < 0)
      throw new SwitchboardError('unavailable', `sws_scale: cannot scale ${from.width}x${from.height} to ${to.width}x${to.height}`);
    this.src = [asBuffer(from.y), asBuffer(from.u), asBuffer(from.v)];
    this.dst = [asBuffer(to.y), asBuffer(to.u), asBuffer(to.v)];
    this.srcStrides = [from.strideY, from.strideU, from.strideV];
    this.dstStrides = [to.strideY, to.strideU, to.strideV];
  }

  /** `from` → `to`, both given at construction. */
  scale(): void {
    this.ctx.scaleSync(this.src, this.srcStrides, 0, this.from.height, this.dst, this.dstStrides);
  }

  close(): void {
    this.ctx.freeContext();
  }
}
