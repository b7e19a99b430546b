/** RFC 4571 framing for ICE-TCP: random splits and coalescing, oversize frames, fuzz. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rfc4571Framer, frameRfc4571 } from '../../src/rtc/port/rfc4571-framer.js';
import { mulberry32 } from '../helpers/random.js';

const rng = mulberry32;

function randomFrames(rand: () => number, count: number): Buffer[] {
  const sizes = [1, 2, 3, 20, 100, 1200, 1500, 9000, 65535];
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const size = sizes[Math.floor(rand() * sizes.length)] as number;
    const f = Buffer.allocUnsafe(size);
    for (let j = 0; j < size; j += 997) f[j] = Math.floor(rand() * 256);
    f.writeUInt8(i & 0xff, 0);
    frames.push(f);
  }
  return frames;
}

test('frames split at random points and coalesced arrive intact and in order', () => {
  const rand = rng(1);
  for (let round = 0; round < 50; round++) {
    const frames = randomFrames(rand, 30);
    const stream = Buffer.concat(frames.map((f) => frameRfc4571(f) as Buffer));
    const framer = new Rfc4571Framer();
    const got: Buffer[] = [];
    let off = 0;
    while (off < stream.length) {
      // Cuts anywhere: inside a length prefix, one byte at a time, or many frames at once.
      const n = rand() < 0.2 ? 1 : 1 + Math.floor(rand() * 70000);
      assert.equal(
        framer.push(stream.subarray(off, off + n), (f) => {
          got.push(Buffer.from(f));
          return true;
        }),
        true,
      );
      off += n;
    }
    assert.equal(got.length, frames.length, `round ${round}`);
    got.forEach((g, i) => assert.ok(g.equals(frames[i] as Buffer), `round ${round} frame ${i}`));
    assert.equal(framer.pendingBytes, 0);
  }
});

test('over-size frames and a refusing receiver end the stream; zero-length frames are skipped', () => {
  const small = new Rfc4571Framer(1500);
  assert.equal(
    small.push(Buffer.from([0x05, 0xdd]), () => true),
    false,
    '1501 > 1500',
  );
  const edge = new Rfc4571Framer(1500);
  assert.equal(
    edge.push(Buffer.from([0x05]), () => true),
    true,
  );
  assert.equal(
    edge.push(Buffer.from([0xdc]), () => true),
    true,
    'exactly 1500 is fine',
  );
  const refusing = new Rfc4571Framer();
  assert.equal(
    refusing.push(Buffer.from([0, 1, 9, 0, 1, 9]), () => false),
    false,
  );
  const got: Buffer[] = [];
  assert.equal(
    new Rfc4571Framer().push(Buffer.from([0, 0, 0, 0, 0, 2, 7, 8]), (f) => {
      got.push(f);
      return true;
    }),
    true,
  );
  assert.deepEqual(got, [Buffer.from([7, 8])]);
  assert.equal(frameRfc4571(Buffer.alloc(65536)), null, 'cannot frame more than 65535 bytes');
});

test('fuzz: 100,000 random chunks never throw and never yield a frame longer than its length prefix allows', () => {
  const rand = rng(7);
  let framer = new Rfc4571Framer(4096);
  let frames = 0;
  let ends = 0;
  for (let i = 0; i < 100_000; i++) {
    const len = Math.floor(rand() * 64);
    const chunk = Buffer.allocUnsafe(len);
    for (let j = 0; j < len; j++) chunk[j] = rand() < 0.3 ? 0 : Math.floor(rand() * 256);
    const ok = framer.push(chunk, (f) => {
      assert.ok(f.length > 0 && f.length <= 4096);
      frames++;
      return rand() < 0.95;
    });
    if (!ok) {
      ends++;
      framer = new Rfc4571Framer(4096);
    }
    assert.ok(framer.pendingBytes <= 4096);
  }
  assert.ok(frames > 0 && ends > 0, `frames ${frames}, ends ${ends}`);
});
