/**
 * Log-bucketed latency histogram (1 % relative precision, 1 µs .. ~100 s), fixed memory,
 * so a long closed-loop phase at tens of thousands of messages/s never grows an array.
 */
const GROWTH = Math.log(1.01);
const BUCKETS = Math.ceil(Math.log(1e8) / GROWTH) + 2;

export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  max = 0;
  sum = 0;

  /** Records one latency in milliseconds. */
  record(ms: number): void {
    const us = ms * 1000;
    const i = us <= 1 ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(us) / GROWTH));
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.count++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }

  /** Value in ms at quantile q (0..1); upper edge of its bucket (≤ 1 % high). */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= rank) return Math.min(this.max, Math.exp(i * GROWTH) / 1000);
    }
    return this.max;
  }

  mean(): number {
    return this.count ? this.sum / this.count : NaN;
  }
}
