/**
 * BandwidthEstimator: one subscriber's send-side estimate, in the spirit of GCC
 * (draft-ietf-rmcat-gcc-02) with libwebrtc's goog_cc as the model. Every packet the transport
 * sends is recorded in a SendHistory under its transport-wide sequence number; transport-cc
 * feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01) gives each packet's arrival
 * time, which feeds
 *   - the delay-based path: InterArrival → TrendlineEstimator → OveruseDetector → AimdRateControl,
 *   - the AckedBitrate (what got through), which AIMD decreases to and caps increases by,
 *   - the LossBasedControl (> 10 % loss decreases, < 2 % may increase).
 * The estimate is min(delay-based, loss-based), within [minBps, maxBps]. A subscriber that
 * sends no transport-cc feedback but REMB (draft-alvestrand-rmcat-remb-03) gets the REMB
 * value; while both arrive, REMB only caps.
 *
 * All input comes from the network: nothing here throws on strange feedback (wraps,
 * duplicates, huge deltas); the estimate stays within its bounds.
 */
import type { RtcpTransportFeedback } from '../../rtc/rtcp/index.js';
import { TWCC_REFERENCE_UNIT_US } from '../../rtc/rtcp/twcc.js';
import { TypedEmitter } from '../../util/TypedEmitter.js';
import { AckedBitrate } from './AckedBitrate.js';
import { AimdRateControl } from './AimdRateControl.js';
import { InterArrival } from './InterArrival.js';
import { LossBasedControl } from './LossBasedControl.js';
import { OveruseDetector, type BandwidthUsage } from './OveruseDetector.js';
import { ProbeBitrateEstimator } from './ProbeBitrateEstimator.js';
import { Reported, SendHistory } from './SendHistory.js';
import { TrendlineEstimator } from './TrendlineEstimator.js';

export interface BandwidthEstimatorOptions {
  /** Where the estimate starts (bit/s); default 1 Mbit/s. */
  startBps?: number;
  minBps?: number;
  maxBps?: number;
}

export interface BandwidthEstimatorEvents {
  /** The estimate in bit/s; emitted when it moved by more than 5 % or a second passed. */
  estimate: [bps: number];
}

export const DEFAULT_START_BPS = 1_000_000;
export const DEFAULT_MIN_BPS = 30_000;
export const DEFAULT_MAX_BPS = 20_000_000;
const EMIT_CHANGE = 0.05;
const EMIT_INTERVAL_MS = 1000;
/** Without transport-cc feedback for this long, REMB (if any) is the estimate. */
const FEEDBACK_STALE_MS = 2000;
const REMB_STALE_MS = 5000;
/** The 24-bit reference time of a TWCC feedback, in 64 ms units, wraps after 2^24 units. */
const REFERENCE_WRAP = 0x1000000;
/** Loss counts as congestion (LossBasedControl) this long after the delay-based detector's last overuse. */
const DELAY_CONGESTION_MEMORY_MS = 2000;
/** Time lost between two feedbacks beyond which arrival clocks are not compared. */
const MAX_FEEDBACK_GAP_MS = 10_000;

export interface BandwidthEstimatorCounters {
  feedbacks: number;
  rembs: number;
  packetsAcked: number;
  packetsLost: number;
  /** Feedback about sequence numbers never sent or too old for the history. */
  unknownPackets: number;
  /** Reports about packets already reported received. */
  duplicateReports: number;
  overuses: number;
  /** Padding probes (SfuTransport.sendPadding) the receiver reported received. */
  probesAcked: number;
  /** Probe clusters whose result lifted (or confirmed) the estimate. */
  probeResults: number;
}

export class BandwidthEstimator extends TypedEmitter<BandwidthEstimatorEvents> {
  readonly history = new SendHistory();
  readonly minBps: number;
  readonly maxBps: number;
  private readonly interArrival = new InterArrival();
  private readonly trendline = new TrendlineEstimator();
  private readonly detector = new OveruseDetector();
  private readonly acked = new AckedBitrate();
  private readonly probes = new ProbeBitrateEstimator();
  private readonly aimd: AimdRateControl;
  private readonly loss: LossBasedControl;
  private estimate: number;
  private lastEmitted = 0;
  private lastEmitMs = -Infinity;
  private lastFeedbackMs = -Infinity;
  private rembBps = 0;
  private lastRembMs = -Infinity;
  /** Unwrapped reference time of the previous feedback (64 ms units), for its wrap. */
  private lastReference: number | null = null;
  private lastFeedbackWallMs = 0;
  rttMs = 0;
  usage: BandwidthUsage = 'normal';
  private lastOveruseMs = -Infinity;
  readonly counters: BandwidthEstimatorCounters = {
    feedbacks: 0,
    rembs: 0,
    packetsAcked: 0,
    packetsLost: 0,
    unknownPackets: 0,
    duplicateReports: 0,
    overuses: 0,
    probesAcked: 0,
    probeResults: 0,
  };

