/**
 * The MCU's I420 canvas and name labels, checked pixel by pixel on all three planes: blits of
 * a pattern with padded strides (inside exact, outside background), clipping at every edge,
 * fillRect, darken; labels change only their box, draw white text on darkened neutral grey,
 * draw anything outside ASCII as '?', and end in '…' when cut.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { I420Canvas } from '../../src/mcu/video/I420Canvas.js';
import { ELLIPSIS, GLYPH_HEIGHT, GLYPH_ROWS, GLYPH_WIDTH, glyphIndex } from '../../src/mcu/video/font5x7.js';
import { allocI420, chromaSize, type I420Image, type Rect } from '../../src/mcu/video/i420.js';
import { LABEL_BOX_DARKEN, LABEL_TEXT_Y, drawLabel, labelSize } from '../../src/mcu/video/label.js';

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
    width,
    height,
    strideY: width + 4,
    strideU: cw + 2,
    strideV: cw + 3,
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
    width: 32,
    height: 16,
    strideY: 40,
    strideU: 24,
    strideV: 20,
    y: new Uint8Array(40 * 16),
    u: new Uint8Array(24 * 8),
    v: new Uint8Array(20 * 8),
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
  for (const [x, y] of [
    [-2, -2],
    [-4, 6],
    [28, 12],
    [26, -4],
    [0, 0],
    [25 + 1, 11 + 1],
    [-6, -4],
  ] as const) {
    const canvas = filled(32, 16);
    canvas.blit(src, x, y);
    assertBlitted(canvas, src, x, y);
  }
  for (const [x, y] of [
    [32, 0],
    [-8, 0],
    [0, 16],
    [0, -6],
    [100, 100],
  ] as const) {
    const canvas = filled(32, 16);
    canvas.blit(src, x, y);
    for (const p of PLANES)
      assert.ok(
        canvas.image[p].every((b) => b === BG[p]),
        `${p} changed by blit at (${x},${y})`,
      );
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
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        assert.equal(at(canvas.image, p, x, y), x >= x0 && y < y1 ? v : BG[p], `${p}(${x},${y})`);
      }
  }
  const d = filled(32, 16);
  d.image.y[0] = 10; // below black: kept
  d.image.y[1] = 216;
  d.darken({ x: 0, y: 0, width: 2, height: 1 }, 0.5);
  assert.deepEqual([...d.image.y.subarray(0, 3)], [10, 116, BG.y]);
  d.darken({ x: -10, y: 14, width: 12, height: 10 }, 0);
  for (let y = 0; y < 16; y++)
    for (let x = 0; x < 32; x++) {
      assert.equal(at(d.image, 'y', x, y), x < 2 && y >= 14 ? 16 : x < 2 && y === 0 ? [10, 116][x] : BG.y, `y(${x},${y})`);
    }
  assert.ok(d.image.u.every((b) => b === BG.u) && d.image.v.every((b) => b === BG.v), 'darken touched chroma');
});

/** A canvas with a picture under the label: a luma ramp and coloured chroma. */
function picture(width = 200, height = 60): I420Canvas {
  const c = I420Canvas.alloc(width, height);
  c.fill(0, 90, 200);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) c.image.y[y * width + x] = 60 + ((x + y) % 120);
  return c;
}

const inRect = (r: Rect, x: number, y: number): boolean => x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height;
const darkened = (l: number): number => (l > 16 ? 16 + (((l - 16) * Math.round(LABEL_BOX_DARKEN * 256)) >> 8) : l);

/** Outside `box` (∩ canvas) nothing changed; inside, luma is white text or the darkened picture, chroma neutral. */
function assertLabelOnly(after: I420Canvas, before: I420Canvas, box: Rect): number {
  let white = 0;
  for (const p of PLANES) {
    const [w, h] = planeSize(after.image, p);
    const k = p === 'y' ? 1 : 2;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const was = at(before.image, p, x, y);
        const is = at(after.image, p, x, y);
        if (!inRect(box, x * k, y * k)) assert.equal(is, was, `${p}(${x},${y}) outside the box changed`);
        else if (p !== 'y') assert.equal(is, 128, `${p}(${x},${y}) in the box not neutral`);
        else if (is === LABEL_TEXT_Y) white++;
        else assert.equal(is, darkened(was), `y(${x},${y}) in the box neither text nor darkened`);
      }
  }
  return white;
}

