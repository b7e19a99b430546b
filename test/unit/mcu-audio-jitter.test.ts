/**
 * The MCU's audio jitter buffer on synthetic Opus RTP streams: each packet's payload carries
 * its frame number, so the play-out order can be read back. One pop is one 20 ms mixing tick.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { AudioJitterBuffer, JITTER_SLOTS, MAX_AUDIO_PAYLOAD } from '../../src/mcu/audio/AudioJitterBuffer.js';
import { RTP_TICKS_PER_FRAME } from '../../src/mcu/audio/format.js';
import { xorshift32 } from '../helpers/random.js';

// A full collection before each heap reading, so the fuzz test sees retained memory, not garbage.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** A stream starting at `seq0`/`ts0`: packet k has seq0 + k, ts0 + 960 k and names frame k. */
class Sender {
  /** Reused for every packet, as a receive loop would: the buffer must copy. */
  private readonly scratch = new Uint8Array(8);
  constructor(
    readonly jb: AudioJitterBuffer,
    readonly seq0 = 1000,
    readonly ts0 = 123_456,
  ) {}

  send(...frames: number[]): void {
    for (const k of frames) {
      new DataView(this.scratch.buffer).setUint32(0, k);
      this.scratch[4] = 0xaa;
      this.jb.push((this.seq0 + k) & 0xffff, (this.ts0 + k * RTP_TICKS_PER_FRAME) >>> 0, this.scratch.subarray(0, 5));
      this.scratch.fill(0xff); // the caller's buffer is reused
    }
  }
}

/** `ticks` pops as strings: 'f<k>' for frame k, 'lost', 'silent'. */
function play(jb: AudioJitterBuffer, ticks: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < ticks; i++) {
    const f = jb.pop();
    if (f.kind === 'frame') {
      assert.equal(f.payload.length, 5);
      assert.equal(f.payload[4], 0xaa);
      out.push(`f${new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(0)}`);
    } else {
      out.push(f.kind);
    }
  }
  return out;
}

/** One push per tick, then one pop, for frames `from`..`to`. */
function steady(s: Sender, from: number, to: number): string[] {
  const out: string[] = [];
  for (let k = from; k <= to; k++) {
    s.send(k);
    out.push(...play(s.jb, 1));
  }
  return out;
}

test('jitter: silent until the target depth, then in-order play-out one tick behind', () => {
  const jb = new AudioJitterBuffer({ targetDepth: 3 });
  const s = new Sender(jb);
  assert.deepEqual(play(jb, 2), ['silent', 'silent'], 'nothing pushed yet');
  assert.deepEqual(steady(s, 0, 6), ['silent', 'silent', 'f0', 'f1', 'f2', 'f3', 'f4']);
  assert.equal(jb.depth, 2);
  assert.deepEqual(play(jb, 2), ['f5', 'f6']);
  assert.equal(jb.framesPlayed, 7);
  assert.equal(jb.framesConcealed, 0);
});

test('jitter: reordered packets are played in timestamp order', () => {
  const jb = new AudioJitterBuffer();
  const s = new Sender(jb);
  s.send(1, 3, 2, 4);
  assert.deepEqual(play(jb, 4), ['f1', 'f2', 'f3', 'f4']);
  // Reordered while playing, and ahead of the very first packet while buffering.
  const jb2 = new AudioJitterBuffer({ targetDepth: 3 });
  const s2 = new Sender(jb2);
  s2.send(1, 0);
  assert.deepEqual(play(jb2, 1), ['silent']);
  s2.send(2);
  assert.deepEqual(play(jb2, 1), ['f0']);
  s2.send(4, 3);
  assert.deepEqual(play(jb2, 4), ['f1', 'f2', 'f3', 'f4']);
  assert.equal(jb2.latePackets, 0);
});

test('jitter: a missing packet is reported lost (for concealment), then play-out continues', () => {
  const jb = new AudioJitterBuffer();
  const s = new Sender(jb);
  s.send(0, 1, 2, 4, 5);
  assert.deepEqual(play(jb, 5), ['f0', 'f1', 'f2', 'lost', 'f4']);
  assert.equal(jb.framesConcealed, 1);
  s.send(3); // too late now
  assert.equal(jb.latePackets, 1);
  assert.deepEqual(play(jb, 1), ['f5']);
});

