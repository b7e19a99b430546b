/**
 * The MCU's output picture: one I420 image that tiles are blitted into, then handed to the
 * encoder. Pictures arrive already scaled to their destination size (sws_scale does that in
 * native code), so composing is row copies: `Uint8Array.prototype.set` on row views, a memcpy
 * each, never a JavaScript loop per pixel. Nothing is allocated per frame but those row views.
 *
 * Everything is clipped to the canvas, so a caller may draw partly or wholly outside it.
 * Positions are luma pixels; an odd x or y is rounded down for the chroma planes (layouts give
 * even ones, see layout.ts).
 */
import { allocI420, chromaSize, type I420Image, type Rect } from './i420.js';

/** Dark grey in BT.601 limited range (black is 16), neutral chroma. */
export const BACKGROUND_Y = 32;
export const NEUTRAL_CHROMA = 128;

export class I420Canvas {
  readonly width: number;
  readonly height: number;
  private readonly chromaWidth: number;
  private readonly chromaHeight: number;
  // The clipped rectangle of the last `clip` call, as [x0, x1) × [y0, y1), kept in fields so
  // clipping allocates nothing.
  private cx0 = 0;
  private cy0 = 0;
  private cx1 = 0;
  private cy1 = 0;

  /** Draws into `image` in place (for example an encoder's frame buffer). */
  constructor(readonly image: I420Image) {
    this.width = image.width;
    this.height = image.height;
    this.chromaWidth = chromaSize(image.width);
    this.chromaHeight = chromaSize(image.height);
  }

  /** A canvas over a new tightly packed image. */
  static alloc(width: number, height: number): I420Canvas {
    return new I420Canvas(allocI420(width, height));
  }

  /** The whole image, padding included (the encoder does not read it, and one fill is faster than rows). */
  fill(y = BACKGROUND_Y, u = NEUTRAL_CHROMA, v = NEUTRAL_CHROMA): void {
    this.image.y.fill(y);
    this.image.u.fill(u);
    this.image.v.fill(v);
  }

  fillRect(rect: Rect, y: number, u: number, v: number): void {
    if (!this.clip(rect.x, rect.y, rect.width, rect.height, this.width, this.height)) return;
    fillRows(this.image.y, this.image.strideY, this.cx0, this.cy0, this.cx1, this.cy1, y);
    this.fillChroma(rect, u, v);
  }

  /** Sets the chroma under `rect` (for a label's box: white text stays white over any colour). */
  fillChroma(rect: Rect, u: number, v: number): void {
    if (!this.clipChroma(rect.x, rect.y, rect.width, rect.height)) return;
    fillRows(this.image.u, this.image.strideU, this.cx0, this.cy0, this.cx1, this.cy1, u);
    fillRows(this.image.v, this.image.strideV, this.cx0, this.cy0, this.cx1, this.cy1, v);
  }

  /** Copies `src` (already at its destination size) with its top-left corner at (x, y). */
  blit(src: I420Image, x: number, y: number): void {
    const img = this.image;
    if (this.clip(x, y, src.width, src.height, this.width, this.height)) {
      copyRows(src.y, src.strideY, this.cx0 - x, this.cy0 - y, img.y, img.strideY, this.cx0, this.cy0, this.cx1, this.cy1);
    }
    const cx = x >> 1;
    const cy = y >> 1;
    if (this.clip(cx, cy, chromaSize(src.width), chromaSize(src.height), this.chromaWidth, this.chromaHeight)) {
      copyRows(src.u, src.strideU, this.cx0 - cx, this.cy0 - cy, img.u, img.strideU, this.cx0, this.cy0, this.cx1, this.cy1);
      copyRows(src.v, src.strideV, this.cx0 - cx, this.cy0 - cy, img.v, img.strideV, this.cx0, this.cy0, this.cx1, this.cy1);
    }
  }

  /**
   * Scales luma towards black (16) by `factor` (0 black … 1 unchanged), for a label's backdrop
   * that keeps a hint of the picture. A loop per pixel: labels are small.
   */
  darken(rect: Rect, factor: number): void {
    if (!this.clip(rect.x, rect.y, rect.width, rect.height, this.width, this.height)) return;
    const f = Math.round(Math.min(1, Math.max(0, factor)) * 256);
    const plane = this.image.y;
    const stride = this.image.strideY;
    for (let row = this.cy0; row < this.cy1; row++) {
      const end = row * stride + this.cx1;
      for (let i = row * stride + this.cx0; i < end; i++) {
        const l = plane[i] as number;
        // Below 16 is already black (footroom); leave it.
        if (l > 16) plane[i] = 16 + (((l - 16) * f) >> 8);
      }
    }
  }

  /** Clips the chroma samples covering luma rect (x, y, w, h); false when nothing is left. */
  private clipChroma(x: number, y: number, w: number, h: number): boolean {
    // A rect with odd edges covers the chroma samples it partly overlaps.
    const x0 = x >> 1;
    const y0 = y >> 1;
    return this.clip(x0, y0, ((x + w + 1) >> 1) - x0, ((y + h + 1) >> 1) - y0, this.chromaWidth, this.chromaHeight);
  }

  /** Clips (x, y, w, h) to [0, maxW) × [0, maxH) into the cx/cy fields; false when empty. */
  private clip(x: number, y: number, w: number, h: number, maxW: number, maxH: number): boolean {
    this.cx0 = Math.max(0, x);
    this.cy0 = Math.max(0, y);
    this.cx1 = Math.min(maxW, x + w);
    this.cy1 = Math.min(maxH, y + h);
    return this.cx0 < this.cx1 && this.cy0 < this.cy1;
  }
}

function fillRows(plane: Uint8Array, stride: number, x0: number, y0: number, x1: number, y1: number, value: number): void {
  for (let row = y0; row < y1; row++) plane.fill(value, row * stride + x0, row * stride + x1);
}

/** Copies [x0, x1) × [y0, y1) of `dst` from `src`, whose pixel (sx, sy) lands on (x0, y0). */
function copyRows(
  src: Uint8Array,
  srcStride: number,
  sx: number,
  sy: number,
  dst: Uint8Array,
  dstStride: number,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
): void {
  const w = x1 - x0;
  for (let row = 0; row < y1 - y0; row++) {
    const s = (sy + row) * srcStride + sx;
    dst.set(src.subarray(s, s + w), (y0 + row) * dstStride + x0);
  }
}
