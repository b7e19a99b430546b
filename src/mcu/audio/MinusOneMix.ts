/**
 * N−1 mixing for one conference tick: every listener hears the sum of all inputs but its own
 * (hearing yourself a round trip late is an echo). The total is summed once per tick and each
 * listener's mix is that total minus its own input: O(N) frames summed plus O(samples) per
 * listener, instead of O(N) per listener.
 *
 * Sums are exact in Int32 (64 full-scale inputs reach 2^21); each listener's LevelNormaliser
 * brings its mix back into Int16.
 *
 * Usage per tick: `clear()`, `setFrame(slot, pcm)` for each input that has audio this tick,
 * then `mixExcluding(slot, out, normaliser)` for each listener. Input frames are copied in, so
 * one decoder output buffer can be reused for every input. Storage grows only when a slot
 * number higher than any before is used.
 */
import { FRAME_SAMPLES } from './format.js';
import type { LevelNormaliser } from './LevelNormaliser.js';

/** `mixExcluding` slot for a listener with no input of its own (hears everyone). */
export const NO_INPUT = -1;

export class MinusOneMix {
  private readonly total = new Int32Array(FRAME_SAMPLES);
  private readonly listenerMix = new Int32Array(FRAME_SAMPLES);
  /** Each slot's copy of its input frame for this tick. */
  private readonly frames: Int16Array[] = [];
  /** Whether the slot's frame is part of this tick's total. */
  private present = new Uint8Array(0);
  private inputs = 0;

  /** `slots`: the highest expected number of inputs (pre-sized; more still works). */
  constructor(slots = 64) {
    this.grow(slots);
  }

  /** Inputs with a frame this tick. */
  get activeInputs(): number {
    return this.inputs;
  }

  /** Starts a new tick: nobody has a frame. */
  clear(): void {
    if (this.inputs === 0) return;
    this.total.fill(0);
    this.present.fill(0);
    this.inputs = 0;
  }

  /** Input `slot`'s decoded frame for this tick (FRAME_SAMPLES long), or null for none (same as not calling). */
  setFrame(slot: number, pcm: Int16Array | null): void {
    if (!Number.isInteger(slot) || slot < 0) throw new RangeError(`MinusOneMix: bad slot ${slot}`);
    if (pcm !== null && pcm.length !== FRAME_SAMPLES)
      throw new RangeError(`MinusOneMix: frame of ${pcm.length} samples, expected ${FRAME_SAMPLES}`);
    if (slot >= this.frames.length) this.grow(Math.max(slot + 1, this.frames.length * 2));
    const total = this.total;
    const own = this.frames[slot] as Int16Array;
    if (this.present[slot] === 1) {
      // Set twice in one tick: the later frame replaces the earlier one in the total.
      for (let i = 0; i < FRAME_SAMPLES; i++) total[i] = (total[i] as number) - (own[i] as number);
      this.present[slot] = 0;
      this.inputs--;
    }
    if (pcm === null) return;
    own.set(pcm);
    for (let i = 0; i < FRAME_SAMPLES; i++) total[i] = (total[i] as number) + (own[i] as number);
    this.present[slot] = 1;
    this.inputs++;
  }

  /** Writes into `out` what listener `slot` hears (everyone, for NO_INPUT), through its normaliser. */
  mixExcluding(slot: number, out: Int16Array, normaliser: LevelNormaliser): void {
    if (out.length !== FRAME_SAMPLES) throw new RangeError(`MinusOneMix: out has ${out.length} samples, expected ${FRAME_SAMPLES}`);
    if (slot < 0 || slot >= this.present.length || this.present[slot] !== 1) {
      normaliser.process(this.total, out);
      return;
    }
    const own = this.frames[slot] as Int16Array;
    const total = this.total;
    const mix = this.listenerMix;
    for (let i = 0; i < FRAME_SAMPLES; i++) mix[i] = (total[i] as number) - (own[i] as number);
    normaliser.process(mix, out);
  }

  private grow(slots: number): void {
    while (this.frames.length < slots) this.frames.push(new Int16Array(FRAME_SAMPLES));
    const present = new Uint8Array(slots);
    present.set(this.present);
    this.present = present;
  }
}