test('jitter: duplicates and late packets are counted and not played', () => {
  const jb = new AudioJitterBuffer();
  const s = new Sender(jb);
  s.send(0, 1, 1, 2);
  assert.equal(jb.duplicatePackets, 1, 'a duplicate of a buffered frame');
  assert.deepEqual(play(jb, 2), ['f0', 'f1']);
  s.send(0);
  assert.equal(jb.duplicatePackets, 2, 'a duplicate of a played frame');
  assert.deepEqual(play(jb, 2), ['f2', 'lost']); // frame 3 not here in time
  s.send(3);
  assert.equal(jb.latePackets, 1);
  s.send(4);
  assert.deepEqual(play(jb, 2), ['f4', 'lost']);
  assert.equal(jb.framesPlayed, 4);
});

test('jitter: a long gap is concealed for maxConcealed ticks, then silent, then buffered again', () => {
  const jb = new AudioJitterBuffer({ targetDepth: 2, maxConcealed: 5 });
  const s = new Sender(jb);
  assert.deepEqual(steady(s, 0, 4), ['silent', 'f0', 'f1', 'f2', 'f3']);
  assert.deepEqual(play(jb, 1), ['f4'], 'the buffered frame');
  assert.deepEqual(play(jb, 8), ['lost', 'lost', 'lost', 'lost', 'lost', 'silent', 'silent', 'silent']);
  assert.equal(jb.framesConcealed, 5);
  // The sender resumes (a paused track, DTX) 30 frames later: re-buffer to the target depth.
  assert.deepEqual(steady(s, 35, 38), ['silent', 'f35', 'f36', 'f37']);
  assert.equal(jb.resets, 0, 'within maxJump: not a reset');
  // A packet from inside the gap is late, even though the buffer went idle in between.
  s.send(12);
  assert.equal(jb.latePackets, 1);
  // A short gap (shorter than maxConcealed) is concealed and the late-arriving frames resume it.
  s.send(39);
  assert.deepEqual(play(jb, 4), ['f38', 'f39', 'lost', 'lost']);
  s.send(42, 43);
  assert.deepEqual(play(jb, 2), ['f42', 'f43']);
});

test('jitter: sequence numbers wrap 65535 → 0 and timestamps wrap 2^32 → 0 (RFC 3550)', () => {
  const jb = new AudioJitterBuffer();
  // Frames 3 and 4 cross both wraps: seq 65535 → 0, and ts 2^32 − 943 → 17 (the start is not a multiple of 960).
  const s = new Sender(jb, 65_532, 2 ** 32 - 3 * RTP_TICKS_PER_FRAME + 17);
  const out = steady(s, 0, 9);
  s.send(11, 10); // reordered after the wrap
  out.push(...play(jb, 3));
  assert.deepEqual(out, ['silent', 'f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8', 'f9', 'f10', 'f11']);
  assert.equal(jb.resets + jb.latePackets + jb.framesConcealed, 0);
  // Reordered across the wrap itself.
  const jb2 = new AudioJitterBuffer({ targetDepth: 3 });
  const s2 = new Sender(jb2, 65_534, 2 ** 32 - 2 * RTP_TICKS_PER_FRAME);
  s2.send(0, 2, 1, 3);
  assert.deepEqual(play(jb2, 4), ['f0', 'f1', 'f2', 'f3']);
});

test('jitter: packets of 40 ms (timestamp step 1920) take one slot each; the skipped slots read lost', () => {
  const jb = new AudioJitterBuffer();
  for (let k = 0; k < 4; k++) jb.push(500 + k, 90_000 + k * 2 * RTP_TICKS_PER_FRAME, new Uint8Array([0, 0, 0, k, 0xaa]));
  assert.deepEqual(play(jb, 8), ['f0', 'lost', 'f1', 'lost', 'f2', 'lost', 'f3', 'lost']);
  assert.equal(jb.resets, 0);
});

test('jitter: a sender with a fast clock overflows maxDepth; the oldest frames are dropped back to the target', () => {
  const jb = new AudioJitterBuffer({ targetDepth: 2, maxDepth: 6 });
  const s = new Sender(jb);
  const out: string[] = [];
  let k = 0;
  for (let tick = 0; tick < 40; tick++) {
    const drops = jb.overflowDrops;
    s.send(k++);
    if (tick % 4 === 3) s.send(k++); // 25 % more frames than ticks
    if (jb.overflowDrops > drops) assert.equal(jb.depth, 2, 'dropped back to the target depth');
    out.push(...play(jb, 1));
    assert.ok(jb.depth <= 6, `depth ${jb.depth} at tick ${tick}`);
  }
  assert.ok(jb.overflowDrops > 0);
  assert.equal(jb.framesPlayed + jb.overflowDrops + jb.depth, k, 'every frame played, dropped or still buffered');
  const played = out.filter((x) => x.startsWith('f')).map((x) => Number(x.slice(1)));
  assert.deepEqual(
    played,
    [...played].sort((a, b) => a - b),
    'still in order',
  );
  assert.ok(!out.includes('lost'));
});

