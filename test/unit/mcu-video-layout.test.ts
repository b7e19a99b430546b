/**
 * MCU layout geometry at 1280×720: exact grid rects for 1, 2, 4 and 9 participants; for every
 * layout and count the invariants the compositor relies on (even values, inside the canvas,
 * separated by the gap); speaker and presentation roles; rooms larger than the layout; fitRect.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Rect } from '../../src/mcu/video/i420.js';
import {
  GRID_MAX_TILES,
  LAYOUT_GAP,
  STRIP_MAX_TILES,
  computeLayout,
  fitRect,
  type LayoutInput,
  type LayoutKind,
  type TileRect,
} from '../../src/mcu/video/layout.js';

const W = 1280;
const H = 720;

/** Participants a, b, c, … in join order; `speaking` and `screen` name one of them. */
function people(n: number, opts: { speaking?: string | undefined; screen?: string } = {}): LayoutInput[] {
  return Array.from({ length: n }, (_, i) => {
    const id = String.fromCharCode(97 + i);
    const t: LayoutInput = { id };
    if (opts.speaking === id) t.speaking = true;
    if (opts.screen === id) t.screen = true;
    return t;
  });
}

const tile = (id: string, x: number, y: number, width: number, height: number, main = false): TileRect => ({
  id,
  x,
  y,
  width,
  height,
  main,
});
const area = (r: Rect): number => r.width * r.height;

/** Even, non-empty, inside the canvas, and no two tiles closer than the gap. */
function assertValid(rects: TileRect[], width = W, height = H): void {
  for (const r of rects) {
    for (const v of [r.x, r.y, r.width, r.height])
      assert.ok(Number.isInteger(v) && v % 2 === 0, `${r.id}: ${v} not even (${JSON.stringify(r)})`);
    assert.ok(r.width >= 2 && r.height >= 2, `${r.id} empty`);
    assert.ok(r.x >= 0 && r.y >= 0 && r.x + r.width <= width && r.y + r.height <= height, `${r.id} outside: ${JSON.stringify(r)}`);
  }
  for (let i = 0; i < rects.length; i++) {
    for (let j = i + 1; j < rects.length; j++) {
      const a = rects[i] as TileRect;
      const b = rects[j] as TileRect;
      const apart =
        a.x + a.width + LAYOUT_GAP <= b.x ||
        b.x + b.width + LAYOUT_GAP <= a.x ||
        a.y + a.height + LAYOUT_GAP <= b.y ||
        b.y + b.height + LAYOUT_GAP <= a.y;
      assert.ok(apart, `${a.id} and ${b.id} overlap or touch: ${JSON.stringify(a)} ${JSON.stringify(b)}`);
    }
  }
  assert.equal(new Set(rects.map((r) => r.id)).size, rects.length, 'an id twice');
}

test('grid: exact rects for 1, 2, 4 and 9 participants at 1280×720', () => {
  assert.deepEqual(computeLayout('grid', people(1), W, H), [tile('a', 0, 0, 1280, 720)]);
  assert.deepEqual(computeLayout('grid', people(2), W, H), [tile('a', 0, 0, 638, 720), tile('b', 642, 0, 638, 720)]);
  assert.deepEqual(computeLayout('grid', people(4), W, H), [
    tile('a', 0, 0, 638, 358),
    tile('b', 642, 0, 638, 358),
    tile('c', 0, 362, 638, 358),
    tile('d', 642, 362, 638, 358),
  ]);
  // (720 − 2 gaps) / 3 = 237.3 → 236; the 716 px block is centred (2 px above and below).
  assert.deepEqual(computeLayout('grid', people(9), W, H), [
    tile('a', 0, 2, 424, 236),
    tile('b', 428, 2, 424, 236),
    tile('c', 856, 2, 424, 236),
    tile('d', 0, 242, 424, 236),
    tile('e', 428, 242, 424, 236),
    tile('f', 856, 242, 424, 236),
    tile('g', 0, 482, 424, 236),
    tile('h', 428, 482, 424, 236),
    tile('i', 856, 482, 424, 236),
  ]);
});

