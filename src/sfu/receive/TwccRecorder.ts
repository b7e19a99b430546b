/**
 * TwccRecorder: the receiving side of transport-wide congestion control on a publish
 * transport. It notes when each transport-wide sequence number arrived and, every feedback
 * interval, writes one transport-cc feedback (draft-holmer-rmcat-transport-wide-cc-
 * extensions-01 §3.1) covering every number since the previous feedback, lost ones included.
 *
 * Without this feedback a browser's send-side estimator never ramps up (it stays near its
 * start rate of a few hundred kbit/s), so a simulcast publisher would only ever send its
 * lowest layers.
 *
 * A number that arrives after it was reported lost is reported again (received) in the next
 * feedback, as libwebrtc's receiver does; one older than the ring is ignored.
 */
import { writeTwccFeedback, type TwccArrival } from '../../rtc/rtcp/index.js';
import { SeqUnwrapper } from '../../rtc/rtp/sequence.js';

/** Arrivals remembered: ~8 s at 1,000 packets/s. A power of two. */
const RING = 8192;
const MASK = RING - 1;
/** One feedback covers at most this many numbers (fits a 1,200-byte packet even with 2-byte deltas); the rest go in the next. */
const MAX_PER_FEEDBACK = 400;
/** Numbers lost before the first arrival of a feedback that are still reported as lost. */
const MAX_LEADING_LOSSES = 100;
/** A report may start at most this far back (late arrivals of numbers already reported). */
const MAX_LOOKBACK = 500;
/** 16-bit signed deltas of 250 µs reach ±8.19 s; consecutive arrivals further apart start a new feedback. */
const MAX_SPAN_US = 8_000_000;

export class TwccRecorder {
  private readonly unwrapper = new SeqUnwrapper();
  /** Extended sequence number held in each slot (-1 empty), and its arrival time in µs. */
  private readonly slotSeq = new Float64Array(RING).fill(-1);
  private readonly slotArrival = new Float64Array(RING);
  /** First extended number not yet covered by a feedback; -1 before the first packet. */
  private nextToReport = -1;
  private highest = -1;
  /** Lowest number that arrived late, below `nextToReport` (re-report from there). */
  private lateFrom = -1;
  private fbPktCount = 0;
  private readonly arrivals: TwccArrival[] = Array.from({ length: MAX_PER_FEEDBACK }, () => ({ seq: 0, arrivalUs: 0 }));
  feedbacksSent = 0;
  /** Numbers older than the ring or the look-back, dropped. */
  tooOld = 0;

  /** A packet carrying transport-wide sequence number `seq` (16 bits) arrived at `nowMs`. */
  onPacket(seq: number, nowMs: number): void {
    const ext = this.unwrapper.unwrap(seq);
    if (this.highest >= 0 && this.highest - ext >= RING) {
      this.tooOld++;
      return;
    }
    const slot = ext & MASK;
    if (this.slotSeq[slot] === ext) return; // duplicate: the first arrival counts
    this.slotSeq[slot] = ext;
    this.slotArrival[slot] = nowMs * 1000;
    if (ext > this.highest) this.highest = ext;
    if (this.nextToReport < 0) this.nextToReport = ext;
    else if (ext < this.nextToReport) {
      if (this.nextToReport - ext > MAX_LOOKBACK) {
        this.tooOld++;
        return;
      }
      if (this.lateFrom < 0 || ext < this.lateFrom) this.lateFrom = ext;
    }
  }

  /**
   * Writes the next feedback into `out` at `offset` (one RTCP packet); returns its length, 0
   * when there is nothing to report. Call it again while it returns > 0 to drain a backlog.
   */
  writeFeedback(out: Buffer, offset: number, senderSsrc: number, mediaSsrc: number): number {
    if (this.nextToReport < 0) return 0;
    let from = this.nextToReport;
    if (this.lateFrom >= 0) {
      from = Math.min(from, this.lateFrom);
      this.lateFrom = -1;
    }
    // Nothing of the ring's span older than it can be reported.
    if (this.highest - from >= RING) from = this.highest - RING + 1;
    let firstArrived = from;
    while (firstArrived <= this.highest && this.slotSeq[firstArrived & MASK] !== firstArrived) firstArrived++;
    if (firstArrived > this.highest) {
      this.nextToReport = this.highest + 1;
      return 0;
    }
    // Losses just before an arrival are reported as such; a long run of numbers none of
    // which arrived (a jump ahead, or an outage) is skipped unreported.
    if (firstArrived - from > MAX_LEADING_LOSSES) from = firstArrived;
    let n = 0;
    let prevUs = 0;
    let end = from;
    for (let ext = from; ext <= this.highest && end - from < MAX_PER_FEEDBACK; ext++) {
      end = ext + 1;
      const slot = ext & MASK;
      if (this.slotSeq[slot] !== ext) continue;
      const at = this.slotArrival[slot] as number;
      if (n > 0 && Math.abs(at - prevUs) > MAX_SPAN_US) {
        end = ext;
        break;
      }
      prevUs = at;
      const a = this.arrivals[n++] as TwccArrival;
      a.seq = ext & 0xffff;
      a.arrivalUs = at;
    }
    if (end > this.nextToReport) this.nextToReport = end;
    const len = writeTwccFeedback(out, offset, {
      senderSsrc,
      mediaSsrc,
      fbPktCount: this.fbPktCount,
      arrivals: this.arrivals,
      count: n,
      baseSeq: from & 0xffff,
    });
    this.fbPktCount = (this.fbPktCount + 1) & 0xff;
    this.feedbacksSent++;
    return len;
  }
}
