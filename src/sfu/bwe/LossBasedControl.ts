/**
 * LossBasedControl: the loss-based rate of draft-ietf-rmcat-gcc-02 §6. Loss is measured over
 * at least 50 reported packets and 1 s (a keyframe burst into a receiver whose CPU is busy can
 * lose a third of a short window and nothing of the next second); above 10 % the rate drops
 * to rate × (1 − 0.5 × loss) (at most once per 300 ms + RTT, so one burst is not counted
 * twice); below 2 % it may grow 8 % per second; in between it holds. A decrease stops at 3/4 of the acknowledged bitrate: what
 * the receiver demonstrably gets through (a keyframe burst into a short queue can lose most of
 * its packets while the link still delivers its full rate).
 *
 * Unlike GCC §6, loss up to 20 % counts as congestion only while the delay-based detector saw
 * overuse in the last 2 s (the caller says so). Loss with no queue building behind it is the
 * link's own — a radio hop, a lossy router — which sending less does not reduce and NACK/RTX
 * repair; treating it as congestion walks the rate down to nothing (libwebrtc's
 * LossBasedBweV2 separates such "inherent" loss too). Above 20 % it is congestion regardless
 * (a policer, a queue too short to show delay).
 */
const MIN_EXPECTED = 50;
const MIN_WINDOW_MS = 1000;
const LOW_LOSS = 0.02;
const HIGH_LOSS = 0.1;
const SEVERE_LOSS = 0.2;
const INCREASE_PER_S = 1.08;
const DECREASE_INTERVAL_MS = 300;
const ACKED_FLOOR = 0.75;

export class LossBasedControl {
  private expected = 0;
  private lost = 0;
  private lastFraction = 0;
  private windowStartMs = -1;
  private delayCongested = false;
  private lastUpdateMs = -1;
  private lastDecreaseMs = -Infinity;
  rttMs = 200;
  bitrateBps: number;

  constructor(
    startBps: number,
    private readonly minBps: number,
    private readonly maxBps: number,
  ) {
    this.bitrateBps = startBps;
  }

  /** A probe showed the path carries `bps`: while loss is low, the loss-based rate allows it. */
  raiseTo(bps: number): void {
    if (!this.congested() && bps > this.bitrateBps) this.bitrateBps = Math.min(bps, this.maxBps);
  }

  /** Loss fraction of the last complete measurement (0–1). */
  get lossFraction(): number {
    return this.lastFraction;
  }

  /** How many measurement windows in a row, up to the last, lost more than 10 %. */
  lossyWindows = 0;

  /**
   * One feedback's first reports: `expected` packets of which `lost` were not received.
   * `delayCongested`: the delay-based detector saw overuse recently.
   */
  update(expected: number, lost: number, currentBps: number, ackedBps: number | null, nowMs: number, delayCongested = true): number {
    this.delayCongested = delayCongested;
    if (this.windowStartMs < 0) this.windowStartMs = nowMs;
    this.expected += expected;
    this.lost += lost;
    if (this.expected >= MIN_EXPECTED && nowMs - this.windowStartMs >= MIN_WINDOW_MS) {
      this.lastFraction = this.lost / this.expected;
      this.lossyWindows = this.lastFraction > HIGH_LOSS ? this.lossyWindows + 1 : 0;
      this.expected = 0;
      this.lost = 0;
      this.windowStartMs = nowMs;
    }
    const dtMs = this.lastUpdateMs < 0 ? 0 : Math.max(nowMs - this.lastUpdateMs, 0);
    this.lastUpdateMs = nowMs;
    if (this.congested()) {
      if (nowMs - this.lastDecreaseMs >= DECREASE_INTERVAL_MS + this.rttMs) {
        const floor = ackedBps === null ? 0 : ACKED_FLOOR * ackedBps;
        this.bitrateBps = Math.max(Math.min(this.bitrateBps, currentBps) * (1 - 0.5 * this.lastFraction), Math.min(floor, this.bitrateBps));
        this.lastDecreaseMs = nowMs;
      }
    } else if (this.lastFraction < LOW_LOSS || !this.delayCongested) {
      this.bitrateBps *= INCREASE_PER_S ** Math.min(dtMs / 1000, 1);
    }
    this.bitrateBps = Math.min(Math.max(this.bitrateBps, this.minBps), this.maxBps);
    return this.bitrateBps;
  }

  /** Whether the last measured loss is congestion (see the class comment). */
  private congested(): boolean {
    return this.lastFraction > SEVERE_LOSS || (this.lastFraction > HIGH_LOSS && this.delayCongested);
  }
}
