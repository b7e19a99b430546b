/**
 * Keyframe requests toward one publisher, throttled: subscribers' PLI/FIR (RFC 4585 §6.3.1,
 * RFC 5104 §4.3.1) are merged so the publisher sees at most one request per interval, and a
 * request that falls inside the interval is sent when the interval ends rather than lost.
 */
import { guarded } from '../../util/guarded.js';
export class KeyframeRequester {
  private lastSentAt = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  sent = 0;
  merged = 0;

  constructor(
    private readonly send: () => void,
    private readonly intervalMs = 1000,
  ) {}

  request(now = Date.now()): void {
    if (this.timer) {
      this.merged++;
      return;
    }
    const wait = this.lastSentAt + this.intervalMs - now;
    if (wait <= 0) {
      this.fire(now);
      return;
    }
    this.merged++;
    this.timer = setTimeout(
      guarded('sfu.keyframe-requester.timer', () => {
        this.timer = null;
        this.fire(Date.now());
      }),
      wait,
    );
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private fire(now: number): void {
    this.lastSentAt = now;
    this.sent++;
    this.send();
  }
}
