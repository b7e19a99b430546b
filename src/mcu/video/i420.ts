/**
 * The picture format of the MCU's video path: planar YUV 4:2:0 (I420), what libvpx decodes to
 * and encodes from. Chroma planes are half the luma size, rounded up (a 5-pixel-wide image has
 * 3 chroma columns). Strides may exceed widths: FFmpeg pads lines for SIMD, so rows are never
 * assumed to be contiguous.
 */
export interface I420Image {
  width: number;
  height: number;
  y: Uint8Array;
  u: Uint8Array;
  v: Uint8Array;
  strideY: number;
  strideU: number;
  strideV: number;
}

/** A rectangle in pixel (luma) coordinates of an image. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Chroma columns or rows for `n` luma ones. */
export function chromaSize(n: number): number {
  return (n + 1) >> 1;
}

/** A zeroed image with tight strides (each plane's stride equals its width). */
export function allocI420(width: number, height: number): I420Image {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`bad I420 size ${width}x${height}`);
  }
  const cw = chromaSize(width);
  const ch = chromaSize(height);
  return {
    width,
    height,
    y: new Uint8Array(width * height),
    u: new Uint8Array(cw * ch),
    v: new Uint8Array(cw * ch),
    strideY: width,
    strideU: cw,
    strideV: cw,
  };
}