test('grid: 1..9 participants — count, join order, even, inside, apart, equal cells, partial rows centred', () => {
  for (let n = 1; n <= 9; n++) {
    const rects = computeLayout('grid', people(n), W, H);
    assert.equal(rects.length, n, `n=${n}`);
    assert.deepEqual(
      rects.map((r) => r.id),
      people(n).map((p) => p.id),
    );
    assertValid(rects);
    assert.ok(
      rects.every((r) => !r.main),
      `n=${n}: main in grid`,
    );
    const first = rects[0] as TileRect;
    for (const r of rects) assert.deepEqual([r.width, r.height], [first.width, first.height], `n=${n}: unequal cells`);
    const cols = n === 1 ? 1 : n <= 4 ? 2 : 3;
    assert.equal(first.width, Math.floor((W - (cols - 1) * LAYOUT_GAP) / cols / 2) * 2, `n=${n}: ${cols} columns`);
    // Every row, full or not, has as much background on its left as on its right (±1 px of rounding each).
    const rows = new Map<number, TileRect[]>();
    for (const r of rects) rows.set(r.y, [...(rows.get(r.y) ?? []), r]);
    for (const row of rows.values()) {
      const left = Math.min(...row.map((r) => r.x));
      const right = W - Math.max(...row.map((r) => r.x + r.width));
      assert.ok(Math.abs(left - right) <= 2, `n=${n}: row at y=${row[0]?.y} off centre (${left} / ${right})`);
    }
    const top = Math.min(...rects.map((r) => r.y));
    const bottom = H - Math.max(...rects.map((r) => r.y + r.height));
    assert.ok(Math.abs(top - bottom) <= 2, `n=${n}: rows off centre (${top} / ${bottom})`);
  }
  // 3: two on top, the third centred below.
  const three = computeLayout('grid', people(3), W, H);
  assert.deepEqual(three[2], tile('c', 320, 362, 638, 358));
});

test('grid with more than nine: the first nine, the active speaker taking the ninth place', () => {
  const plain = computeLayout('grid', people(12), W, H);
  assert.deepEqual(
    plain.map((r) => r.id),
    ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'],
  );
  assert.deepEqual(plain, computeLayout('grid', people(9), W, H));

  const late = computeLayout('grid', people(12, { speaking: 'l' }), W, H);
  assert.equal(late.length, GRID_MAX_TILES);
  assert.deepEqual(
    late.map((r) => r.id),
    ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'l'],
  );
  assertValid(late);
  // The first eight do not move when the speaker is swapped in.
  assert.deepEqual(late.slice(0, 8), plain.slice(0, 8));

  const early = computeLayout('grid', people(12, { speaking: 'c' }), W, H);
  assert.deepEqual(
    early.map((r) => r.id),
    ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'],
  );
});

test('speaker: the active speaker large above a strip of equal thumbnails; it follows the speaker', () => {
  for (let n = 2; n <= 7; n++) {
    const rects = computeLayout('speaker', people(n, { speaking: 'c' }), W, H);
    assertValid(rects);
    assert.equal(rects.length, n);
    const [main, ...thumbs] = rects as [TileRect, ...TileRect[]];
    assert.equal(main.main, true);
    assert.equal(main.id, n >= 3 ? 'c' : 'a', `n=${n}`);
    assert.deepEqual(
      thumbs.map((t) => t.id),
      people(n)
        .map((p) => p.id)
        .filter((id) => id !== main.id),
    );
    for (const t of thumbs) {
      assert.equal(t.main, false);
      assert.ok(area(t) * 4 < area(main), `n=${n}: thumbnail ${t.id} too large`);
      assert.ok(t.y >= main.y + main.height + LAYOUT_GAP, `n=${n}: ${t.id} not below the main tile`);
      assert.equal(t.y + t.height, H, `n=${n}: strip not at the bottom`);
      assert.deepEqual([t.width, t.height], [thumbs[0]?.width, thumbs[0]?.height], `n=${n}: unequal thumbnails`);
      assert.ok(Math.abs(t.height - H / 5) <= 2, `n=${n}: thumbnail height ${t.height}`);
    }
  }
  assert.deepEqual(computeLayout('speaker', people(3, { speaking: 'c' }), W, H), [
    tile('c', 0, 0, 1280, 572, true),
    tile('a', 382, 576, 256, 144),
    tile('b', 642, 576, 256, 144),
  ]);
  // Another speaks: the main tile changes hands, the previous speaker joins the strip in join order.
  const next = computeLayout('speaker', people(4, { speaking: 'b' }), W, H);
  assert.deepEqual(
    next.map((r) => [r.id, r.main]),
    [
      ['b', true],
      ['a', false],
      ['c', false],
      ['d', false],
    ],
  );
  // Nobody speaking: the first participant.
  assert.equal(computeLayout('speaker', people(4), W, H)[0]?.id, 'a');
  // Alone: the whole canvas, like grid.
  assert.deepEqual(computeLayout('speaker', people(1), W, H), [tile('a', 0, 0, W, H, true)]);
});

test('speaker: a large room shows six thumbnails, including the last to join when it speaks', () => {
  const rects = computeLayout('speaker', people(12, { speaking: 'f' }), W, H);
  assertValid(rects);
  assert.deepEqual(
    rects.map((r) => r.id),
    ['f', 'a', 'b', 'c', 'd', 'e', 'g'],
  );
  assert.equal(rects.length, 1 + STRIP_MAX_TILES);
  // Nobody speaking: the first is main, the next six in the strip.
  assert.deepEqual(
    computeLayout('speaker', people(12), W, H).map((r) => r.id),
    ['a', 'b', 'c', 'd', 'e', 'f', 'g'],
  );
});

