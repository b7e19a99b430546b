/**
 * A rate limit whose refusals are answered sparingly. Over the rate a request is dropped; the
 * first refusal in each `answerIntervalMs` is to be answered (`refuse`) and the rest are dropped
 * without a word (`drop`): error answers must not amplify a flood. Signaling uses one per
 * connection for inbound messages, the MCU one per participant for layout changes.
 */
import { TokenBucket } from './TokenBucket.js';

/** 'allow': go ahead; 'refuse': drop it and tell the sender; 'drop': drop it silently. */
export type RateVerdict = 'allow' | 'refuse' | 'drop';

export class RateLimit {
  private readonly bucket: TokenBucket;
  private lastRefusedAt = -Infinity;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    readonly answerIntervalMs: number,
    now = Date.now(),
  ) {
    this.bucket = new TokenBucket(perSecond, burst, now);
  }

  take(now = Date.now()): RateVerdict {
    if (this.bucket.take(now)) return 'allow';
    if (now - this.lastRefusedAt < this.answerIntervalMs) return 'drop';
    this.lastRefusedAt = now;
    return 'refuse';
  }
}
