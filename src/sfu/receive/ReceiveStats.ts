/**
 * RTCP receiver-report statistics for one incoming stream (RFC 3550 §6.4.1, Appendix A.3 and
 * A.8): extended highest sequence number, cumulative and interval loss, interarrival jitter,
 * and the LSR/DLSR pair that lets the sender compute the round-trip time.
 */
import type { ReportBlock } from '../../rtc/rtcp/index.js';

export class ReceiveStats {
  private started = false;
  private baseSeq = 0;
  private maxSeq = 0;
  private cycles = 0;
  received = 0;
  bytes = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  /** Jitter in timestamp units, ×16 as in RFC 3550 A.8 to keep precision in integers. */
  private jitterQ4 = 0;
  private lastTransit = 0;
  private haveTransit = false;
  /** Middle 32 bits of the last SR's NTP time, and when it arrived (ms). */
  private lastSr = 0;
  private lastSrAt = 0;

  constructor(
    readonly ssrc: number,
    private readonly clockRate: number,
  ) {}

  /** `arrivalMs`: a monotonic clock in milliseconds. Retransmissions should not be passed here. */
  onPacket(seq: number, rtpTimestamp: number, arrivalMs: number, bytes: number): void {
    this.received++;
    this.bytes += bytes;
    if (!this.started) {
      this.started = true;
      this.baseSeq = seq;
      this.maxSeq = seq;
    } else {
      const delta = (seq - this.maxSeq) & 0xffff;
      if (delta > 0 && delta < 0x8000) {
        if (seq < this.maxSeq) this.cycles += 0x10000;
        this.maxSeq = seq;
      }
    }
    // A.8: transit time difference in the stream's clock units.
    const arrival = Math.round((arrivalMs * this.clockRate) / 1000);
    const transit = (arrival - rtpTimestamp) | 0;
    if (this.haveTransit) {
      let d = (transit - this.lastTransit) | 0;
      if (d < 0) d = -d;
      this.jitterQ4 += d - ((this.jitterQ4 + 8) >> 4);
    }
    this.lastTransit = transit;
    this.haveTransit = true;
  }

  onSenderReport(ntpSec: number, ntpFrac: number, arrivalMs: number): void {
    this.lastSr = (((ntpSec & 0xffff) << 16) | (ntpFrac >>> 16)) >>> 0;
    this.lastSrAt = arrivalMs;
  }

  get hasData(): boolean {
    return this.started;
  }

  /** The report block for an RR/SR; advances the interval for fraction lost. */
  report(nowMs: number): ReportBlock {
    const extendedMax = this.cycles + this.maxSeq;
    const expected = extendedMax - this.baseSeq + 1;
    const lost = Math.max(-0x800000, Math.min(0x7fffff, expected - this.received));
    const expectedInterval = expected - this.expectedPrior;
    const receivedInterval = this.received - this.receivedPrior;
    this.expectedPrior = expected;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    const fractionLost = expectedInterval <= 0 || lostInterval <= 0 ? 0 : Math.min(255, Math.floor((lostInterval << 8) / expectedInterval));
    // DLSR is in 1/65536 s.
    const dlsr = this.lastSrAt === 0 ? 0 : Math.min(0xffffffff, Math.round(((nowMs - this.lastSrAt) * 65536) / 1000));
    return {
      ssrc: this.ssrc,
      fractionLost,
      cumulativeLost: lost,
      highestSeq: extendedMax >>> 0,
      jitter: this.jitterQ4 >> 4,
      lsr: this.lastSr,
      dlsr,
    };
  }
}