test('jitter: a huge jump (sender restarted) resets the buffer once a second packet confirms it', () => {
  const jb = new AudioJitterBuffer();
  const s = new Sender(jb);
  assert.deepEqual(steady(s, 0, 5), ['silent', 'f0', 'f1', 'f2', 'f3', 'f4']);
  // One stray packet far away (a bogus or very old packet) does not reset.
  jb.push(30_000, 999, new Uint8Array(5));
  jb.push(30_001, 999 + 500 * RTP_TICKS_PER_FRAME, new Uint8Array(5)); // next in sequence, but 10 s later: no confirmation
  s.send(6);
  assert.deepEqual(play(jb, 2), ['f5', 'f6']);
  assert.equal(jb.resets, 0);
  // A restarted sender: new sequence numbers and timestamps, in sequence.
  const restarted = new Sender(jb, 40_000, 3_000_000_000);
  restarted.send(100);
  assert.equal(jb.resets, 0, 'on probation');
  restarted.send(101);
  assert.equal(jb.resets, 1);
  assert.equal(jb.strayPackets, 2);
  assert.deepEqual(play(jb, 2), ['f100', 'f101']);
  // A jump in timestamp alone (> 1 s) also resets; so does one in sequence number alone.
  const tsJump = new Sender(jb, 40_102 - 200, 3_000_000_000 + 200 * RTP_TICKS_PER_FRAME);
  tsJump.send(200, 201);
  assert.equal(jb.resets, 2);
  assert.deepEqual(play(jb, 2), ['f200', 'f201']);
  const seqJump = new Sender(jb, 50_000 - 202, 3_000_000_000 + 200 * RTP_TICKS_PER_FRAME);
  seqJump.send(202, 203);
  assert.equal(jb.resets, 3);
  assert.deepEqual(play(jb, 2), ['f202', 'f203']);
});

test('jitter: 100,000 random pushes and pops never throw, stay within maxDepth and keep memory flat', () => {
  const rand = xorshift32(0x5eed_a0d1);
  const jb = new AudioJitterBuffer();
  const payload = new Uint8Array(MAX_AUDIO_PAYLOAD + 100);
  let seq = 7;
  let ts = 2 ** 32 - 5000;
  let heapAfterWarmup = 0;
  const kinds = { frame: 0, lost: 0, silent: 0 };
  const result = jb.pop();
  for (let i = 0; i < 100_000; i++) {
    if (i === 20_000) {
      gc();
      heapAfterWarmup = process.memoryUsage().heapUsed;
    }
    const r = rand(100);
    if (r < 50) {
      // Mostly the next packet, sometimes reordered, duplicated, lost or from far away.
      const step = r < 35 ? 1 : r < 40 ? 0 : r < 45 ? -(1 + rand(5)) : r < 48 ? 2 + rand(10) : rand(70_000);
      seq = (seq + step) & 0xffff;
      ts = (ts + step * RTP_TICKS_PER_FRAME + (r === 49 ? rand(2 ** 31) : 0)) >>> 0;
      const length = rand(100) === 0 ? payload.length : rand(200);
      jb.push(seq, ts, payload.subarray(0, length));
    } else {
      const f = jb.pop();
      assert.equal(f, result, 'one result object, reused');
      kinds[f.kind]++;
      if (f.kind === 'frame') assert.ok(f.payload.length <= MAX_AUDIO_PAYLOAD);
    }
    assert.ok(jb.depth <= jb.options.maxDepth);
  }
  gc();
  const growth = process.memoryUsage().heapUsed - heapAfterWarmup;
  assert.ok(growth < 1024 * 1024, `heap grew ${growth} bytes`);
  assert.ok(kinds.frame > 10_000 && kinds.lost > 0 && kinds.silent > 0, JSON.stringify(kinds));
  assert.ok(jb.latePackets > 0 && jb.duplicatePackets > 0 && jb.resets > 0 && jb.strayPackets > 0);
  assert.equal(JITTER_SLOTS, 64);
});
