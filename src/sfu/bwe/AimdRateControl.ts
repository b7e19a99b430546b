/**
 * AimdRateControl: the delay-based rate (draft-ietf-rmcat-gcc-02 §5.5). Overuse → decrease to
 * β = 0.85 × the acknowledged bitrate; normal → increase, multiplicatively (8 %/s) while far
 * from the last known link capacity and additively (about one packet per response time) near
 * it; underuse → hold, letting queues drain. Increases never run ahead of 1.5 × what the
 * receiver acknowledged, so an idle sender does not inflate its estimate.
 */
import type { BandwidthUsage } from './OveruseDetector.js';

const BETA = 0.85;
const MULTIPLICATIVE_PER_S = 1.08;
const MIN_INCREASE_BPS = 1000;
const MIN_ADDITIVE_BPS_PER_S = 4000;
const PACKET_BITS = 1200 * 8;
const FRAME_RATE = 30;
const RESPONSE_EXTRA_MS = 100;
const THROUGHPUT_RATIO = 1.5;
const THROUGHPUT_MARGIN_BPS = 10_000;
const CAPACITY_SMOOTHING = 0.05;

type RateState = 'hold' | 'increase' | 'decrease';

/** Average and spread of the acknowledged bitrate at past overuses: where the link tops out. */
class LinkCapacity {
  avg = -1;
  private variance = 0.4;

  get known(): boolean {
    return this.avg >= 0;
  }
  /** Three standard deviations, in bit/s (the variance is normalised in kbit/s, as libwebrtc keeps it). */
  private get spread(): number {
    return 3 * Math.sqrt(this.variance * (this.avg / 1000)) * 1000;
  }
  upper(): number {
    return this.avg + this.spread;
  }
  lower(): number {
    return this.avg - this.spread;
  }

  onOveruse(ackedBps: number): void {
    const kbps = ackedBps / 1000;
    const avgKbps = this.avg < 0 ? kbps : (1 - CAPACITY_SMOOTHING) * (this.avg / 1000) + CAPACITY_SMOOTHING * kbps;
    const err = avgKbps - kbps;
    // Variance normalised by the average (kbit/s), bounded as libwebrtc does, so one outlier cannot pin it.
    this.variance = Math.min(
      Math.max((1 - CAPACITY_SMOOTHING) * this.variance + (CAPACITY_SMOOTHING * err * err) / Math.max(avgKbps, 1), 0.4),
      2.5,
    );
    this.avg = avgKbps * 1000;
  }

  reset(): void {
    this.avg = -1;
  }
}

export class AimdRateControl {
  private state: RateState = 'increase';
  private readonly capacity = new LinkCapacity();
  private lastChangeMs = -1;
  rttMs = 200;
  bitrateBps: number;

  constructor(
    startBps: number,
    private readonly minBps: number,
    private readonly maxBps: number,
  ) {
    this.bitrateBps = startBps;
  }

  /**
   * Whether another decrease is due while overuse persists: one per RTT (10–200 ms), or at once
   * when the receiver gets less than half the estimate.
   */
  timeToReduceFurther(nowMs: number, ackedBps: number | null): boolean {
    const interval = Math.min(Math.max(this.rttMs, 10), 200);
    if (this.lastChangeMs < 0 || nowMs - this.lastChangeMs >= interval) return true;
    return ackedBps !== null && ackedBps < this.bitrateBps / 2;
  }

  update(usage: BandwidthUsage, ackedBps: number | null, nowMs: number): number {
    this.changeState(usage);
    let next = this.bitrateBps;
    const dtMs = this.lastChangeMs < 0 ? 0 : Math.max(nowMs - this.lastChangeMs, 0);
    switch (this.state) {
      case 'hold':
        break;
      case 'increase': {
        if (ackedBps !== null && this.capacity.known && ackedBps > this.capacity.upper()) this.capacity.reset();
        const increase = this.capacity.known
          ? this.additiveIncrease(dtMs)
          : Math.max(this.bitrateBps * (MULTIPLICATIVE_PER_S ** Math.min(dtMs / 1000, 1) - 1), MIN_INCREASE_BPS * Math.min(dtMs / 1000, 1));
        next = this.bitrateBps + increase;
        if (ackedBps !== null) {
          const limit = THROUGHPUT_RATIO * ackedBps + THROUGHPUT_MARGIN_BPS;
          next = Math.min(next, Math.max(this.bitrateBps, limit));
        }
        this.lastChangeMs = nowMs;
        break;
      }
      case 'decrease': {
        if (ackedBps !== null) {
          let decreased = BETA * ackedBps;
          // Acknowledged above the estimate (a burst): fall back to the known capacity instead.
          if (decreased > this.bitrateBps && this.capacity.known) decreased = BETA * this.capacity.avg;
          if (decreased < this.bitrateBps) next = decreased;
          if (this.capacity.known && ackedBps < this.capacity.lower()) this.capacity.reset();
          this.capacity.onOveruse(ackedBps);
        } else {
          next = this.bitrateBps * BETA;
        }
        this.state = 'hold';
        this.lastChangeMs = nowMs;
        break;
      }
    }
    this.bitrateBps = Math.min(Math.max(next, this.minBps), this.maxBps);
    return this.bitrateBps;
  }

  /** A probe showed the path carries `bps`: start from there (never used to go down). */
  raiseTo(bps: number, nowMs: number): void {
    if (bps <= this.bitrateBps) return;
    this.bitrateBps = Math.min(bps, this.maxBps);
    this.lastChangeMs = nowMs;
  }

  /** An external cap (REMB, loss): the delay-based rate never sits far above the real target. */
  clampTo(bps: number): void {
    if (bps < this.bitrateBps) this.bitrateBps = Math.max(bps, this.minBps);
  }

  private changeState(usage: BandwidthUsage): void {
    if (usage === 'overusing') this.state = 'decrease';
    else if (usage === 'underusing') this.state = 'hold';
    else if (this.state === 'hold') this.state = 'increase';
    else if (this.state === 'decrease') this.state = 'hold';
  }

  /** About one average packet per response time (RTT + 100 ms), at least 4 kbit/s per second. */
  private additiveIncrease(dtMs: number): number {
    const bitsPerFrame = this.bitrateBps / FRAME_RATE;
    const packetsPerFrame = Math.max(Math.ceil(bitsPerFrame / PACKET_BITS), 1);
    const packetBits = bitsPerFrame / packetsPerFrame;
    const perSecond = Math.max(MIN_ADDITIVE_BPS_PER_S, (packetBits * 1000) / (this.rttMs + RESPONSE_EXTRA_MS));
    return (perSecond * dtMs) / 1000;
  }
}
