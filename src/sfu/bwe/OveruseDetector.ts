/**
 * OveruseDetector: compares the delay trend with an adaptive threshold (draft-ietf-rmcat-gcc-02
 * §5.4–5.5). Overuse is signalled only when the trend stays above the threshold for more than
 * 10 ms and is not falling; the threshold follows |trend| slowly upward (k_up) and faster
 * downward (k_down), so the detector neither starves against a concurrent TCP flow nor fires
 * on every jitter spike.
 */
export type BandwidthUsage = 'normal' | 'underusing' | 'overusing';

const THRESHOLD_GAIN = 4;
const MAX_DELTAS = 60;
const OVERUSE_TIME_MS = 10;
const K_UP = 0.0087;
const K_DOWN = 0.039;
const MAX_ADAPT_OFFSET_MS = 15;
const MAX_TIME_DELTA_MS = 100;
const MIN_THRESHOLD = 6;
const MAX_THRESHOLD = 600;
const INITIAL_THRESHOLD = 12.5;

export class OveruseDetector {
  state: BandwidthUsage = 'normal';
  threshold = INITIAL_THRESHOLD;
  private timeOverUsingMs = -1;
  private overuseCounter = 0;
  private prevTrend = 0;
  private lastUpdateMs = -1;
  overuses = 0;

  detect(trend: number, sendDeltaMs: number, numDeltas: number, nowMs: number): BandwidthUsage {
    if (numDeltas < 2) return this.state;
    const modified = Math.min(numDeltas, MAX_DELTAS) * trend * THRESHOLD_GAIN;
    if (modified > this.threshold) {
      this.timeOverUsingMs = this.timeOverUsingMs < 0 ? sendDeltaMs / 2 : this.timeOverUsingMs + sendDeltaMs;
      this.overuseCounter++;
      if (this.timeOverUsingMs > OVERUSE_TIME_MS && this.overuseCounter > 1 && trend >= this.prevTrend) {
        this.timeOverUsingMs = 0;
        this.overuseCounter = 0;
        this.state = 'overusing';
        this.overuses++;
      }
    } else if (modified < -this.threshold) {
      this.timeOverUsingMs = -1;
      this.overuseCounter = 0;
      this.state = 'underusing';
    } else {
      this.timeOverUsingMs = -1;
      this.overuseCounter = 0;
      this.state = 'normal';
    }
    this.prevTrend = trend;
    this.adaptThreshold(modified, nowMs);
    return this.state;
  }

  private adaptThreshold(modified: number, nowMs: number): void {
    if (this.lastUpdateMs < 0) this.lastUpdateMs = nowMs;
    const abs = Math.abs(modified);
    // A spike far above the threshold (a route change, a burst) should not drag it up.
    if (abs > this.threshold + MAX_ADAPT_OFFSET_MS) {
      this.lastUpdateMs = nowMs;
      return;
    }
    const k = abs < this.threshold ? K_DOWN : K_UP;
    const dt = Math.min(Math.max(nowMs - this.lastUpdateMs, 0), MAX_TIME_DELTA_MS);
    this.threshold += k * (abs - this.threshold) * dt;
    this.threshold = Math.min(Math.max(this.threshold, MIN_THRESHOLD), MAX_THRESHOLD);
    this.lastUpdateMs = nowMs;
  }
}
