/** Percentiles for the report: exact ones of small samples, and a log-bucket histogram for per-packet values. */

/** Nearest-rank percentile (p in [0, 100]) of values sorted ascending; NaN when empty. */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = Math.max(1, Math.ceil((Math.min(100, Math.max(0, p)) / 100) * n));
  return sorted[rank - 1] as number;
}

export function percentile(values: readonly number[], p: number): number {
  return percentileOfSorted(
    [...values].sort((a, b) => a - b),
    p,
  );
}

/**
 * Counts of non-negative values in buckets growing by 2 % from 1 µs (`[1.02^i, 1.02^(i+1))`):
 * about 900 buckets cover 1 µs to a minute, so one histogram per track stays small and
 * `add` allocates nothing. A percentile is reported as its bucket's geometric middle (±1 %).
 */
export class LogHistogram {
  private static readonly GROWTH = 1.02;
  private static readonly LOG_GROWTH = Math.log(LogHistogram.GROWTH);
  private readonly counts: Uint32Array;
  count = 0;
  min = Infinity;
  max = -Infinity;

  constructor(maxValue = 60_000_000) {
    this.counts = new Uint32Array(Math.ceil(Math.log(maxValue) / LogHistogram.LOG_GROWTH) + 2);
  }

  add(value: number): void {
    if (!(value >= 0)) return; // negative or NaN: a clock step, not a latency
    const i = value < 1 ? 0 : Math.min(this.counts.length - 1, 1 + Math.floor(Math.log(value) / LogHistogram.LOG_GROWTH));
    this.counts[i] = (this.counts[i] as number) + 1;
    this.count++;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  /** Adds another histogram's counts (same bucket layout). */
  merge(other: LogHistogram): void {
    const n = Math.min(this.counts.length, other.counts.length);
    for (let i = 0; i < n; i++) this.counts[i] = (this.counts[i] as number) + (other.counts[i] as number);
    this.count += other.count;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
  }

  /** Nearest-rank percentile, NaN when empty; clamped to the observed min and max. */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil((Math.min(100, Math.max(0, p)) / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] as number;
      if (seen >= rank) {
        const mid = i === 0 ? 0.5 : Math.pow(LogHistogram.GROWTH, i - 1 + 0.5);
        return Math.min(this.max, Math.max(this.min, mid));
      }
    }
    return this.max;
  }
}
