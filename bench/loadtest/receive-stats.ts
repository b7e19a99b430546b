/**
 * What one subscriber measured of one forwarded track: packets, bytes, loss from sequence gaps
 * (reordering and duplicates accounted for), RFC 3550 interarrival jitter and one-way latency.
 * `onPacket` runs per packet and allocates nothing.
 */
import { LogHistogram } from './percentiles.js';

/** How far back (in sequence numbers) a late packet is still recognised as a duplicate or not. */
const WINDOW = 1024;

export class TrackReceiveStats {
  packets = 0;
  bytes = 0;
  duplicates = 0;
  /** Packets older than the highest sequence number seen (arrived out of order). */
  reordered = 0;
  firstArrivalUs = NaN;
  lastArrivalUs = NaN;
  /** RFC 3550 §6.4.1 J, in RTP timestamp units. */
  jitter = 0;
  readonly latencyUs = new LogHistogram();
  private baseSeq = -1;
  private highestSeq = -1;
  /** seen[ext % WINDOW] = the extended sequence number last seen in that slot (-1: none). */
  private readonly seen = new Float64Array(WINDOW).fill(-1);
  private lastTransitSet = false;
  private lastArrivalUnits = 0;
  private lastRtpTs = 0;

  constructor(readonly clockRate: number) {}

  /**
   * One received RTP packet: its sequence number and timestamp, its size, when it arrived (µs,
   * host clock) and, when the sender marked it, when it was captured (NaN otherwise).
   */
  onPacket(seq: number, rtpTimestamp: number, size: number, arrivalUs: number, captureUs: number): void {
    if (this.packets === 0) this.firstArrivalUs = arrivalUs;
    this.lastArrivalUs = arrivalUs;
    this.packets++;
    this.bytes += size;
    this.countSequence(seq);
    this.updateJitter(rtpTimestamp, arrivalUs);
    if (captureUs === captureUs) this.latencyUs.add(arrivalUs - captureUs);
  }

  /** Packets the sender sent between the first and the highest sequence number seen. */
  get expected(): number {
    return this.highestSeq < 0 ? 0 : this.highestSeq - this.baseSeq + 1;
  }

  /** RFC 3550 §6.4.1 cumulative number of packets lost, never negative here (duplicates are not counted as received). */
  get lost(): number {
    return Math.max(0, this.expected - (this.packets - this.duplicates));
  }

  get lossFraction(): number {
    const e = this.expected;
    return e === 0 ? 0 : this.lost / e;
  }

  get jitterMs(): number {
    return (this.jitter / this.clockRate) * 1000;
  }

  /** Average bit rate between the first and the last packet (bit/s); 0 with fewer than two packets. */
  get bitrate(): number {
    const span = (this.lastArrivalUs - this.firstArrivalUs) / 1e6;
    return this.packets < 2 || !(span > 0) ? 0 : (this.bytes * 8) / span;
  }

  /** Extends the 16-bit sequence number against the highest seen (RFC 3550 Appendix A.1) and marks it in the window. */
  private countSequence(seq: number): void {
    if (this.highestSeq < 0) {
      // Start one cycle up so that a packet from before the first one (reordered) stays ≥ 0.
      this.baseSeq = this.highestSeq = seq + 0x10000;
      this.seen[this.highestSeq % WINDOW] = this.highestSeq;
      return;
    }
    let delta = (seq - (this.highestSeq & 0xffff)) & 0xffff;
    if (delta >= 0x8000) delta -= 0x10000; // older than the highest (signed distance)
    const ext = this.highestSeq + delta;
    if (delta > 0) {
      this.highestSeq = ext;
    } else {
      this.reordered += delta < 0 ? 1 : 0;
      if (ext < this.baseSeq) this.baseSeq = ext; // a packet from before the first one we saw
    }
    const slot = ext % WINDOW;
    if (this.seen[slot] === ext) {
      this.duplicates++;
      if (delta === 0) return;
      this.reordered--; // a duplicate is not also a reordering
      return;
    }
    this.seen[slot] = ext;
  }

  /** RFC 3550 §6.4.1: D = (Rj − Ri) − (Sj − Si) in timestamp units; J += (|D| − J) / 16. */
  private updateJitter(rtpTimestamp: number, arrivalUs: number): void {
    const arrivalUnits = (arrivalUs * this.clockRate) / 1e6;
    if (this.lastTransitSet) {
      const dTs = (rtpTimestamp - this.lastRtpTs) | 0; // signed 32-bit: survives the timestamp wrapping
      const d = arrivalUnits - this.lastArrivalUnits - dTs;
      this.jitter += (Math.abs(d) - this.jitter) / 16;
    }
    this.lastTransitSet = true;
    this.lastArrivalUnits = arrivalUnits;
    this.lastRtpTs = rtpTimestamp >>> 0;
  }
}
