/**
 * Receive-side loss recovery for one producer: notices gaps in the publisher's sequence
 * numbers and says which packets to ask for again with generic NACKs (RFC 4585 §6.2.1).
 *
 * A packet is asked for once it has been missing for `reorderMs` (packets arrive slightly
 * out of order more often than they are lost), then again every `retryMs`, at most `maxTries`
 * times and never after `maxAgeMs`: past that a video decoder is better served by a keyframe.
 */
import { seqDelta } from '../../rtc/rtp/sequence.js';

export interface NackRequesterOptions {
  reorderMs: number;
  retryMs: number;
  maxTries: number;
  maxAgeMs: number;
  /** A gap wider than this is not NACKed at all (the caller should ask for a keyframe). */
  maxGap: number;
}

export const DEFAULT_NACK_OPTIONS: NackRequesterOptions = { reorderMs: 10, retryMs: 40, maxTries: 10, maxAgeMs: 1000, maxGap: 300 };

interface Missing {
  since: number;
  lastAskedAt: number;
  tries: number;
}

export class NackRequester {
  private highest = -1;
  private readonly missing = new Map<number, Missing>();
  /** Packets given up on (asked maxTries times or too old) — a keyframe is the cure. */
  givenUp = 0;
  recovered = 0;

  constructor(private readonly opts: NackRequesterOptions = DEFAULT_NACK_OPTIONS) {}

  get pending(): number {
    return this.missing.size;
  }

  /** Records an arriving packet; returns true when a gap was too wide to repair by NACK. */
  onPacket(seq: number, now: number): boolean {
    if (this.highest < 0) {
      this.highest = seq;
      return false;
    }
    const d = seqDelta(seq, this.highest);
    if (d <= 0) {
      if (this.missing.delete(seq)) this.recovered++;
      return false;
    }
    this.highest = seq;
    if (d === 1) return false;
    if (d - 1 > this.opts.maxGap) {
      this.givenUp += this.missing.size;
      this.missing.clear();
      return true;
    }
    for (let i = 1; i < d; i++) this.missing.set((seq - d + i) & 0xffff, { since: now, lastAskedAt: 0, tries: 0 });
    // Bound the table: the oldest entries are the least likely to still help.
    if (this.missing.size > this.opts.maxGap) {
      for (const key of this.missing.keys()) {
        if (this.missing.size <= this.opts.maxGap) break;
        this.missing.delete(key);
        this.givenUp++;
      }
    }
    return false;
  }

  /**
   * Appends to `out` the sequence numbers to NACK now and returns true if some packet was
   * given up (the caller may want a keyframe).
   */
  collect(now: number, out: number[]): boolean {
    let gaveUp = false;
    for (const [seq, m] of this.missing) {
      if (now - m.since > this.opts.maxAgeMs || m.tries >= this.opts.maxTries) {
        this.missing.delete(seq);
        this.givenUp++;
        gaveUp = true;
        continue;
      }
      if (now - m.since < this.opts.reorderMs) continue;
      if (m.tries > 0 && now - m.lastAskedAt < this.opts.retryMs) continue;
      m.tries++;
      m.lastAskedAt = now;
      out.push(seq);
    }
    return gaveUp;
  }

  reset(): void {
    this.highest = -1;
    this.missing.clear();
  }
}
