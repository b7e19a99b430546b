/**
 * The MCU's I420 canvas and name labels, checked pixel by pixel on all three planes: blits of
 * a pattern with padded strides (inside exact, outside background), clipping at every edge,
 * fillRect, darken.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { I420Canvas } from '../../src/mcu/video/I420Canvas.js';
import { allocI420, chromaSize, type I420Image } from '../../src/mcu/video/i420.js';

type Plane = 'y' | 'u' | 'v';
const PLANES: Plane[] = ['y', 'u', 'v'];
const BG = { y: 20, u: 100, v: 150 };
const PAD_BYTE = 255;

function stride(img: I420Image, p: Plane): number {
  return p === 'y' ? img.strideY : p === 'u' ? img.strideU : img.strideV;
}
function at(img: I420Image, p: Plane, x: number, y: number): number {
  return img[p][y * stride(img, p) + x] as number;
}
function planeSize(img: I420Image, p: Plane): [number, number] {
  return p === 'y' ? [img.width, img.height] : [chromaSize(img.width), chromaSize(img.height)];
}

/** An image with padded strides; pixel (x, y) of plane p is (base[p] + 10y + x) mod 250, padding is 255 (it must never be copied). */
function pattern(width: number, height: number): I420Image {
  const cw = chromaSize(width);
  const ch = chromaSize(height);
  const img: I420Image = {
    width, height, strideY: width + 4, strideU: cw + 2, strideV: cw + 3,
    y: new Uint8Array((width + 4) * height).fill(PAD_BYTE),
    u: new Uint8Array((cw + 2) * ch).fill(PAD_BYTE),
    v: new Uint8Array((cw + 3) * ch).fill(PAD_BYTE),
  };
  for (const p of PLANES) {
    const [w, h] = planeSize(img, p);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img[p][y * stride(img, p) + x] = patternValue(p, x, y);
  }
  return img;
}
function patternValue(p: Plane, x: number, y: number): number {
  return ({ y: 100, u: 40, v: 180 }[p] + 10 * y + x) % 250;
}

/** Every pixel of every plane: the pattern where it was blitted at (bx, by), background elsewhere. */
function assertBlitted(canvas: I420Canvas, src: I420Image, bx: number, by: number): void {
  for (const p of PLANES) {
    const [w, h] = planeSize(canvas.image, p);
    const [sw, sh] = planeSize(src, p);
    const ox = p === 'y' ? bx : bx >> 1;
    const oy = p === 'y' ? by : by >> 1;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const inside = x >= ox && x < ox + sw && y >= oy && y < oy + sh;
        const want = inside ? patternValue(p, x - ox, y - oy) : BG[p];
        assert.equal(at(canvas.image, p, x, y), want, `${p}(${x},${y}) after blit at (${bx},${by})`);
      }
    }
  }
}

function filled(width: number, height: number): I420Canvas {
  const c = I420Canvas.alloc(width, height);
  c.fill(BG.y, BG.u, BG.v);
  return c;
}

test('allocI420: tight strides, chroma rounded up', () => {
  const img = allocI420(7, 5);
  assert.deepEqual([img.strideY, img.strideU, img.strideV, img.y.length, img.u.length, img.v.length], [7, 4, 4, 35, 12, 12]);
  assert.throws(() => allocI420(0, 4), RangeError);
});

test('blit: a padded-stride pattern lands exactly at its offset, background around it, on all planes', () => {
  const src = pattern(6, 4);
  const canvas = filled(32, 16);
  canvas.blit(src, 8, 6);
  assertBlitted(canvas, src, 8, 6);

  // A destination with padded strides too: its padding is left alone.
  const img: I420Image = {
    width: 32, height: 16, strideY: 40, strideU: 24, strideV: 20,
    y: new Uint8Array(40 * 16), u: new Uint8Array(24 * 8), v: new Uint8Array(20 * 8),
  };
  const padded = new I420Canvas(img);
  padded.fill(BG.y, BG.u, BG.v);
  padded.blit(src, 8, 6);
  assertBlitted(padded, src, 8, 6);
  for (const p of PLANES) {
    const [w, h] = planeSize(img, p);
    for (let y = 0; y < h; y++) {
      for (let x = w; x < stride(img, p); x++) assert.equal(at(img, p, x, y), BG[p], `${p} padding (${x},${y})`);
    }
  }
});

test('blit: clipped at every edge; wholly outside changes nothing', () => {
  const src = pattern(7, 5); // odd: 4×3 chroma
  for (const [x, y] of [[-2, -2], [-4, 6], [28, 12], [26, -4], [0, 0], [25 + 1, 11 + 1], [-6, -4]] as const) {
    const canvas = filled(32, 16);
    canvas.blit(src, x, y);
    assertBlitted(canvas, src, x, y);
  }
  for (const [x, y] of [[32, 0], [-8, 0], [0, 16], [0, -6], [100, 100]] as const) {
    const canvas = filled(32, 16);
    canvas.blit(src, x, y);
    for (const p of PLANES) assert.ok(canvas.image[p].every((b) => b === BG[p]), `${p} changed by blit at (${x},${y})`);
  }
  // A source larger than the canvas is cropped to it.
  const big = pattern(40, 20);
  const canvas = filled(32, 16);
  canvas.blit(big, -4, -2);
  assertBlitted(canvas, big, -4, -2);
});

test('fillRect and darken: only their rect (clipped), darken towards black 16', () => {
  const canvas = filled(32, 16);
  canvas.fillRect({ x: 26, y: -2, width: 10, height: 6 }, 200, 30, 40);
  for (const p of PLANES) {
    const [w, h] = planeSize(canvas.image, p);
    const [x0, y1, v] = p === 'y' ? [26, 4, 200] : [13, 2, p === 'u' ? 30 : 40];
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      assert.equal(at(canvas.image, p, x, y), x >= x0 && y < y1 ? v : BG[p], `${p}(${x},${y})`);
    }
  }
  const d = filled(32, 16);
  d.image.y[0] = 10; // below black: kept
  d.image.y[1] = 216;
  d.darken({ x: 0, y: 0, width: 2, height: 1 }, 0.5);
  assert.deepEqual([...d.image.y.subarray(0, 3)], [10, 116, BG.y]);
  d.darken({ x: -10, y: 14, width: 12, height: 10 }, 0);
  for (let y = 0; y < 16; y++) for (let x = 0; x < 32; x++) {
    assert.equal(at(d.image, 'y', x, y), x < 2 && y >= 14 ? 16 : x < 2 && y === 0 ? [10, 116][x] : BG.y, `y(${x},${y})`);
  }
  assert.ok(d.image.u.every((b) => b === BG.u) && d.image.v.every((b) => b === BG.v), 'darken touched chroma');
});

