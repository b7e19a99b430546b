/**
 * ProbeController: decides when a subscriber's link is probed for more bandwidth, and paces
 * the probe. A probe is a short cluster of padding packets sent on top of the media so the
 * estimator can see whether the path takes a higher rate (GCC §5 / libwebrtc's
 * ProbeController): without it, an estimator that only sees what the media uses can never
 * find room for a layer that is not being sent.
 *
 * A probe starts only while some track is held back (a deficit), the estimate has not fallen
 * recently (it would be probing into congestion), and the previous probe is long enough ago.
 * Its goal is at most twice the estimate, so a congested link is never hit with more than
 * that; failed probes back off (3 s, then 5 s: a limit can be lifted at any time, and a
 * subscriber should find out within seconds — libwebrtc probes an application-limited link
 * every 5 s); after a successful one the next follows as soon as its verdict is in, so the
 * estimate doubles about every 2 s up to what the held-back tracks need.
 */
import { guarded } from '../../util/guarded.js';

export interface ProbeControllerOptions {
  /** Duration of one probe cluster, ms. */
  clusterMs?: number;
  /** Padding packet size (bytes, header included). */
  packetBytes?: number;
  minIntervalMs?: number;
  maxIntervalMs?: number;
}

export interface PaddingSink {
  /** Sends up to `count` padding packets of `packetBytes`; returns how many went out. */
  sendPadding(count: number, packetBytes: number): number;
  /** Tags what is sent from now on with probe cluster `id` (0: none), for the estimator. */
  setProbeCluster?(id: number): void;
}

const DEFAULT_CLUSTER_MS = 600;
/** Padding goes out in slices this far apart while a probe runs (a timer only then). */
const PACE_MS = 10;
const DEFAULT_PACKET_BYTES = 250;
const DEFAULT_MIN_INTERVAL_MS = 3000;
const DEFAULT_MAX_INTERVAL_MS = 5000;
/** After a successful probe: the next may start this soon after the last ended. */
const AFTER_SUCCESS_MS = 1000;
/** After the estimate fell, no probe for this long. */
const QUIET_AFTER_DROP_MS = 3000;
/** A probe counts as successful when the estimate rose this much since it started. */
const SUCCESS_GAIN = 1.2;

export class ProbeController {
  private readonly clusterMs: number;
  private readonly packetBytes: number;
  private readonly minIntervalMs: number;
  private readonly maxIntervalMs: number;
  private intervalMs: number;
  private lastProbeEndMs = -Infinity;
  private lastDropMs = -Infinity;
  private lastEstimate = 0;
  /** The running probe: until when, at how many bit/s of padding, and how much was due. */
  private probeUntilMs = -Infinity;
  private probeStartMs = 0;
  private paddingBps = 0;
  private bytesDue = 0;
  private estimateAtStart = 0;
  private pendingVerdict = false;
  private pacer: NodeJS.Timeout | null = null;
  private cluster = 0;
  probesStarted = 0;
  probesSucceeded = 0;
  paddingPacketsSent = 0;

  constructor(
    private readonly sink: PaddingSink,
    opts: ProbeControllerOptions = {},
  ) {
    this.clusterMs = opts.clusterMs ?? DEFAULT_CLUSTER_MS;
    this.packetBytes = opts.packetBytes ?? DEFAULT_PACKET_BYTES;
    this.minIntervalMs = opts.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS;
    this.maxIntervalMs = opts.maxIntervalMs ?? DEFAULT_MAX_INTERVAL_MS;
    this.intervalMs = this.minIntervalMs;
  }

  get probing(): boolean {
    return this.paddingBps > 0;
  }

  /** Every estimate update. */
  onEstimate(bps: number, nowMs: number): void {
    if (bps < this.lastEstimate * 0.95) this.lastDropMs = nowMs;
    this.lastEstimate = bps;
  }

  /**
   * The allocator's periodic call (every few hundred ms): judges a finished probe and starts
   * one when due. A running probe paces itself on its own 10 ms timer.
   */
  tick(nowMs: number, estimateBps: number, usedBps: number, deficitBps: number): void {
    if (this.paddingBps > 0) return;
    // Judge the last probe once the estimator had time to see its feedback.
    if (this.pendingVerdict && nowMs - this.lastProbeEndMs >= 1000) {
      this.pendingVerdict = false;
      if (estimateBps >= this.estimateAtStart * SUCCESS_GAIN) {
        this.probesSucceeded++;
        this.intervalMs = Math.min(AFTER_SUCCESS_MS, this.minIntervalMs);
      } else {
        this.intervalMs = Math.min(this.intervalMs * 2, this.maxIntervalMs);
      }
    }
    if (deficitBps <= 0 || this.pendingVerdict) return;
    if (nowMs - this.lastProbeEndMs < this.intervalMs || nowMs - this.lastDropMs < QUIET_AFTER_DROP_MS) return;
    // Ask for what the held-back tracks need, at most double the estimate.
    const goal = Math.min(estimateBps * 2, usedBps + deficitBps * 1.1);
    const padding = goal - Math.max(usedBps, 0);
    if (padding <= 0) return;
    this.probesStarted++;
    this.paddingBps = padding;
    this.probeStartMs = nowMs;
    this.probeUntilMs = nowMs + this.clusterMs;
    this.bytesDue = 0;
    this.estimateAtStart = estimateBps;
    this.cluster = (this.cluster % 0xffff) + 1;
    this.sink.setProbeCluster?.(this.cluster);
    this.pacer = setInterval(
      guarded('sfu.probe.pacer', () => this.pace(performance.now())),
      PACE_MS,
    );
    this.pacer.unref();
  }

  close(): void {
    if (this.pacer) clearInterval(this.pacer);
    this.pacer = null;
    if (this.paddingBps > 0) this.sink.setProbeCluster?.(0);
    this.paddingBps = 0;
  }

  /** Sends the padding owed by `nowMs`; ends the probe at its end time. */
  pace(nowMs: number): void {
    if (this.paddingBps <= 0) return;
    const until = Math.min(nowMs, this.probeUntilMs);
    const owed = ((until - this.probeStartMs) * this.paddingBps) / 8000 - this.bytesDue;
    const count = Math.floor(owed / this.packetBytes);
    if (count > 0) this.send(count, nowMs);
    if (nowMs >= this.probeUntilMs && this.paddingBps > 0) this.endProbe(nowMs);
  }

  private send(count: number, nowMs: number): void {
    const sent = this.sink.sendPadding(count, this.packetBytes);
    this.paddingPacketsSent += sent;
    // Count what was due even when the sink could not send it: a probe never bursts to catch up.
    this.bytesDue += count * this.packetBytes;
    if (sent === 0) this.endProbe(nowMs);
  }

  private endProbe(nowMs: number): void {
    if (this.pacer) clearInterval(this.pacer);
    this.pacer = null;
    this.paddingBps = 0;
    this.sink.setProbeCluster?.(0);
    this.lastProbeEndMs = nowMs;
    this.pendingVerdict = true;
  }
}
