/**
 * ProbeBitrateEstimator: what a probe showed the path can carry (in the spirit of libwebrtc's
 * ProbeBitrateEstimator). Every packet sent while a probe runs — media and padding alike —
 * carries the probe's cluster id in the send history; from the acknowledged ones come the
 * rate they were sent at and the rate they arrived at. A path that delivered them as fast as
 * they were sent carries at least that; one that delivered them clearly slower has its limit
 * at the arrival rate.
 *
 * Without this, a delay-based estimate can only climb 8 % per second and never above 1.5 × what
 * is being sent: a subscriber whose layers were cut could never get them back.
 */

/** Acknowledged packets a cluster needs before it says anything. */
const MIN_PACKETS = 10;
/** Arrival slower than this share of the send rate: the path is saturated (libwebrtc: 0.9). */
const SATURATED_RATIO = 0.9;
/** From a saturated cluster, the share of its arrival rate taken as the estimate. */
const SATURATED_UTILIZATION = 0.95;
/** Intervals outside these bounds are measurement noise, not a rate. */
const MIN_INTERVAL_MS = 20;
/**
 * A cluster says nothing until it was sent over this long: a token bucket lets its first few
 * KB through at line rate (a tbf with a 4 KB burst on a 300 kbit/s home link passed the first
 * packets of a probe at several times the link rate, and the allocator jumped to the top
 * simulcast layer). Over 250 ms such a burst is a small part of what is measured.
 */
const MIN_SEND_SPAN_MS = 250;
const MAX_INTERVAL_MS = 1000;
/** Clusters forgotten this long after their last packet. */
const CLUSTER_TTL_MS = 5000;
const MAX_CLUSTERS = 8;

class ClusterStats {
  packets = 0;
  bytes = 0;
  firstSendMs = Infinity;
  lastSendMs = -Infinity;
  lastSendSize = 0;
  firstArrivalMs = Infinity;
  lastArrivalMs = -Infinity;
  firstArrivalSize = 0;
  touchedMs = 0;
}

export class ProbeBitrateEstimator {
  private readonly clusters = new Map<number, ClusterStats>();
  private touched = 0;
  /** Results produced (for tests and counters). */
  results = 0;

  /** An acknowledged packet of cluster `cluster` (> 0): sent at `sendMs`, arrived at `arrivalMs` (receiver clock). */
  onPacketAcked(cluster: number, sendMs: number, arrivalMs: number, size: number, nowMs: number): void {
    let c = this.clusters.get(cluster);
    if (!c) {
      if (this.clusters.size >= MAX_CLUSTERS) this.forgetOldest();
      c = new ClusterStats();
      this.clusters.set(cluster, c);
    }
    c.packets++;
    c.bytes += size;
    if (sendMs < c.firstSendMs) c.firstSendMs = sendMs;
    if (sendMs >= c.lastSendMs) {
      c.lastSendMs = sendMs;
      c.lastSendSize = size;
    }
    if (arrivalMs < c.firstArrivalMs) {
      c.firstArrivalMs = arrivalMs;
      c.firstArrivalSize = size;
    }
    if (arrivalMs > c.lastArrivalMs) c.lastArrivalMs = arrivalMs;
    c.touchedMs = nowMs;
    this.touched = cluster;
  }

  /**
   * The rate shown by the cluster touched last, once it has enough packets; 0 when nothing
   * can be said. Call once per feedback, after its packets.
   */
  result(nowMs: number): number {
    for (const [id, c] of this.clusters) if (nowMs - c.touchedMs > CLUSTER_TTL_MS) this.clusters.delete(id);
    const c = this.clusters.get(this.touched);
    this.touched = 0;
    if (!c || c.packets < MIN_PACKETS) return 0;
    const sendMs = c.lastSendMs - c.firstSendMs;
    const arrivalMs = c.lastArrivalMs - c.firstArrivalMs;
    if (
      sendMs < Math.max(MIN_INTERVAL_MS, MIN_SEND_SPAN_MS) ||
      sendMs > MAX_INTERVAL_MS ||
      arrivalMs < MIN_INTERVAL_MS ||
      arrivalMs > MAX_INTERVAL_MS
    )
      return 0;
    // The last packet sent and the first to arrive bound the intervals: their bytes are outside.
    const sendBps = ((c.bytes - c.lastSendSize) * 8000) / sendMs;
    const arrivalBps = ((c.bytes - c.firstArrivalSize) * 8000) / arrivalMs;
    this.results++;
    if (arrivalBps < SATURATED_RATIO * sendBps) return SATURATED_UTILIZATION * arrivalBps;
    return Math.min(sendBps, arrivalBps);
  }

  private forgetOldest(): void {
    let oldest: number | null = null;
    let at = Infinity;
    for (const [id, c] of this.clusters)
      if (c.touchedMs < at) {
        at = c.touchedMs;
        oldest = id;
      }
    if (oldest !== null) this.clusters.delete(oldest);
  }
}
