/**
 * Where each participant's picture goes on the MCU's output canvas. Pure geometry: the
 * compositor scales each decoded picture to `fitRect(…)` of its tile and blits it there.
 *
 * Every coordinate and size is even, so a tile starts and ends on a 4:2:0 chroma sample (an
 * odd edge would share a chroma sample with the neighbour and bleed its colour). Tiles are
 * inside the canvas and separated by LAYOUT_GAP pixels of background; there is no outer margin,
 * so a lone participant fills the whole canvas.
 *
 * Rects are returned main tile first (speaker and presentation), then the others in input (join)
 * order; `main` is never set in grid layout.
 */
import type { Rect } from './i420.js';

export type LayoutKind = 'grid' | 'speaker' | 'presentation';

export interface LayoutInput {
  id: string;
  /** The active speaker; when several are flagged, the first wins. */
  speaking?: boolean;
  /** Shares a screen: presentation layout shows the first such participant large. */
  screen?: boolean;
}

export interface TileRect extends Rect {
  id: string;
  main: boolean;
}

/** Background between tiles, in pixels (even). */
export const LAYOUT_GAP = 4;
/** Grid shows at most 3×3 participants; larger rooms show the first nine (see `computeLayout`). */
export const GRID_MAX_TILES = 9;
/** Thumbnails in the speaker and presentation strips. */
export const STRIP_MAX_TILES = 6;
/** Smaller canvases would give tiles of a few pixels or none; the encoder never asks for them. */
export const MIN_CANVAS_SIZE = 64;

/**
 * The tiles of `kind` for `tiles` (in join order) on a `width`×`height` canvas (even, at least
 * MIN_CANVAS_SIZE).
 *
 * - grid: 1 → the whole canvas, 2 → two columns, 3–4 → 2×2, 5–9 → 3×3 cells of equal size; a
 *   partial last row is centred, and the occupied rows are centred vertically (5–6 use two rows
 *   of 3×3-sized cells, so the cell size does not change as people join). With more than nine,
 *   the first nine are shown; when the active speaker is not among them it takes the ninth place,
 *   so the other eight keep their positions.
 * - speaker: the active speaker (else the first participant) large above a bottom strip of up to
 *   STRIP_MAX_TILES equal thumbnails (1/5 of the height); the rest are not shown.
 * - presentation: the first screen sharer large, the others in a right-hand column (1/6 of the
 *   width, so the shared screen gets more of the canvas than a speaker does); the active speaker
 *   is kept in the column when it overflows. Without a screen share it is the speaker layout.
 */
export function computeLayout(kind: LayoutKind, tiles: readonly LayoutInput[], width: number, height: number): TileRect[] {
  if (!isEvenSize(width) || !isEvenSize(height)) {
    throw new RangeError(`canvas ${width}x${height}: sizes must be even integers ≥ ${MIN_CANVAS_SIZE}`);
  }
  if (tiles.length === 0) return [];
  switch (kind) {
    case 'grid':
      return grid(pickVisible(tiles, GRID_MAX_TILES), width, height);
    case 'speaker':
      return speaker(tiles, width, height);
    case 'presentation':
      return presentation(tiles, width, height);
  }
}

/**
 * The largest rectangle of the source's aspect ratio inside `tile`, centred (letterbox or
 * pillarbox), even-aligned (for an even tile, as computeLayout gives) and at least 2×2. A
 * source of unknown size (0×0, no frame decoded yet) gets the whole tile.
 */
export function fitRect(srcWidth: number, srcHeight: number, tile: Rect): Rect {
  if (!(srcWidth > 0) || !(srcHeight > 0)) return { x: tile.x, y: tile.y, width: tile.width, height: tile.height };
  const maxW = Math.max(2, evenFloor(tile.width));
  const maxH = Math.max(2, evenFloor(tile.height));
  let w: number;
  let h: number;
  // Compare aspect ratios by cross-multiplying: no rounding decides which side limits.
  if (srcWidth * maxH >= srcHeight * maxW) {
    w = maxW;
    h = clampEven((maxW * srcHeight) / srcWidth, maxH);
  } else {
    h = maxH;
    w = clampEven((maxH * srcWidth) / srcHeight, maxW);
  }
  return { x: evenFloor(tile.x + (tile.width - w) / 2), y: evenFloor(tile.y + (tile.height - h) / 2), width: w, height: h };
}

