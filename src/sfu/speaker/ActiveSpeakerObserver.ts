/**
 * ActiveSpeakerObserver: which participant of a room is speaking, from the audio levels their
 * packets carry (RFC 6464, read by each producer's AudioLevelMeter). One per Router.
 *
 * Every `intervalMs` it closes each producer's window (mean loudness, 127 − level in −dBov; no
 * packets counts as silence since Opus DTX sends almost nothing then) and smooths it
 * (exponential, `smoothing`). A producer is *speaking* while its smoothed loudness is at least
 * `speechLoudness`. Then, with hysteresis so that the choice does not flicker:
 *
 * - with nobody active, the loudest speaking producer becomes active once it has been that for
 *   `activateMs`;
 * - an active speaker holds. A challenger replaces it only after being, for `switchMs` without a
 *   break, speaking and louder than the active one by `marginLoudness` (dB); a brief
 *   interjection does not switch. When the active one is silent any speaking challenger beats it
 *   by the margin, so a new voice takes over after `switchMs`.
 * - a silent room keeps its last speaker (the promoted tile stays put, as in most meeting apps);
 *   the active speaker is cleared only when its producer goes away (left, unpublished), and then
 *   the next speaker is chosen like the first.
 *
 * This is a simpler cousin of Jitsi's DominantSpeakerIdentification (which scores speech
 * activity in three time scales) and of mediasoup's ActiveSpeakerObserver: one time scale, one
 * margin, one hold time, and nothing allocated per tick.
 */
import { TypedEmitter } from '../../util/TypedEmitter.js';
import { WindowLevel, type AudioLevelMeter } from '../receive/AudioLevelMeter.js';
import { guarded } from '../../util/guarded.js';

/** The parts of a Producer the observer needs (so tests can feed meters without a transport). */
export interface ObservedProducer {
  readonly id: string;
  readonly ownerId: string;
  readonly audioLevel: AudioLevelMeter | null;
}

export interface ActiveSpeakerOptions {
  /** Window length, ms. */
  intervalMs?: number;
  /** Weight of the newest window in the smoothed loudness (0–1]. */
  smoothing?: number;
  /** Smoothed loudness (127 − dBov) from which a producer counts as speaking: 127 − 70 → louder than −70 dBov. */
  speechLoudness?: number;
  /** Louder than the active speaker by this much (dB) to challenge it. */
  marginLoudness?: number;
  /** Time the first speaker needs to be the loudest before being chosen. */
  activateMs?: number;
  /** Time a challenger needs to keep beating the active speaker. */
  switchMs?: number;
}

export interface ActiveSpeaker {
  participantId: string;
  producerId: string;
}

export interface ActiveSpeakerEvents {
  /** The active speaker changed; null when it left and nobody speaks. */
  'dominant-speaker': [speaker: ActiveSpeaker | null];
}

interface Entry {
  producer: ObservedProducer;
  smoothed: number;
  /** When it started leading (loudest, or beating the active one), −1 when not leading. */
  leadingSince: number;
}

const DEFAULTS: Required<ActiveSpeakerOptions> = {
  intervalMs: 200,
  smoothing: 0.5,
  speechLoudness: 127 - 70,
  marginLoudness: 6,
  activateMs: 600,
  switchMs: 1000,
};

export class ActiveSpeakerObserver extends TypedEmitter<ActiveSpeakerEvents> {
  readonly options: Required<ActiveSpeakerOptions>;
  private readonly entries = new Map<string, Entry>();
  private readonly window = new WindowLevel();
  private current: Entry | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(opts: ActiveSpeakerOptions = {}) {
    super();
    this.options = { ...DEFAULTS, ...opts };
  }

  /** The active speaker, or null (nobody has spoken yet, or the last one left). */
  get activeSpeaker(): ActiveSpeaker | null {
    return this.current ? { participantId: this.current.producer.ownerId, producerId: this.current.producer.id } : null;
  }

  /** Observes an audio producer that carries levels; others are ignored. */
  addProducer(producer: ObservedProducer): void {
    if (!producer.audioLevel || this.entries.has(producer.id)) return;
    this.entries.set(producer.id, { producer, smoothed: 0, leadingSince: -1 });
  }

  removeProducer(producerId: string): void {
    const entry = this.entries.get(producerId);
    if (!entry) return;
    this.entries.delete(producerId);
    if (this.current === entry) {
      this.current = null;
      // Others' leads were measured against the one who left: start afresh.
      for (const e of this.entries.values()) e.leadingSince = -1;
      this.emit('dominant-speaker', null);
    }
  }

  /** Runs `tick` every interval (unref'd: it never keeps the process alive). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(
      guarded('sfu.active-speaker.timer', () => this.tick(Date.now())),
      this.options.intervalMs,
    );
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  close(): void {
    this.stop();
    this.entries.clear();
    this.current = null;
    this.removeAllListeners();
  }

  /** Closes one window for every producer and updates the choice. `now` in ms. */
  tick(now: number): void {
    const o = this.options;
    let loudest: Entry | null = null;
    for (const e of this.entries.values()) {
      (e.producer.audioLevel as AudioLevelMeter).take(this.window);
      e.smoothed += o.smoothing * (this.window.loudness - e.smoothed);
      if (e.smoothed >= o.speechLoudness && (!loudest || e.smoothed > loudest.smoothed)) loudest = e;
    }
    const current = this.current;
    if (!current) {
      for (const e of this.entries.values()) if (e !== loudest) e.leadingSince = -1;
      if (!loudest) return;
      if (loudest.leadingSince < 0) loudest.leadingSince = now;
      if (now - loudest.leadingSince >= o.activateMs) this.choose(loudest);
      return;
    }
    // Challengers: speaking and louder than the active one by the margin. Only the loudest of them keeps its lead clock.
    const challenger = loudest && loudest !== current && loudest.smoothed >= current.smoothed + o.marginLoudness ? loudest : null;
    for (const e of this.entries.values()) if (e !== challenger) e.leadingSince = -1;
    if (!challenger) return;
    if (challenger.leadingSince < 0) challenger.leadingSince = now;
    if (now - challenger.leadingSince >= o.switchMs) this.choose(challenger);
  }

  private choose(entry: Entry): void {
    this.current = entry;
    for (const e of this.entries.values()) e.leadingSince = -1;
    this.emit('dominant-speaker', { participantId: entry.producer.ownerId, producerId: entry.producer.id });
  }
}
