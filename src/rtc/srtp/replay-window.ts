/**
 * The sliding replay window of RFC 3711 §3.3.2 over 64 packet indices, as two 32-bit words so
 * that checking and sliding allocate nothing. Bit k set means index (highest - k) was accepted.
 */
export const REPLAY_WINDOW_SIZE = 64;

export class ReplayWindow {
  /** Highest index accepted so far (-1 before the first). */
  highest = -1;
  private low = 0; // bits 0..31
  private high = 0; // bits 32..63

  /** True if `index` is new: above the highest, or inside the window and not yet seen. */
  isFresh(index: number): boolean {
    const delta = this.highest - index;
    if (delta < 0) return true;
    if (delta >= REPLAY_WINDOW_SIZE) return false; // too old to tell: §3.3.2 says drop
    const word = delta < 32 ? this.low >>> delta : this.high >>> (delta - 32);
    return (word & 1) === 0;
  }

  /** Record `index` as received; call only after the packet authenticated and `isFresh` held. */
  accept(index: number): void {
    const delta = index - this.highest;
    if (this.highest < 0 || delta >= REPLAY_WINDOW_SIZE) {
      this.low = 1;
      this.high = 0;
    } else if (delta > 0) {
      if (delta >= 32) {
        this.high = this.low << (delta - 32);
        this.low = 0;
      } else {
        this.high = (this.high << delta) | (this.low >>> (32 - delta));
        this.low <<= delta;
      }
      this.low |= 1;
    } else {
      const back = -delta;
      if (back < 32) this.low |= 1 << back;
      else this.high |= 1 << (back - 32);
      return;
    }
    this.highest = index;
  }
}
