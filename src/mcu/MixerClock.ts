/**
 * A steady clock for the mixer: calls `tick` once per `periodMs` on average, whatever the
 * timer's own jitter (Node's timers fire late under load). Ticks that fell due while the event
 * loop was busy run back to back, up to `maxCatchUp`; further ones are skipped and counted —
 * after a long stall, playing out seconds of stale audio at once helps nobody.
 *
 * The timer is an entry point (`guarded` under `name`): a tick works on what publishers sent,
 * so an exception in it is counted and logged once, and the clock goes on with the next tick.
 */
import { guarded } from '../util/guarded.js';

export class MixerClock {
  private timer: NodeJS.Timeout | null = null;
  private next = 0;
  private readonly fire: () => void;
  ticks = 0;
  skipped = 0;

  constructor(
    private readonly periodMs: number,
    private readonly tick: (now: number) => void,
    private readonly maxCatchUp = 5,
    readonly name = 'mcu.clock',
  ) {
    // After a fault the tick that threw is over (its time was already counted): schedule the next.
    this.fire = guarded(
      name,
      () => this.run(),
      () => {
        if (this.timer) this.schedule();
      },
    );
  }

  start(): void {
    if (this.timer) return;
    this.next = performance.now() + this.periodMs;
    this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  get running(): boolean {
    return this.timer !== null;
  }

  private schedule(): void {
    const wait = Math.max(0, this.next - performance.now());
    this.timer = setTimeout(this.fire, wait);
    this.timer.unref();
  }

  private run(): void {
    if (!this.timer) return;
    const now = performance.now();
    let due = Math.floor((now - this.next) / this.periodMs) + 1;
    if (due > this.maxCatchUp) {
      this.skipped += due - this.maxCatchUp;
      this.next += (due - this.maxCatchUp) * this.periodMs;
      due = this.maxCatchUp;
    }
    for (let i = 0; i < due && this.timer; i++) {
      const at = this.next;
      this.ticks++;
      this.next += this.periodMs;
      this.tick(at);
    }
    if (this.timer) this.schedule();
  }
}
