/**
 * The MCU's audio mixing on synthetic PCM: N−1 sums per listener, the level normaliser that
 * brings a loud mix into Int16 without clipping and recovers afterwards, and frame levels in dBov.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FRAME_SAMPLES, FULL_SCALE, SAMPLE_RATE } from '../../src/mcu/audio/format.js';
import { frameLevelDbov } from '../../src/mcu/audio/frame-level.js';
import { LevelNormaliser } from '../../src/mcu/audio/LevelNormaliser.js';
import { MinusOneMix, NO_INPUT } from '../../src/mcu/audio/MinusOneMix.js';

const CEILING = Math.floor(0.9 * FULL_SCALE);

function constant(value: number): Int16Array {
  return new Int16Array(FRAME_SAMPLES).fill(value);
}

/** Frame `frame` of a continuous sine (phase carried across frames). */
function sine(freq: number, amplitude: number, frame: number, phase = 0): Int16Array {
  const out = new Int16Array(FRAME_SAMPLES);
  for (let i = 0; i < FRAME_SAMPLES; i++) {
    out[i] = Math.round(amplitude * Math.sin(phase + (2 * Math.PI * freq * (frame * FRAME_SAMPLES + i)) / SAMPLE_RATE));
  }
  return out;
}

function sumOf(frames: Int16Array[]): number[] {
  const out = new Array<number>(FRAME_SAMPLES).fill(0);
  for (const f of frames) for (let i = 0; i < FRAME_SAMPLES; i++) out[i] = (out[i] as number) + (f[i] as number);
  return out;
}

test('mix: each listener hears exactly the sum of the others (constants and sines, no limiting needed)', () => {
  const mix = new MinusOneMix(4);
  const norms = [new LevelNormaliser(), new LevelNormaliser(), new LevelNormaliser(), new LevelNormaliser()];
  const out = new Int16Array(FRAME_SAMPLES);
  // Constants.
  const inputs = [constant(1000), constant(-2000), constant(3000)];
  inputs.forEach((pcm, slot) => mix.setFrame(slot, pcm));
  const expected = [1000, 4000, -1000];
  for (let slot = 0; slot < 3; slot++) {
    mix.mixExcluding(slot, out, norms[slot] as LevelNormaliser);
    assert.deepEqual([...out], new Array(FRAME_SAMPLES).fill(expected[slot]), `listener ${slot}`);
  }
  mix.mixExcluding(NO_INPUT, out, norms[3] as LevelNormaliser);
  assert.deepEqual([...out], new Array(FRAME_SAMPLES).fill(2000), 'a pure listener hears everyone');
  // Sines over several frames, with one decoder output buffer reused for every input.
  const decoded = new Int16Array(FRAME_SAMPLES);
  for (let frame = 0; frame < 5; frame++) {
    mix.clear();
    const sines = [sine(300, 8000, frame), sine(440, 9000, frame, 1), sine(1000, 7000, frame, 2)];
    sines.forEach((pcm, slot) => {
      decoded.set(pcm);
      mix.setFrame(slot, decoded);
      decoded.fill(12_345); // the decoder overwrites it for the next input
    });
    for (let slot = 0; slot < 3; slot++) {
      mix.mixExcluding(slot, out, norms[slot] as LevelNormaliser);
      assert.deepEqual([...out], sumOf(sines.filter((_, i) => i !== slot)), `listener ${slot}, frame ${frame}`);
    }
    mix.mixExcluding(NO_INPUT, out, norms[3] as LevelNormaliser);
    assert.deepEqual([...out], sumOf(sines), `pure listener, frame ${frame}`);
  }
  assert.deepEqual(
    norms.map((n) => [n.gain, n.clamps, n.limitedFrames]),
    norms.map(() => [1, 0, 0]),
  );
});

test('mix: a listener never hears itself; inputs without a frame this tick are left out', () => {
  const mix = new MinusOneMix(2); // grows past its pre-size
  const out = new Int16Array(FRAME_SAMPLES);
  const n = new LevelNormaliser();
  mix.setFrame(0, null);
  mix.setFrame(1, sine(440, 20_000, 0));
  mix.setFrame(5, null);
  mix.mixExcluding(1, out, n);
  assert.ok(
    out.every((s) => s === 0),
    'only its own input is non-zero: it hears silence',
  );
  mix.mixExcluding(0, out, n);
  assert.deepEqual([...out], [...sine(440, 20_000, 0)]);
  // Setting a slot again in the same tick replaces its frame in the total.
  mix.setFrame(1, constant(7));
  mix.setFrame(6, constant(5));
  mix.mixExcluding(0, out, n);
  assert.ok(out.every((s) => s === 12));
  mix.setFrame(6, null);
  assert.equal(mix.activeInputs, 1);
  mix.mixExcluding(NO_INPUT, out, n);
  assert.ok(out.every((s) => s === 7));
  mix.clear();
  assert.equal(mix.activeInputs, 0);
  mix.mixExcluding(NO_INPUT, out, n);
  assert.ok(out.every((s) => s === 0));
  assert.throws(() => mix.setFrame(0, new Int16Array(480)), RangeError);
  assert.throws(() => mix.setFrame(-1, constant(1)), RangeError);
});

