/**
 * Name labels drawn onto the composed picture: white 5×7 text (font5x7.ts) on a darkened box,
 * so the name reads over any picture. Callers place the box at a tile's bottom-left corner with
 * `labelSize`, passing the tile's width as the maximum; a longer name ends in '…'.
 */
import { NEUTRAL_CHROMA, type I420Canvas } from './I420Canvas.js';
import type { Rect } from './i420.js';
import { ELLIPSIS, GLYPH_HEIGHT, GLYPH_ROWS, GLYPH_WIDTH, glyphIndex } from './font5x7.js';

/** Nominal white in BT.601 limited range. */
export const LABEL_TEXT_Y = 235;
/** How much of the picture's luma the box keeps. */
export const LABEL_BOX_DARKEN = 0.35;
/** Box padding around the text, in font pixels. */
const PAD = 2;
/** A glyph and the column between glyphs, in font pixels. */
const ADVANCE = GLYPH_WIDTH + 1;

// Reused between calls: labels are drawn every frame.
const glyphs: number[] = [];

/** Width and height of the box `drawLabel` would draw (0×0 for empty text or when nothing fits). */
export function labelSize(text: string, scale = 2, maxWidth = Infinity): { width: number; height: number } {
  const s = toScale(scale);
  const n = layoutText(text, s, maxWidth);
  return n === 0 ? { width: 0, height: 0 } : { width: boxWidth(n, s), height: boxHeight(s) };
}

/**
 * Draws `text` in a box whose top-left corner is (x, y), rounded down to even so the box's
 * neutral chroma covers exactly its own pixels. `scale` is the size of a font pixel in canvas
 * pixels. Returns the box (before clipping to the canvas; width 0 when nothing was drawn).
 */
export function drawLabel(canvas: I420Canvas, text: string, x: number, y: number, scale = 2, maxWidth = Infinity): Rect {
  const s = toScale(scale);
  const n = layoutText(text, s, maxWidth);
  const box: Rect = { x: Math.floor(x / 2) * 2, y: Math.floor(y / 2) * 2, width: 0, height: 0 };
  if (n === 0) return box;
  box.width = boxWidth(n, s);
  box.height = boxHeight(s);
  canvas.darken(box, LABEL_BOX_DARKEN);
  // Neutral chroma: the text is white and the box grey whatever colour is underneath.
  canvas.fillChroma(box, NEUTRAL_CHROMA, NEUTRAL_CHROMA);
  const plane = canvas.image.y;
  const stride = canvas.image.strideY;
  const top = box.y + PAD * s;
  for (let i = 0; i < n; i++) {
    const left = box.x + (PAD + i * ADVANCE) * s;
    const base = (glyphs[i] as number) * GLYPH_HEIGHT;
    for (let r = 0; r < GLYPH_HEIGHT; r++) {
      const bits = GLYPH_ROWS[base + r] as number;
      if (bits === 0) continue;
      for (let c = 0; c < GLYPH_WIDTH; c++) {
        if (((bits >> (GLYPH_WIDTH - 1 - c)) & 1) === 0) continue;
        const x0 = Math.max(0, left + c * s);
        const x1 = Math.min(canvas.width, left + (c + 1) * s);
        if (x0 >= x1) continue;
        const y0 = Math.max(0, top + r * s);
        const y1 = Math.min(canvas.height, top + (r + 1) * s);
        for (let py = y0; py < y1; py++) plane.fill(LABEL_TEXT_Y, py * stride + x0, py * stride + x1);
      }
    }
  }
  return box;
}

/**
 * Fills `glyphs` with the glyph indices to draw and returns how many: one per code point (an
 * emoji is one '?', not two), cut to fit `maxWidth` with a final '…'; 0 when not even that fits.
 */
function layoutText(text: string, s: number, maxWidth: number): number {
  glyphs.length = 0;
  for (const ch of text) glyphs.push(glyphIndex(ch.codePointAt(0) as number));
  let n = glyphs.length;
  if (n === 0 || boxWidth(n, s) <= maxWidth) return n;
  n--;
  while (n > 0 && boxWidth(n + 1, s) > maxWidth) n--;
  if (boxWidth(n + 1, s) > maxWidth) return 0;
  glyphs[n] = ELLIPSIS;
  return n + 1;
}

function boxWidth(glyphCount: number, s: number): number {
  // No spacing column after the last glyph.
  return roundUpEven((2 * PAD + glyphCount * ADVANCE - 1) * s);
}

function boxHeight(s: number): number {
  return roundUpEven((2 * PAD + GLYPH_HEIGHT) * s);
}

function roundUpEven(n: number): number {
  return Math.ceil(n / 2) * 2;
}

function toScale(scale: number): number {
  return Math.max(1, Math.floor(scale));
}
