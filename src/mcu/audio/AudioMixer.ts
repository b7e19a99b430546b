/**
 * AudioMixer: every 20 ms, one frame from each participant's microphone (AudioInput), and for
 * each listener the sum of everyone else (MinusOneMix: the total once, minus their own input),
 * normalised and encoded for them (AudioOutput). Nobody hears themselves.
 *
 * Only listeners whose media connection is up (`setListening`) get a mix encoded, and the tick
 * runs (decoding the inputs) only while there is at least one: a room whose members never
 * connect costs no codec work.
 */
import { FRAME_MS, FRAME_SAMPLES } from './format.js';
import { AudioInput } from './AudioInput.js';
import { AudioOutput } from './AudioOutput.js';
import { MinusOneMix, NO_INPUT } from './MinusOneMix.js';
import { MixerClock } from '../MixerClock.js';
import type { Producer } from '../../sfu/Producer.js';
import type { Router } from '../../sfu/Router.js';
import { McuCounters } from '../counters.js';

export class AudioMixer {
  /** By owner (participant) id: one microphone each, the newest one published. */
  readonly inputs = new Map<string, AudioInput>();
  readonly outputs = new Map<string, AudioOutput>();
  private readonly slots = new Map<string, number>();
  private readonly mix = new MinusOneMix();
  private readonly pcm = new Int16Array(FRAME_SAMPLES);
  private readonly clock = new MixerClock(FRAME_MS, (now) => this.tick(now), 5, 'mcu.audio.tick');
  /** Time spent mixing (decode + mix + encode), ms, for the benchmark and metrics. */
  busyMs = 0;

  /** `router`: the room's media core, which connects inputs to producers and carries the mixes. */
  constructor(
    private readonly router: Router,
    readonly counters = new McuCounters(),
  ) {}

  /** A participant's microphone. */
  addInput(producer: Producer): AudioInput {
    this.inputs.get(producer.ownerId)?.close();
    const input = new AudioInput(producer, (closed) => {
      this.router.removeSink(producer, closed);
      if (this.inputs.get(closed.ownerId) === closed) this.inputs.delete(closed.ownerId);
      this.update();
    });
    this.inputs.set(producer.ownerId, input);
    this.router.addSink(producer, input);
    this.update();
    return input;
  }

  /** A listener: the caller publishes `output.producer` to them; their mix starts once they listen (`setListening`). */
  addListener(participantId: string): AudioOutput {
    this.removeListener(participantId);
    const output = new AudioOutput(participantId, this.router);
    this.outputs.set(participantId, output);
    this.update();
    return output;
  }

  /** Whether `participantId`'s media connection is up: only then is their mix encoded. */
  setListening(participantId: string, listening: boolean): void {
    const out = this.outputs.get(participantId);
    if (!out || out.listening === listening) return;
    out.listening = listening;
    this.update();
  }

  /** Listeners whose mix is encoded now. */
  get listening(): number {
    let n = 0;
    for (const o of this.outputs.values()) if (o.listening) n++;
    return n;
  }

  removeListener(participantId: string): void {
    const out = this.outputs.get(participantId);
    if (!out) return;
    this.outputs.delete(participantId);
    out.close();
    this.update();
  }

  /** Removes a participant's microphone and mix. */
  removeParticipant(participantId: string): void {
    this.inputs.get(participantId)?.close();
    this.removeListener(participantId);
    this.slots.delete(participantId);
  }

  close(): void {
    this.clock.stop();
    for (const i of [...this.inputs.values()]) i.close();
    for (const id of [...this.outputs.keys()]) this.removeListener(id);
  }

  /** Runs while someone listens. */
  private update(): void {
    if (this.listening > 0) this.clock.start();
    else this.clock.stop();
  }

  private slotOf(ownerId: string): number {
    let s = this.slots.get(ownerId);
    if (s === undefined) {
      const used = new Set(this.slots.values());
      for (s = 0; used.has(s); s++);
      this.slots.set(ownerId, s);
    }
    return s;
  }

  /** One 20 ms frame for every listener. */
  tick(now: number): void {
    const started = performance.now();
    this.mix.clear();
    for (const [owner, input] of this.inputs) {
      const pcm = input.pull();
      this.mix.setFrame(this.slotOf(owner), input.audible ? pcm : null);
    }
    for (const [listener, output] of this.outputs) {
      if (!output.listening) continue;
      const slot = this.inputs.has(listener) ? this.slotOf(listener) : NO_INPUT;
      this.mix.mixExcluding(slot, this.pcm, output.normaliser);
      output.send(this.pcm, now);
      this.counters.audioFramesEncoded++;
    }
    this.busyMs += performance.now() - started;
  }
}