test('mix: 4 full-scale in-phase sines are scaled under the ceiling, never clipped or wrapped, and the gain recovers', () => {
  const mix = new MinusOneMix();
  const n = new LevelNormaliser();
  const out = new Int16Array(FRAME_SAMPLES);
  const gains: number[] = [];
  // 200 ms quiet, 1 s loud, 2 s quiet again.
  for (let frame = 0; frame < 160; frame++) {
    const loud = frame >= 10 && frame < 60;
    const amplitude = loud ? FULL_SCALE : 1500;
    mix.clear();
    const inputs = [0, 1, 2, 3].map(() => sine(440, amplitude, frame));
    inputs.forEach((pcm, slot) => mix.setFrame(slot, pcm));
    mix.mixExcluding(NO_INPUT, out, n);
    gains.push(n.gain);
    const wide = sumOf(inputs);
    let peak = 0;
    for (let i = 0; i < FRAME_SAMPLES; i++) {
      const o = out[i] as number;
      const w = wide[i] as number;
      assert.ok(o >= -FULL_SCALE && o <= FULL_SCALE, `frame ${frame} sample ${i}: ${o}`);
      assert.ok(o === 0 || Math.sign(o) === Math.sign(w), `frame ${frame} sample ${i}: ${o} from ${w}: wrapped`);
      assert.ok(Math.abs(o) <= Math.abs(w), 'never boosted');
      peak = Math.max(peak, Math.abs(o));
    }
    assert.ok(peak <= CEILING, `frame ${frame}: peak ${peak} over the ceiling ${CEILING} (also in the attack frame)`);
    if (frame === 10) {
      // The attack: the gain falls within the frame (monotonically) rather than jumping at its start.
      const ratios: number[] = [];
      for (let i = 0; i < FRAME_SAMPLES; i++)
        if (Math.abs(wide[i] as number) > 20_000) ratios.push((out[i] as number) / (wide[i] as number));
      for (let k = 1; k < ratios.length; k++)
        assert.ok((ratios[k] as number) <= (ratios[k - 1] as number) + 1e-3, `gain rose inside the attack at ${k}`);
      assert.ok((ratios[0] as number) > (ratios.at(-1) as number) + 0.1, 'the attack is spread over the frame');
    }
    if (loud && frame > 10) assert.ok(peak >= CEILING - 100, `frame ${frame}: the loud part stays near the ceiling (${peak})`);
    if (frame >= 150) assert.deepEqual([...out], wide, `frame ${frame}: recovered to unity gain, output exact again`);
  }
  assert.equal(n.clamps, 0);
  const limited = gains[59] as number;
  assert.ok(Math.abs(limited - CEILING / (4 * FULL_SCALE)) < 0.01, `gain while loud ${limited}`);
  // Release: about +6 dB in 500 ms (25 frames), back at 1 after 20·log10(1/0.225) ≈ 13 dB ≈ 1.1 s.
  const after500ms = gains[59 + 25] as number;
  assert.ok(Math.abs(after500ms / limited - 2) < 0.05, `release over 500 ms: × ${after500ms / limited}`);
  for (let f = 61; f < 160; f++) assert.ok((gains[f] as number) >= (gains[f - 1] as number), 'the gain only rises while quiet');
  assert.equal(gains[120], 1);
});

test('mix: a loud onset in the middle of a frame stays under the ceiling; the gain ramps down from the frame start', () => {
  const n = new LevelNormaliser();
  const wide = new Int32Array(FRAME_SAMPLES).fill(1000);
  for (let i = 500; i < FRAME_SAMPLES; i++) wide[i] = i % 2 === 0 ? 120_000 : -120_000;
  wide[501] = 0;
  const out = new Int16Array(FRAME_SAMPLES);
  n.process(wide, out);
  for (let i = 0; i < FRAME_SAMPLES; i++)
    assert.ok(Math.abs(out[i] as number) <= CEILING && Math.sign(out[i] as number) === Math.sign(wide[i] as number));
  assert.equal(out[500], CEILING);
  // Linear from the previous gain (1) toward the new one (0.9 · 32767 / 120000) across the frame: no step at the start.
  assert.equal(out[0], 999);
  for (let i = 1; i < 500; i++) assert.ok((out[i] as number) <= (out[i - 1] as number), `quiet part at ${i}`);
  assert.ok(Math.abs((out[100] as number) - 1000 * (1 - ((1 - CEILING / 120_000) * 101) / FRAME_SAMPLES)) <= 1, `${out[100]}`);
  assert.equal(n.clamps, 0);
});

test('frame level: dBov of silence, a full-scale sine and a half-scale square wave', () => {
  assert.equal(frameLevelDbov(new Int16Array(FRAME_SAMPLES)), -127);
  assert.equal(frameLevelDbov(new Int16Array(0)), -127);
  const fullSine = sine(1000, FULL_SCALE, 0); // 20 whole periods in a frame
  assert.ok(Math.abs(frameLevelDbov(fullSine) - -3.01) < 0.01, `${frameLevelDbov(fullSine)}`);
  const halfSquare = new Int16Array(FRAME_SAMPLES).map((_, i) => (i % 48 < 24 ? 16_384 : -16_384));
  assert.ok(Math.abs(frameLevelDbov(halfSquare) - -6.02) < 0.01, `${frameLevelDbov(halfSquare)}`);
  const fullSquare = new Int16Array(FRAME_SAMPLES).map((_, i) => (i % 2 === 0 ? 32_767 : -32_768));
  assert.ok(frameLevelDbov(fullSquare) <= 0 && frameLevelDbov(fullSquare) > -0.01);
  const oneLsb = new Int16Array(FRAME_SAMPLES);
  oneLsb[0] = 1;
  assert.ok(Math.abs(frameLevelDbov(oneLsb) - -120.13) < 0.01, `${frameLevelDbov(oneLsb)}`);
  const faint = new Int16Array(SAMPLE_RATE * 10);
  faint[0] = 1;
  assert.equal(frameLevelDbov(faint), -127, 'clamped to the RFC 6464 range');
});