function grid(tiles: readonly LayoutInput[], width: number, height: number): TileRect[] {
  const n = tiles.length;
  const cols = n === 1 ? 1 : n <= 4 ? 2 : 3;
  const rows = n <= 2 ? 1 : n <= 4 ? 2 : 3;
  const cellW = evenFloor((width - (cols - 1) * LAYOUT_GAP) / cols);
  const cellH = evenFloor((height - (rows - 1) * LAYOUT_GAP) / rows);
  const usedRows = Math.ceil(n / cols);
  const y0 = evenFloor((height - span(usedRows, cellH)) / 2);
  const out: TileRect[] = [];
  for (let r = 0; r < usedRows; r++) {
    const inRow = Math.min(cols, n - r * cols);
    const x0 = evenFloor((width - span(inRow, cellW)) / 2);
    for (let c = 0; c < inRow; c++) {
      const t = tiles[r * cols + c] as LayoutInput;
      out.push({ id: t.id, x: x0 + c * (cellW + LAYOUT_GAP), y: y0 + r * (cellH + LAYOUT_GAP), width: cellW, height: cellH, main: false });
    }
  }
  return out;
}

function speaker(tiles: readonly LayoutInput[], width: number, height: number): TileRect[] {
  const mainIndex = Math.max(0, speakerIndex(tiles));
  const main = tiles[mainIndex] as LayoutInput;
  if (tiles.length === 1) return [whole(main, width, height)];
  const others = pickVisible(
    tiles.filter((_, i) => i !== mainIndex),
    STRIP_MAX_TILES,
  );
  const stripH = evenFloor(height / 5);
  // 16:9 thumbnails unless that many do not fit across.
  const thumbW = Math.min(evenFloor((stripH * 16) / 9), evenFloor((width - (others.length - 1) * LAYOUT_GAP) / others.length));
  const x0 = evenFloor((width - span(others.length, thumbW)) / 2);
  const out: TileRect[] = [{ id: main.id, x: 0, y: 0, width, height: height - stripH - LAYOUT_GAP, main: true }];
  others.forEach((t, i) => {
    out.push({ id: t.id, x: x0 + i * (thumbW + LAYOUT_GAP), y: height - stripH, width: thumbW, height: stripH, main: false });
  });
  return out;
}

function presentation(tiles: readonly LayoutInput[], width: number, height: number): TileRect[] {
  const mainIndex = tiles.findIndex((t) => t.screen === true);
  if (mainIndex < 0) return speaker(tiles, width, height);
  const main = tiles[mainIndex] as LayoutInput;
  if (tiles.length === 1) return [whole(main, width, height)];
  const others = pickVisible(
    tiles.filter((_, i) => i !== mainIndex),
    STRIP_MAX_TILES,
  );
  const colW = evenFloor(width / 6);
  const thumbH = Math.min(evenFloor((colW * 9) / 16), evenFloor((height - (others.length - 1) * LAYOUT_GAP) / others.length));
  const y0 = evenFloor((height - span(others.length, thumbH)) / 2);
  const out: TileRect[] = [{ id: main.id, x: 0, y: 0, width: width - colW - LAYOUT_GAP, height, main: true }];
  others.forEach((t, i) => {
    out.push({ id: t.id, x: width - colW, y: y0 + i * (thumbH + LAYOUT_GAP), width: colW, height: thumbH, main: false });
  });
  return out;
}

/** The first `limit` tiles; an active speaker beyond them replaces the last one shown. */
function pickVisible(tiles: readonly LayoutInput[], limit: number): readonly LayoutInput[] {
  if (tiles.length <= limit) return tiles;
  const shown = tiles.slice(0, limit);
  const s = speakerIndex(tiles);
  if (s >= limit) shown[limit - 1] = tiles[s] as LayoutInput;
  return shown;
}

function speakerIndex(tiles: readonly LayoutInput[]): number {
  return tiles.findIndex((t) => t.speaking === true);
}

function whole(t: LayoutInput, width: number, height: number): TileRect {
  return { id: t.id, x: 0, y: 0, width, height, main: true };
}

/** Length of `count` cells of `size` with gaps between them. */
function span(count: number, size: number): number {
  return count * size + (count - 1) * LAYOUT_GAP;
}

function evenFloor(n: number): number {
  return Math.floor(n / 2) * 2;
}

/** `n` rounded to the nearest even integer, within [2, max]. */
function clampEven(n: number, max: number): number {
  return Math.min(max, Math.max(2, Math.round(n / 2) * 2));
}

function isEvenSize(n: number): boolean {
  return Number.isInteger(n) && n >= MIN_CANVAS_SIZE && n % 2 === 0;
}
