/**
 * AckedBitrate: the rate the receiver reported receiving, from TWCC arrival times and our sent
 * sizes, over a sliding 500 ms window of arrival time. A ring of typed arrays, no allocation.
 */
const CAPACITY = 4096;
const WINDOW_MS = 500;
/** Below this span of arrivals the rate is too noisy to act on. */
const MIN_SPAN_MS = 250;

export class AckedBitrate {
  private readonly arrivals = new Float64Array(CAPACITY);
  private readonly sizes = new Float64Array(CAPACITY);
  private head = 0;
  private tail = 0;
  private count = 0;
  private bytes = 0;
  private latestMs = -Infinity;
  private firstMs = -1;

  add(arrivalMs: number, sizeBytes: number): void {
    if (this.firstMs < 0) this.firstMs = arrivalMs;
    if (arrivalMs > this.latestMs) this.latestMs = arrivalMs;
    if (this.count === CAPACITY) this.dropOldest();
    this.arrivals[this.head] = arrivalMs;
    this.sizes[this.head] = sizeBytes;
    this.head = (this.head + 1) % CAPACITY;
    this.count++;
    this.bytes += sizeBytes;
    while (this.count > 0 && (this.arrivals[this.tail] as number) < this.latestMs - WINDOW_MS) this.dropOldest();
  }

  /** Bits per second over the window, or null until enough has been acknowledged. */
  bps(): number | null {
    if (this.count === 0 || this.firstMs < 0) return null;
    const span = Math.min(WINDOW_MS, this.latestMs - this.firstMs);
    if (span < MIN_SPAN_MS) return null;
    return (this.bytes * 8 * 1000) / span;
  }

  /** After the arrival clock jumped: start over. */
  reset(): void {
    this.head = this.tail = this.count = 0;
    this.bytes = 0;
    this.latestMs = -Infinity;
    this.firstMs = -1;
  }

  private dropOldest(): void {
    this.bytes -= this.sizes[this.tail] as number;
    this.tail = (this.tail + 1) % CAPACITY;
    this.count--;
  }
}