  constructor(opts: BandwidthEstimatorOptions = {}) {
    super();
    this.minBps = opts.minBps ?? DEFAULT_MIN_BPS;
    this.maxBps = opts.maxBps ?? DEFAULT_MAX_BPS;
    if (!(this.minBps > 0 && this.maxBps >= this.minBps)) throw new RangeError('bandwidth bounds must satisfy 0 < min ≤ max');
    const start = clamp(opts.startBps ?? DEFAULT_START_BPS, this.minBps, this.maxBps);
    this.estimate = start;
    this.aimd = new AimdRateControl(start, this.minBps, this.maxBps);
    this.loss = new LossBasedControl(start, this.minBps, this.maxBps);
  }

  get estimateBps(): number {
    return this.estimate;
  }
  get delayBasedBps(): number {
    return this.aimd.bitrateBps;
  }
  get lossBasedBps(): number {
    return this.loss.bitrateBps;
  }
  get ackedBps(): number | null {
    return this.acked.bps();
  }
  get lossFraction(): number {
    return this.loss.lossFraction;
  }
  /** Measurement windows in a row that lost more than 10 % (LossBasedControl). */
  get lossyWindows(): number {
    return this.loss.lossyWindows;
  }
  /** Whether the receiver ever sent congestion feedback (transport-cc or REMB): without it the estimate is only the start value. */
  get hasFeedback(): boolean {
    return this.counters.feedbacks > 0 || this.counters.rembs > 0;
  }
  /** Whether transport-cc feedback arrived recently (else REMB or nothing drives the estimate). */
  usingTransportCc(nowMs: number): boolean {
    return nowMs - this.lastFeedbackMs < FEEDBACK_STALE_MS;
  }

  /**
   * Records a packet about to be sent; returns the transport sequence number to write into it.
   * `cluster` (> 0) while a probe runs: every packet sent then counts toward its result.
   */
  onPacketSent(sizeBytes: number, nowMs: number, probe = false, cluster = 0): number {
    return this.history.record(sizeBytes, nowMs, probe, cluster);
  }

  /** A round-trip time measurement (from RTCP RR LSR/DLSR): the AIMD response time. */
  onRtt(rttMs: number): void {
    if (!(rttMs >= 0 && rttMs < 60_000)) return;
    this.rttMs = rttMs;
    this.aimd.rttMs = rttMs;
    this.loss.rttMs = rttMs;
  }

  onRemb(bps: number, nowMs: number): void {
    if (!(bps >= 0) || !Number.isFinite(bps)) return;
    this.counters.rembs++;
    this.rembBps = bps;
    this.lastRembMs = nowMs;
    if (!this.usingTransportCc(nowMs)) this.setEstimate(clamp(bps, this.minBps, this.maxBps), nowMs);
    else this.combine(nowMs);
  }

