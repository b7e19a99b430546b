/**
 * Per-consumer rewrite of RTP SSRC, sequence numbers and timestamps, so that what a consumer
 * receives is one continuous stream even when the SFU skips packets or switches between
 * source streams (simulcast layers), each with its own sequence and timestamp spaces.
 *
 * Within one source, output seq = input seq + offset − (packets deliberately dropped before
 * it), computed from the unwrapped input number alone, so a retransmitted or reordered packet
 * maps to the same output number as the first time. A drop therefore closes its hole for
 * every later packet without moving earlier ones. On a switch, the next output seq is the
 * last output + 1 and the output timestamp advances by the wall-clock time since the last
 * packet (at least one tick), since the new source's timestamps are unrelated (RFC 3550 §5.1:
 * random initial values).
 */
import { setSequenceNumber, setSsrc, setTimestamp, type RtpHeaderView } from '../../rtc/rtp/header.js';
import { seqDelta } from '../../rtc/rtp/sequence.js';

/** Packets more than this far behind the newest input are dropped as too old to be useful. */
export const REORDER_WINDOW = 0x1000;
const SEQ_MOD = 0x10000;

export interface RtpStreamRewriterOptions {
  /** SSRC of the outgoing stream. */
  ssrc: number;
  /** RTP clock rate of the codec (e.g. 90000 for video, 48000 for Opus). */
  clockRate: number;
  /** First output sequence number; by default the first input's. */
  initialSeq?: number;
  /** First output timestamp; by default the first input's. */
  initialTimestamp?: number;
}

export class RtpStreamRewriter {
  readonly ssrc: number;
  readonly clockRate: number;
  /** Packets forwarded (rewritten). */
  forwarded = 0;
  /** Packets refused: older than the switch point or the reorder window, or already dropped. */
  discarded = 0;
  /** Packets deliberately dropped through `drop`. */
  skipped = 0;

  private readonly initialSeq: number | undefined;
  private readonly initialTimestamp: number | undefined;
  /** No source yet, or `switchSource` called: the next packet sets the base. */
  private pending = true;
  private started = false;
  /** Output = input extended + seqBase − drops below it. */
  private seqBase = 0;
  private tsOffset = 0;
  /** Unwrapped input number of the source's first packet: anything older is discarded. */
  private switchPoint = 0;
  private highestInput = 0;
  /** Unwrapped input numbers dropped on purpose, ascending, all within the reorder window. */
  private readonly dropped: number[] = [];
  private lastOutputExt = 0;
  private lastOutputTs = 0;
  private lastPacketMs = 0;

  constructor(options: RtpStreamRewriterOptions) {
    this.ssrc = options.ssrc >>> 0;
    this.clockRate = options.clockRate;
    this.initialSeq = options.initialSeq;
    this.initialTimestamp = options.initialTimestamp;
  }

  /** The last output sequence number (of the newest packet forwarded). */
  get lastOutputSeq(): number {
    return this.lastOutputExt % SEQ_MOD;
  }

  get lastOutputTimestamp(): number {
    return this.lastOutputTs;
  }

  /**
   * The next packet comes from another source stream; its sequence and timestamp spaces
   * start afresh. Retransmissions of the old source can no longer be mapped.
   */
  switchSource(): void {
    if (this.started) this.pending = true;
  }

  /**
   * Rewrites SSRC, sequence number and timestamp of `buf` (parsed into `view`) in place;
   * false when the packet must not be forwarded (too old, before the switch point, or a
   * retransmission of a dropped one). `nowMs` is the wall clock, used across a switch.
   */
  rewrite(buf: Buffer, view: RtpHeaderView, nowMs: number): boolean {
    const input = this.accept(view.sequenceNumber, view.timestamp, nowMs);
    if (input < 0) return false;
    const out = input + this.seqBase - this.droppedBelow(input);
    const ts = (view.timestamp + this.tsOffset) >>> 0;
    if (out > this.lastOutputExt) {
      this.lastOutputExt = out;
      this.lastOutputTs = ts;
      this.lastPacketMs = nowMs;
    }
    setSequenceNumber(buf, out % SEQ_MOD);
    setTimestamp(buf, ts);
    setSsrc(buf, this.ssrc);
    this.forwarded++;
    return true;
  }