test('presentation: the screen sharer large, the others in a column on the right; without a share, speaker layout', () => {
  for (let n = 2; n <= 9; n++) {
    const input = people(n, { screen: 'b', speaking: n > 2 ? 'c' : undefined });
    const rects = computeLayout('presentation', input, W, H);
    assertValid(rects);
    const [main, ...thumbs] = rects as [TileRect, ...TileRect[]];
    assert.deepEqual([main.id, main.main], ['b', true], `n=${n}`);
    assert.equal(thumbs.length, Math.min(n - 1, STRIP_MAX_TILES));
    for (const t of thumbs) {
      assert.equal(t.main, false);
      assert.ok(t.x >= main.x + main.width + LAYOUT_GAP, `n=${n}: ${t.id} not right of the screen`);
      assert.equal(t.x + t.width, W);
      assert.deepEqual([t.width, t.height], [thumbs[0]?.width, thumbs[0]?.height]);
    }
    // The shared screen gets more of the canvas than the speaker's tile in speaker layout.
    const spk = computeLayout('speaker', input, W, H)[0] as TileRect;
    assert.ok(area(main) > area(spk), `n=${n}: screen ${area(main)} ≤ speaker ${area(spk)}`);
    // And a 16:9 screen is shown larger than the speaker's 16:9 camera would be.
    assert.ok(area(fitRect(1920, 1080, main)) > area(fitRect(1920, 1080, spk)), `n=${n}`);
  }
  // Overflowing column: the active speaker is kept.
  const big = computeLayout('presentation', people(12, { screen: 'a', speaking: 'k' }), W, H);
  assert.deepEqual(
    big.map((r) => r.id),
    ['a', 'b', 'c', 'd', 'e', 'f', 'k'],
  );

  for (const n of [1, 3, 8]) {
    const input = people(n, { speaking: 'b' });
    assert.deepEqual(computeLayout('presentation', input, W, H), computeLayout('speaker', input, W, H));
  }
  assert.deepEqual(computeLayout('presentation', people(1, { screen: 'a' }), W, H), [tile('a', 0, 0, W, H, true)]);
  // Two sharers: the first one.
  const two = people(3);
  two[1]!.screen = true;
  two[2]!.screen = true;
  assert.equal(computeLayout('presentation', two, W, H)[0]?.id, 'b');
});

test('every layout holds its invariants at other canvas sizes; bad canvases are refused', () => {
  const kinds: LayoutKind[] = ['grid', 'speaker', 'presentation'];
  for (const [w, h] of [
    [640, 360],
    [1920, 1080],
    [854, 480],
    [64, 64],
    [720, 1280],
  ] as const) {
    for (const kind of kinds) {
      for (let n = 0; n <= 11; n++) {
        const rects = computeLayout(kind, people(n, { speaking: 'e', screen: 'c' }), w, h);
        assertValid(rects, w, h);
        assert.equal(rects.length, Math.min(n, kind === 'grid' ? GRID_MAX_TILES : 1 + STRIP_MAX_TILES), `${kind} ${n} at ${w}x${h}`);
      }
    }
  }
  assert.throws(() => computeLayout('grid', people(2), 1279, 720), RangeError);
  assert.throws(() => computeLayout('grid', people(2), 32, 32), RangeError);
});

test('fitRect: letterbox, pillarbox, odd sizes, unknown size', () => {
  // 16:9 in a 4:3 tile: full width, bars above and below.
  assert.deepEqual(fitRect(1280, 720, { x: 100, y: 50, width: 640, height: 480 }), { x: 100, y: 110, width: 640, height: 360 });
  // 4:3 in a 16:9 tile: full height, bars left and right.
  assert.deepEqual(fitRect(640, 480, { x: 0, y: 0, width: 1280, height: 720 }), { x: 160, y: 0, width: 960, height: 720 });
  // Same aspect: the tile.
  assert.deepEqual(fitRect(1276, 716, { x: 642, y: 362, width: 638, height: 358 }), { x: 642, y: 362, width: 638, height: 358 });
  // Odd source: 200 × 57/101 = 112.9 → 112; (200 − 112) / 2 = 44 above.
  assert.deepEqual(fitRect(101, 57, { x: 10, y: 20, width: 200, height: 200 }), { x: 10, y: 64, width: 200, height: 112 });
  // Odd tile: the rect stays inside it and even.
  const odd = fitRect(641, 479, { x: 2, y: 4, width: 333, height: 251 });
  for (const v of [odd.x, odd.y, odd.width, odd.height]) assert.equal(v % 2, 0, JSON.stringify(odd));
  assert.ok(odd.x >= 2 && odd.y >= 4 && odd.x + odd.width <= 335 && odd.y + odd.height <= 255, JSON.stringify(odd));
  assert.ok(Math.abs(odd.width / odd.height - 641 / 479) < 0.02, JSON.stringify(odd));
  // Extreme aspect: never below 2×2.
  assert.deepEqual(fitRect(10000, 1, { x: 0, y: 0, width: 100, height: 100 }), { x: 0, y: 48, width: 100, height: 2 });
  // Nothing decoded yet.
  assert.deepEqual(fitRect(0, 0, { x: 4, y: 6, width: 8, height: 10 }), { x: 4, y: 6, width: 8, height: 10 });
});