  onTransportFeedback(fb: RtcpTransportFeedback, nowMs: number): void {
    this.counters.feedbacks++;
    this.lastFeedbackMs = nowMs;
    // Arrival times are on the receiver's clock: only differences matter. Unwrap the 24-bit
    // reference time against the previous feedback's, by the smaller distance.
    let reference = fb.referenceTime;
    if (this.lastReference !== null) {
      let diff = (reference - this.lastReference) % REFERENCE_WRAP;
      if (diff > REFERENCE_WRAP / 2) diff -= REFERENCE_WRAP;
      else if (diff < -REFERENCE_WRAP / 2) diff += REFERENCE_WRAP;
      reference = this.lastReference + diff;
      // A receiver clock that jumps far (or a forged reference) makes arrival deltas meaningless.
      const gapMs = Math.abs(diff) * (TWCC_REFERENCE_UNIT_US / 1000);
      if (gapMs > Math.max(MAX_FEEDBACK_GAP_MS, 2 * (nowMs - this.lastFeedbackWallMs) + 1000)) {
        this.interArrival.reset();
        this.acked.reset();
      }
    }
    this.lastReference = reference;
    this.lastFeedbackWallMs = nowMs;
    let arrivalUs = reference * TWCC_REFERENCE_UNIT_US;
    let expected = 0;
    let lost = 0;
    let overused = false;
    const h = this.history;
    for (const p of fb.packets) {
      if (p.received) arrivalUs += p.deltaUs ?? 0;
      const slot = h.slot(p.seq);
      if (slot < 0) {
        this.counters.unknownPackets++;
        continue;
      }
      const before = h.reportedAs(slot);
      if (!p.received) {
        if (before !== Reported.none) continue; // already counted (lost, or received earlier)
        h.markReported(slot, Reported.lost);
        expected++;
        lost++;
        continue;
      }
      if (before === Reported.received) {
        this.counters.duplicateReports++;
        continue;
      }
      h.markReported(slot, Reported.received);
      if (before === Reported.none) expected++;
      else lost--; // reported lost before, arrived late after all: not a loss
      const arrivalMs = arrivalUs / 1000;
      const size = h.size(slot);
      this.acked.add(arrivalMs, size);
      this.counters.packetsAcked++;
      if (h.isProbe(slot)) this.counters.probesAcked++;
      const cluster = h.cluster(slot);
      if (cluster !== 0) this.probes.onPacketAcked(cluster, h.sendTimeMs(slot), arrivalMs, size, nowMs);
      if (this.interArrival.add(h.sendTimeMs(slot), arrivalMs, size)) {
        const ia = this.interArrival;
        const trend = this.trendline.update(ia.arrivalDeltaMs, ia.sendDeltaMs, ia.groupArrivalMs);
        if (this.detector.detect(trend, ia.sendDeltaMs, this.trendline.numDeltas, nowMs) === 'overusing') overused = true;
      }
    }
    if (lost > 0) this.counters.packetsLost += lost;
    this.counters.overuses = this.detector.overuses;
    this.usage = overused ? 'overusing' : this.detector.state;
    const ackedBps = this.acked.bps();
    if (this.usage !== 'overusing' || this.aimd.timeToReduceFurther(nowMs, ackedBps)) this.aimd.update(this.usage, ackedBps, nowMs);
    if (this.usage === 'overusing') this.lastOveruseMs = nowMs;
    const delayCongested = nowMs - this.lastOveruseMs < DELAY_CONGESTION_MEMORY_MS;
    if (expected > 0 || lost !== 0) this.loss.update(expected, Math.max(lost, 0), this.estimate, ackedBps, nowMs, delayCongested);
    // A probe the path carried without overuse lifts the estimate at once (GCC only climbs slowly).
    const probed = this.probes.result(nowMs);
    if (probed > 0 && this.usage !== 'overusing') {
      this.counters.probeResults++;
      this.aimd.raiseTo(probed, nowMs);
      this.loss.raiseTo(probed);
    }
    this.combine(nowMs);
  }

  private combine(nowMs: number): void {
    let next = Math.min(this.aimd.bitrateBps, this.loss.bitrateBps);
    if (nowMs - this.lastRembMs < REMB_STALE_MS && this.rembBps > 0) next = Math.min(next, this.rembBps);
    next = clamp(next, this.minBps, this.maxBps);
    // The delay-based rate follows a lower final target down, or it would sit far above it
    // and answer the next overuse from a rate the sender never used.
    this.aimd.clampTo(next * 1.5);
    this.setEstimate(next, nowMs);
  }

  private setEstimate(bps: number, nowMs: number): void {
    this.estimate = bps;
    const moved = this.lastEmitted === 0 || Math.abs(bps - this.lastEmitted) > EMIT_CHANGE * this.lastEmitted;
    if (moved || nowMs - this.lastEmitMs >= EMIT_INTERVAL_MS) {
      this.lastEmitted = bps;
      this.lastEmitMs = nowMs;
      this.emit('estimate', bps);
    }
  }
}

function clamp(v: number, min: number, max: number): number {
  if (!Number.isFinite(v)) return max;
  return v < min ? min : v > max ? max : v;
}
