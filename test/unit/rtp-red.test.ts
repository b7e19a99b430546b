/**
 * RED (RFC 2198): parsing block headers, rewriting block payload types, and fuzzing both on
 * malformed payloads (bounded, seeded). The vectors are built by hand from RFC 2198 §3's layout.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RedBlocks, parseRed, rewriteRedPayloadTypes } from '../../src/rtc/rtp/index.js';
import { xorshift32 } from '../helpers/random.js';

/** One redundant block header: F=1, PT, 14-bit timestamp offset, 10-bit length. */
function redundantHeader(pt: number, tsOffset: number, length: number): Buffer {
  const b = Buffer.alloc(4);
  b[0] = 0x80 | pt;
  b.writeUIntBE((tsOffset << 10) | length, 1, 3);
  return b;
}

/** Chromium's shape: one redundant opus frame (20 ms = 960 ticks earlier) and the primary. */
function chromiumLike(pt = 111): Buffer {
  const redundant = Buffer.from('aaaaaaaaaa', 'hex');
  const primary = Buffer.from('bbbbbbbbbbbbbb', 'hex');
  return Buffer.concat([redundantHeader(pt, 960, redundant.length), Buffer.from([pt]), redundant, primary]);
}

test('parseRed: RFC 2198 §3 layout with one redundant block', () => {
  const payload = chromiumLike();
  const out = new RedBlocks();
  assert.equal(parseRed(payload, 0, payload.length, out), true);
  assert.equal(out.count, 2);
  assert.deepEqual([out.payloadTypes[0], out.payloadTypes[1]], [111, 111]);
  assert.equal(out.timestampOffsets[0], 960);
  assert.deepEqual([out.offsets[0], out.lengths[0]], [5, 5]);
  assert.deepEqual([out.offsets[1], out.lengths[1]], [10, 7]);
  assert.equal(
    payload.subarray(out.offsets[1] as number, (out.offsets[1] as number) + (out.lengths[1] as number)).toString('hex'),
    'bbbbbbbbbbbbbb',
  );
});

test('parseRed: primary only (RED with no redundancy), inside a larger buffer', () => {
  const buf = Buffer.from([0xff, 0xff, 111, 1, 2, 3, 0xee]);
  const out = new RedBlocks();
  assert.equal(parseRed(buf, 2, 6, out), true);
  assert.equal(out.count, 1);
  assert.deepEqual([out.payloadTypes[0], out.offsets[0], out.lengths[0]], [111, 3, 3]);
});

test('parseRed: two redundant blocks of different payload types; an empty redundant block', () => {
  const payload = Buffer.concat([
    redundantHeader(13, 1920, 0),
    redundantHeader(111, 960, 2),
    Buffer.from([111]),
    Buffer.from([9, 9]),
    Buffer.from([7]),
  ]);
  const out = new RedBlocks();
  assert.equal(parseRed(payload, 0, payload.length, out), true);
  assert.equal(out.count, 3);
  assert.deepEqual([...out.payloadTypes.subarray(0, 3)], [13, 111, 111]);
  assert.deepEqual([...out.lengths.subarray(0, 3)], [0, 2, 1]);
  assert.deepEqual([...out.offsets.subarray(0, 3)], [9, 9, 11]);
});

test('parseRed: malformed payloads are refused', () => {
  const out = new RedBlocks();
  const cases: Buffer[] = [
    Buffer.alloc(0),
    Buffer.from([0x80 | 111, 0, 0]), // redundant header cut short
    Buffer.from([0x80 | 111, 0, 0, 5, 111, 1, 2]), // redundant block longer than the payload
    Buffer.from([0x80 | 111, 0, 0, 0]), // no primary header
    Buffer.concat(Array.from({ length: 20 }, () => redundantHeader(111, 0, 0))), // too many blocks
  ];
  for (const c of cases) assert.equal(parseRed(c, 0, c.length, out), false, c.toString('hex'));
  assert.equal(out.count, 0);
  const ok = chromiumLike();
  assert.equal(parseRed(ok, 0, ok.length + 1, out), false, 'range past the buffer');
});

test('rewriteRedPayloadTypes: maps the publisher opus PT to ours in every block header, nothing else', () => {
  const payload = Buffer.concat([
    redundantHeader(109, 960, 1),
    redundantHeader(13, 960, 1),
    Buffer.from([109]),
    Buffer.from([109, 109, 109]),
  ]);
  const before = Buffer.from(payload);
  assert.equal(rewriteRedPayloadTypes(payload, 0, payload.length, 109, 111), true);
  const out = new RedBlocks();
  assert.equal(parseRed(payload, 0, payload.length, out), true);
  assert.deepEqual([...out.payloadTypes.subarray(0, 3)], [111, 13, 111]);
  // Lengths, offsets and the data itself are untouched.
  assert.deepEqual([...out.lengths.subarray(0, 3)], [1, 1, 1]);
  assert.equal(payload.subarray(9).toString('hex'), before.subarray(9).toString('hex'));
  assert.equal((payload[0] as number) & 0x80, 0x80);
  assert.equal(out.timestampOffsets[0], 960);
});

test('rewriteRedPayloadTypes: a malformed payload is left exactly as it was', () => {
  const bad = Buffer.from([0x80 | 109, 0, 0, 9, 109, 1]);
  const copy = Buffer.from(bad);
  assert.equal(rewriteRedPayloadTypes(bad, 0, bad.length, 109, 111), false);
  assert.deepEqual(bad, copy);
});

test('RED fuzz: 300,000 mutated and random payloads never throw; parse and rewrite agree on validity', () => {
  const r = xorshift32(0x2198);
  const seeds = [
    chromiumLike(),
    chromiumLike(109),
    Buffer.concat([redundantHeader(13, 1920, 0), redundantHeader(111, 960, 2), Buffer.from([111, 9, 9, 7])]),
  ];
  const out = new RedBlocks();
  let valid = 0;
  for (let i = 0; i < 300_000; i++) {
    let b: Buffer;
    if (r(4) === 0) {
      b = Buffer.alloc(r(40));
      for (let j = 0; j < b.length; j++) b[j] = r(256);
    } else {
      b = Buffer.from(seeds[r(seeds.length)] as Buffer);
      const edits = 1 + r(3);
      for (let e = 0; e < edits; e++) {
        if (r(3) === 0) b = b.subarray(0, r(b.length + 1));
        else if (b.length > 0) b[r(b.length)] = r(256);
      }
    }
    const start = b.length > 0 ? r(Math.min(3, b.length)) : 0;
    const end = b.length;
    const parsed = parseRed(b, start, end, out);
    if (parsed) {
      valid++;
      let sum = 0;
      for (let k = 0; k < out.count; k++) {
        assert.ok((out.offsets[k] as number) >= start && (out.offsets[k] as number) + (out.lengths[k] as number) <= end);
        sum += out.lengths[k] as number;
      }
      assert.ok(sum <= end - start);
    }
    const before = Buffer.from(b);
    const rewritten = rewriteRedPayloadTypes(b, start, end, 111, 100);
    assert.equal(rewritten, parsed, `validity differs for ${before.toString('hex')}`);
    if (!rewritten) assert.deepEqual(b, before);
  }
  assert.ok(valid > 10_000, `enough valid inputs were exercised (${valid})`);
});