  /**
   * The SFU skips this packet (e.g. padding only): later packets close up over it. Only a
   * packet newer than every one forwarded can be closed over; an older one stays a gap.
   */
  drop(view: RtpHeaderView, nowMs: number): void {
    const input = this.accept(view.sequenceNumber, view.timestamp, nowMs);
    if (input < 0) return;
    this.skipped++;
    if (input + this.seqBase - this.droppedBelow(input) <= this.lastOutputExt) return;
    if (this.dropped.length === 0 || (this.dropped[this.dropped.length - 1] as number) < input) this.dropped.push(input);
    else this.dropped.splice(this.insertionIndex(input), 0, input);
  }

  /** The input sequence number (current source) that `outputSeq` was made from, if any. */
  mapSeqBack(outputSeq: number): number | undefined {
    if (!this.started || this.pending) return undefined;
    const outExt = this.lastOutputExt + seqDelta(outputSeq, this.lastOutputExt % SEQ_MOD);
    const target = outExt - this.seqBase; // = input − drops below input
    let input = target;
    for (let guard = 0; guard <= this.dropped.length + 1; guard++) {
      const candidate = target + this.droppedBelow(input);
      if (candidate > input) {
        input = candidate;
        continue;
      }
      if (this.isDropped(input)) {
        input++;
        continue;
      }
      break;
    }
    if (input < this.switchPoint || input > this.highestInput || this.highestInput - input > REORDER_WINDOW || this.isDropped(input))
      return undefined;
    return input % SEQ_MOD;
  }

  /** Unwraps the input number, setting the base on a source's first packet; -1 to refuse. */
  private accept(seq: number, timestamp: number, nowMs: number): number {
    if (this.pending) {
      this.startSource(seq, timestamp, nowMs);
      return this.highestInput;
    }
    const input = this.highestInput + seqDelta(seq, this.highestInput % SEQ_MOD);
    if (input < this.switchPoint || this.highestInput - input > REORDER_WINDOW || this.isDropped(input)) {
      this.discarded++;
      return -1;
    }
    if (input > this.highestInput) {
      this.highestInput = input;
      this.foldOldDrops();
    }
    return input;
  }

  private startSource(seq: number, timestamp: number, nowMs: number): void {
    // Input numbers start in cycle 1 so that anything before them stays positive.
    const input = SEQ_MOD + seq;
    if (!this.started) {
      const firstOut = SEQ_MOD + ((this.initialSeq ?? seq) % SEQ_MOD);
      this.lastOutputExt = firstOut - 1;
      this.tsOffset = (this.initialTimestamp ?? timestamp) - timestamp;
      this.lastOutputTs = (timestamp + this.tsOffset - 1) >>> 0;
      this.lastPacketMs = nowMs;
      this.started = true;
    } else {
      const ticks = Math.max(1, Math.round(((nowMs - this.lastPacketMs) * this.clockRate) / 1000));
      this.tsOffset = (((this.lastOutputTs + ticks - timestamp) % 2 ** 32) + 2 ** 32) % 2 ** 32;
    }
    this.seqBase = this.lastOutputExt + 1 - input;
    this.switchPoint = input;
    this.highestInput = input;
    this.dropped.length = 0;
    this.pending = false;
  }

  /**
   * A drop older than the reorder window can no longer be reached by an accepted packet:
   * fold it into the base so the list stays bounded.
   */
  private foldOldDrops(): void {
    let n = 0;
    while (n < this.dropped.length && this.highestInput - (this.dropped[n] as number) > REORDER_WINDOW) n++;
    if (n === 0) return;
    this.dropped.splice(0, n);
    this.seqBase -= n;
  }

  private droppedBelow(input: number): number {
    return this.insertionIndex(input);
  }

  /** Index of the first dropped number ≥ `input` (binary search). */
  private insertionIndex(input: number): number {
    let lo = 0;
    let hi = this.dropped.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.dropped[mid] as number) < input) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private isDropped(input: number): boolean {
    const i = this.insertionIndex(input);
    return i < this.dropped.length && this.dropped[i] === input;
  }
}
