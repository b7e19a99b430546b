/**
 * RetransmissionBudget: caps the bytes a transport resends (RTX, RFC 4588) at the bandwidth
 * estimate over a sliding second, as libwebrtc's retransmission rate limiter does. Without it a
 * subscriber on a link that is already losing NACKs more than the link carries, and the
 * resends crowd out the media they were meant to repair. Ten 100 ms bins, no allocation.
 */
const BINS = 10;
const BIN_MS = 100;
const WINDOW_MS = BINS * BIN_MS;

export class RetransmissionBudget {
  private readonly bytes = new Float64Array(BINS);
  private readonly binStart = new Float64Array(BINS).fill(-Infinity);
  dropped = 0;

  /** Whether `size` more bytes fit under `maxBps` over the last second; counts them if so. */
  allow(size: number, nowMs: number, maxBps: number): boolean {
    const start = Math.floor(nowMs / BIN_MS) * BIN_MS;
    const i = Math.floor(nowMs / BIN_MS) % BINS;
    if (this.binStart[i] !== start) {
      this.binStart[i] = start;
      this.bytes[i] = 0;
    }
    let sum = 0;
    for (let k = 0; k < BINS; k++) if ((this.binStart[k] as number) > nowMs - WINDOW_MS) sum += this.bytes[k] as number;
    if ((sum + size) * 8 > (maxBps * WINDOW_MS) / 1000) {
      this.dropped++;
      return false;
    }
    this.bytes[i] = (this.bytes[i] as number) + size;
    return true;
  }
}
