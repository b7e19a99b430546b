/**
 * Turns one listener's wide mix (an Int32 sum of up to dozens of Int16 inputs) into Int16
 * without clipping: a peak limiter with a gain that only ever goes down to fit a loud frame
 * and slowly recovers, never above 1 (boosting would only raise everyone's background noise).
 *
 * Attack: when the frame's peak × the previous gain would pass the ceiling, the gain falls
 * within the frame — linearly from the previous gain to the frame's new gain, so a loud onset
 * is scaled rather than chopped, and earlier where a sample needs it: the whole frame is known
 * before it is written, so the gain starts falling ahead of each peak (at most by 1/48 per
 * sample, full scale in 1 ms) and every sample lands under the ceiling. The gain jumps only
 * when a frame's very first samples are already too loud for the previous gain.
 * Release: +6 dB per 500 ms by default, ramped per sample across each frame.
 *
 * Each listener needs its own: the gain is the state of what that listener has heard.
 */
import { FRAME_MS, FRAME_SAMPLES, FULL_SCALE } from './format.js';

export interface LevelNormaliserOptions {
  /** Highest output magnitude as a fraction of full scale (headroom for the decoder and resamplers downstream). */
  ceiling: number;
  /** How fast the gain recovers toward 1 once the mix gets quieter. */
  releaseDbPerSecond: number;
}

export const DEFAULT_NORMALISER_OPTIONS: LevelNormaliserOptions = { ceiling: 0.9, releaseDbPerSecond: 12 };

/** Fastest gain fall per sample ahead of a peak: 1 → 0 in 1 ms at 48 kHz. */
const ATTACK_SLOPE = 1 / 48;

export class LevelNormaliser {
  /** The gain at the end of the last frame, in (0, 1]. */
  gain = 1;
  /** Samples clamped to the int16 range as a last resort; stays 0 unless the limiter is broken. */
  clamps = 0;
  /** Frames written with a gain below 1. */
  limitedFrames = 0;

  private readonly ceilingAbs: number;
  private readonly releasePerFrame: number;
  /** Per-sample gain bound computed backward from the peaks (reused scratch). */
  private envelope = new Float64Array(FRAME_SAMPLES);

  constructor(options: Partial<LevelNormaliserOptions> = {}) {
    const o = { ...DEFAULT_NORMALISER_OPTIONS, ...options };
    if (!(o.ceiling > 0 && o.ceiling <= 1 && o.releaseDbPerSecond >= 0))
      throw new RangeError('LevelNormaliser: need 0 < ceiling ≤ 1, releaseDbPerSecond ≥ 0');
    this.ceilingAbs = o.ceiling * FULL_SCALE;
    this.releasePerFrame = 10 ** ((o.releaseDbPerSecond * FRAME_MS) / 1000 / 20);
  }

  /** Writes `mix` (length ≥ out.length) scaled into `out`. */
  process(mix: Int32Array | Float32Array, out: Int16Array): void {
    const n = out.length;
    if (mix.length < n) throw new RangeError(`LevelNormaliser: mix has ${mix.length} samples, out ${n}`);
    let peak = 0;
    for (let i = 0; i < n; i++) {
      const v = mix[i] as number;
      const a = v < 0 ? -v : v;
      if (a > peak) peak = a;
    }
    const from = this.gain;
    const recovered = Math.min(1, from * this.releasePerFrame);
    const fits = peak > 0 ? this.ceilingAbs / peak : Infinity;
    const to = recovered < fits ? recovered : fits;
    this.gain = to;
    if (from === 1 && to === 1) {
      this.copyClamped(mix, out);
      return;
    }
    this.limitedFrames++;
    if (to >= from) {
      // Release (or steady): the ramp stays at or below `to`, which fits every sample.
      const step = (to - from) / n;
      for (let i = 0; i < n; i++) out[i] = this.clamp((mix[i] as number) * (from + step * (i + 1)));
      return;
    }
    // Attack: the gain each sample may have is bounded by its own fit and, going backward, by
    // the next peak's fit plus the attack slope; the applied gain is the lowest of that bound,
    // the linear ramp, and the gain before it (so it only falls within the frame).
    const env = this.envelope.length >= n ? this.envelope : (this.envelope = new Float64Array(n));
    let bound = Infinity;
    for (let i = n - 1; i >= 0; i--) {
      const v = mix[i] as number;
      const a = v < 0 ? -v : v;
      bound += ATTACK_SLOPE;
      if (a > 0) {
        const f = this.ceilingAbs / a;
        if (f < bound) bound = f;
      }
      env[i] = bound;
    }
    const step = (to - from) / n;
    let g = from;
    for (let i = 0; i < n; i++) {
      const ramp = from + step * (i + 1);
      if (ramp < g) g = ramp;
      const e = env[i] as number;
      if (e < g) g = e;
      out[i] = this.clamp((mix[i] as number) * g);
    }
  }

  private copyClamped(mix: Int32Array | Float32Array, out: Int16Array): void {
    for (let i = 0; i < out.length; i++) out[i] = this.clamp(mix[i] as number);
  }

  private clamp(x: number): number {
    const r = Math.round(x);
    if (r > FULL_SCALE) {
      this.clamps++;
      return FULL_SCALE;
    }
    if (r < -FULL_SCALE) {
      this.clamps++;
      return -FULL_SCALE;
    }
    return r;
  }
}
