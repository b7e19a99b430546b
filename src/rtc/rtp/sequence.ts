/**
 * 16-bit RTP sequence number arithmetic (RFC 3550 §A.1): comparisons modulo 2^16 and
 * unwrapping into a monotonic extended number.
 */

/** True when `a` comes after `b` modulo 2^16 (less than half the space ahead). */
export function isSeqNewer(a: number, b: number): boolean {
  const d = (a - b) & 0xffff;
  return d !== 0 && d < 0x8000;
}

/** Signed distance from `b` to `a` in [-32768, 32767]. */
export function seqDelta(a: number, b: number): number {
  return (((a - b) & 0xffff) << 16) >> 16;
}

/**
 * Extends 16-bit sequence numbers to cycles × 2^16 + seq, each taken relative to the newest
 * seen. The first one lands in cycle 1, so packets reordered before it stay positive.
 */
export class SeqUnwrapper {
  private last = -1;

  unwrap(seq: number): number {
    if (this.last < 0) {
      this.last = 0x10000 + (seq & 0xffff);
      return this.last;
    }
    const extended = this.last + seqDelta(seq, this.last);
    if (extended > this.last) this.last = extended;
    return extended;
  }

  reset(): void {
    this.last = -1;
  }
}
