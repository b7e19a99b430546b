/**
 * Token bucket: `perSecond` tokens refill continuously up to `burst`. Signaling takes one per
 * inbound message; TURN takes one per relayed byte. Whoever is over its rate has its own
 * traffic dropped, not its neighbours'.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now = Date.now(),
  ) {
    this.tokens = burst;
    this.last = now;
  }

  take(now = Date.now(), cost = 1): boolean {
    this.refill(now);
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }

  /**
   * Takes `cost` even when it is not there (for what cannot be dropped, like TCP bytes): the
   * balance goes below zero, and the answer is how many ms until it is back to zero.
   */
  borrow(now = Date.now(), cost = 1): number {
    this.refill(now);
    this.tokens -= cost;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.perSecond);
  }

  private refill(now: number): void {
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.perSecond) / 1000);
      this.last = now;
    }
  }
}
