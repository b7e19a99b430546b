/**
 * TrendlineEstimator: the slope of the queuing delay over time (the "delay gradient" filter of
 * draft-ietf-rmcat-gcc-02 §5.3, as libwebrtc replaced its Kalman filter with a trend line).
 * Each group delta adds (arrival delta − send delta) to an accumulated delay, which is
 * exponentially smoothed; a least-squares line through the last 20 (arrival time, smoothed
 * delay) points gives the trend: > 0 means queues are growing.
 */
const WINDOW = 20;
const SMOOTHING = 0.9;

export class TrendlineEstimator {
  private readonly xs = new Float64Array(WINDOW);
  private readonly ys = new Float64Array(WINDOW);
  private count = 0;
  private head = 0;
  private firstArrivalMs = -1;
  private accumulatedDelayMs = 0;
  private smoothedDelayMs = 0;
  /** Deltas seen since the start, capped: the detector scales the trend by it. */
  numDeltas = 0;
  trend = 0;

  update(arrivalDeltaMs: number, sendDeltaMs: number, arrivalMs: number): number {
    const delta = arrivalDeltaMs - sendDeltaMs;
    if (this.numDeltas < 1000) this.numDeltas++;
    if (this.firstArrivalMs < 0) this.firstArrivalMs = arrivalMs;
    this.accumulatedDelayMs += delta;
    this.smoothedDelayMs = SMOOTHING * this.smoothedDelayMs + (1 - SMOOTHING) * this.accumulatedDelayMs;
    this.xs[this.head] = arrivalMs - this.firstArrivalMs;
    this.ys[this.head] = this.smoothedDelayMs;
    this.head = (this.head + 1) % WINDOW;
    if (this.count < WINDOW) this.count++;
    if (this.count === WINDOW) {
      const slope = this.slope();
      if (slope !== null) this.trend = slope;
    }
    return this.trend;
  }

  private slope(): number | null {
    let sx = 0;
    let sy = 0;
    for (let i = 0; i < WINDOW; i++) {
      sx += this.xs[i] as number;
      sy += this.ys[i] as number;
    }
    const mx = sx / WINDOW;
    const my = sy / WINDOW;
    let num = 0;
    let den = 0;
    for (let i = 0; i < WINDOW; i++) {
      const dx = (this.xs[i] as number) - mx;
      num += dx * ((this.ys[i] as number) - my);
      den += dx * dx;
    }
    if (den === 0 || !Number.isFinite(num / den)) return null;
    return num / den;
  }
}