test('label: white text on a darkened neutral box, nothing outside the box', () => {
  assert.deepEqual(labelSize('Hi?', 2), { width: (4 + 18 - 1) * 2, height: (4 + 7) * 2 });
  assert.deepEqual(labelSize('Hi?', 1), { width: 22, height: 12 }); // 21 × 11 rounded up to even
  assert.deepEqual(labelSize('', 2), { width: 0, height: 0 });

  const before = picture();
  const canvas = picture();
  const box = drawLabel(canvas, 'Hi?', 10, 20, 2);
  assert.deepEqual(box, { x: 10, y: 20, ...labelSize('Hi?', 2) });
  const white = assertLabelOnly(canvas, before, box);
  // 'H' 17 font pixels, 'i' 9, '?' 9, each 2×2.
  assert.equal(white, (17 + 9 + 9) * 4);
  // 'H' starts 2 font pixels in: its top-left pixel is white, the one right of it is not.
  assert.equal(at(canvas.image, 'y', 14, 24), LABEL_TEXT_Y);
  assert.equal(at(canvas.image, 'y', 15, 25), LABEL_TEXT_Y);
  assert.notEqual(at(canvas.image, 'y', 16, 24), LABEL_TEXT_Y);

  // An odd position is rounded down to even so the neutral chroma covers just the box.
  const odd = picture();
  const oddBox = drawLabel(odd, 'x', 11, 21, 1);
  assert.deepEqual([oddBox.x, oddBox.y], [10, 20]);
  assertLabelOnly(odd, before, oddBox);
});

test('label: anything outside printable ASCII is drawn as "?", one per code point', () => {
  const draw = (text: string): I420Canvas => {
    const c = picture();
    drawLabel(c, text, 4, 4, 2);
    return c;
  };
  const reference = draw('a?b');
  for (const text of ['aéb', 'a😀b', 'a\tb', 'a\u2026b', 'a\u007fb']) {
    assert.deepEqual(labelSize(text, 2), labelSize('a?b', 2), text);
    const c = draw(text);
    for (const p of PLANES) assert.deepEqual(c.image[p], reference.image[p], `${JSON.stringify(text)} plane ${p}`);
  }
  assert.notDeepEqual(draw('a!b').image.y, reference.image.y);
});

test('label: cut to the maximum width with a final "…"; nothing when not even that fits', () => {
  const name = 'Alexander Hamilton';
  // (4 + 6n − 1) × 2 ≤ 100 → 7 glyphs: 'Alexan' and '…'.
  assert.deepEqual(labelSize(name, 2, 100), { width: 90, height: 22 });
  const cut = picture();
  const box = drawLabel(cut, name, 0, 0, 2, 100);
  assert.equal(box.width, 90);
  const plain = picture();
  drawLabel(plain, 'AlexanQ', 0, 0, 2);
  // The first six glyphs as drawn uncut, the seventh cell holds the ellipsis.
  const cell = (2 + 6 * 6) * 2;
  for (let y = 0; y < 60; y++)
    for (let x = 0; x < 200; x++) {
      const fontX = (x - cell) >> 1;
      const fontY = (y - 4) >> 1;
      if (x >= cell && fontX < GLYPH_WIDTH && fontY >= 0 && fontY < GLYPH_HEIGHT) {
        const on = (((GLYPH_ROWS[ELLIPSIS * GLYPH_HEIGHT + fontY] as number) >> (GLYPH_WIDTH - 1 - fontX)) & 1) === 1;
        assert.equal(at(cut.image, 'y', x, y) === LABEL_TEXT_Y, on, `ellipsis (${x},${y})`);
      } else {
        assert.equal(at(cut.image, 'y', x, y), at(plain.image, 'y', x, y), `(${x},${y})`);
      }
    }
  assert.deepEqual(labelSize(name, 2, 16), { width: 0, height: 0 });
  const none = picture();
  assert.equal(drawLabel(none, name, 0, 0, 2, 16).width, 0);
  assert.deepEqual(none.image.y, picture().image.y);
});

test('label: clipped at the canvas edges', () => {
  const before = picture();
  for (const [x, y] of [
    [180, 50],
    [-20, -10],
    [190, -16],
  ] as const) {
    const canvas = picture();
    const box = drawLabel(canvas, 'Hello', x, y, 2);
    assert.deepEqual([box.x, box.y], [x, y]);
    const white = assertLabelOnly(canvas, before, box);
    assert.ok(white > 0, `no text visible at (${x},${y})`);
  }
});

test('font: 95 printable glyphs and the ellipsis, all different, 5 bits wide', () => {
  assert.equal(GLYPH_ROWS.length, 96 * GLYPH_HEIGHT);
  assert.ok(GLYPH_ROWS.every((r) => r < 1 << GLYPH_WIDTH));
  const seen = new Set<string>();
  for (let g = 0; g < 96; g++) seen.add(GLYPH_ROWS.subarray(g * GLYPH_HEIGHT, (g + 1) * GLYPH_HEIGHT).join());
  assert.equal(seen.size, 96);
  assert.equal(glyphIndex(0x20), 0);
  assert.equal(glyphIndex(0x7e), 94);
  assert.equal(glyphIndex(0x7f), glyphIndex(0x3f));
  assert.equal(glyphIndex(0xe9), glyphIndex(0x3f));
});
