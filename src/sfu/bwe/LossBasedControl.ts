/**
 * LossBasedControl: the loss-based rate of draft-ietf-rmcat-gcc-02 §6. Loss is measured over
 * at least 20 reported packets; above 10 % the rate drops to rate × (1 − 0.5 × loss) (at most
 * once per 300 ms + RTT, so one burst is not counted twice); below 2 % it may grow 8 % per
 * second; in between it holds. A decrease stops at 3/4 of the acknowledged bitrate: what the
 * receiver demonstrably gets through (a keyframe burst into a short queue can lose most of
 * its packets while the link still delivers its full rate).
 */
const MIN_EXPECTED = 20;
const LOW_LOSS = 0.02;
const HIGH_LOSS = 0.1;
const INCREASE_PER_S = 1.08;
const DECREASE_INTERVAL_MS = 300;
const ACKED_FLOOR = 0.75;

export class LossBasedControl {
  private expected = 0;
  private lost = 0;
  private lastFraction = 0;
  private lastUpdateMs = -1;
  private lastDecreaseMs = -Infinity;
  rttMs = 200;
  bitrateBps: number;

  constructor(startBps: number, private readonly minBps: number, private readonly maxBps: number) {
    this.bitrateBps = startBps;
  }

  /** A probe showed the path carries `bps`: while loss is low, the loss-based rate allows it. */
  raiseTo(bps: number): void {
    if (this.lastFraction < LOW_LOSS && bps > this.bitrateBps) this.bitrateBps = Math.min(bps, this.maxBps);
  }

  /** Loss fraction of the last complete measurement (0–1). */
  get lossFraction(): number { return this.lastFraction; }

  /** One feedback's first reports: `expected` packets of which `lost` were not received. */
  update(expected: number, lost: number, currentBps: number, ackedBps: number | null, nowMs: number): number {
    this.expected += expected;
    this.lost += lost;
    if (this.expected >= MIN_EXPECTED) {
      this.lastFraction = this.lost / this.expected;
      this.expected = 0;
      this.lost = 0;
    }
    const dtMs = this.lastUpdateMs < 0 ? 0 : Math.max(nowMs - this.lastUpdateMs, 0);
    this.lastUpdateMs = nowMs;
    if (this.lastFraction > HIGH_LOSS) {
      if (nowMs - this.lastDecreaseMs >= DECREASE_INTERVAL_MS + this.rttMs) {
        const floor = ackedBps === null ? 0 : ACKED_FLOOR * ackedBps;
        this.bitrateBps = Math.max(Math.min(this.bitrateBps, currentBps) * (1 - 0.5 * this.lastFraction), Math.min(floor, this.bitrateBps));
        this.lastDecreaseMs = nowMs;
      }
    } else if (this.lastFraction < LOW_LOSS) {
      this.bitrateBps *= INCREASE_PER_S ** Math.min(dtMs / 1000, 1);
    }
    this.bitrateBps = Math.min(Math.max(this.bitrateBps, this.minBps), this.maxBps);
    return this.bitrateBps;
  }
}
