/**
 * VideoJitterBuffer: one participant's VP8 or VP9 RTP packets in, whole frames out in decode
 * order.
 *
 * Packets are held by sequence number (reordering is undone by position, not by arrival). A
 * frame is the run of packets from one that begins a frame (VP8: S=1, PID=0, RFC 7741 §4.2;
 * VP9: B, RFC 9628 §4.2) through the one that ends it (VP8: the marker bit; VP9: E); it leaves
 * the buffer only when every packet of the run is present, the descriptors removed and the
 * payloads joined (frame-bits.ts reads each codec's descriptor).
 *
 * Loss: the producer already NACKs the publisher for missing packets (src/sfu/NackRequester),
 * so a gap is waited for up to `maxWaitMs`. After that the frame is given up; the frames
 * after it reference what was lost, so nothing more is given out until a keyframe is complete,
 * and one is asked for (`onKeyframeNeeded`).
 */
import { FrameBits, readFrameBits, type DecodedCodec } from './frame-bits.js';

const SLOTS = 1024;
const MASK = SLOTS - 1;
/** Largest frame assembled (a 1080p keyframe at high quality stays well below). */
const MAX_FRAME_BYTES = 1 << 20;

/** a − b in 16-bit sequence space, in [−32768, 32767] (RFC 3550 §A.1 arithmetic). */
function seqDiff(a: number, b: number): number {
  return ((a - b + 0x8000) & 0xffff) - 0x8000;
}

export interface VideoJitterBufferOptions {
  /** The payload format (default vp8). */
  codec?: DecodedCodec;
  /** How long a gap is waited for (retransmissions) before its frame is given up. */
  maxWaitMs?: number;
  /** A complete frame: `data` is a view valid until the next push. */
  onFrame(data: Buffer, keyframe: boolean, timestamp: number): void;
  onKeyframeNeeded(): void;
}

export class VideoJitterBuffer {
  private readonly slots: Buffer[] = [];
  private readonly lengths = new Int32Array(SLOTS);
  private readonly seqs = new Int32Array(SLOTS).fill(-1);
  private readonly flags = new Uint8Array(SLOTS);
  private readonly timestamps = new Uint32Array(SLOTS);
  private readonly bits = new FrameBits();
  private readonly codec: DecodedCodec;
  private frame = Buffer.allocUnsafe(64 * 1024);
  private readonly maxWaitMs: number;
  /** The sequence number the next frame must start at; -1 while waiting for a keyframe. */
  private expected = -1;
  /** Nothing older than this sequence number is used any more (emitted or given up); -1: no floor yet. */
  private floor = -1;
  /** Newest sequence number seen; -1 before the first packet. */
  private newest = -1;
  /** Since when the frame at `expected` has been incomplete while newer packets exist. */
  private stalledSince = -1;
  framesOut = 0;
  keyframesOut = 0;
  framesDropped = 0;
  latePackets = 0;
  malformedPackets = 0;
  keyframeRequests = 0;

  constructor(private readonly opts: VideoJitterBufferOptions) {
    this.maxWaitMs = opts.maxWaitMs ?? 200;
    this.codec = opts.codec ?? 'vp8';
    for (let i = 0; i < SLOTS; i++) this.slots.push(Buffer.allocUnsafe(0));
  }

  /** One RTP packet: its sequence number, timestamp, marker and payload (descriptor included). */
  push(seq: number, timestamp: number, marker: boolean, payload: Buffer, now: number): void {
    const d = this.bits;
    if (!readFrameBits(this.codec, payload, marker, d)) {
      this.malformedPackets++;
      return;
    }
    if (this.floor >= 0 && seqDiff(seq, this.floor) < 0) {
      this.latePackets++;
      return;
    }
    if (this.newest < 0 || seqDiff(seq, this.newest) > 0) {
      if (this.newest >= 0 && seqDiff(seq, this.newest) >= SLOTS) this.reset(); // far ahead: what we hold is useless
      this.newest = seq;
    } else if (seqDiff(this.newest, seq) >= SLOTS) {
      this.latePackets++;
      return;
    }
    const i = seq & MASK;
    if (this.seqs[i] === seq) return; // duplicate
    const body = payload.length - d.descriptorLength;
    let slot = this.slots[i] as Buffer;
    if (slot.length < body) slot = this.slots[i] = Buffer.allocUnsafe(Math.max(body, 1200));
    payload.copy(slot, 0, d.descriptorLength);
    this.lengths[i] = body;
    this.seqs[i] = seq;
    this.timestamps[i] = timestamp;
    this.flags[i] = (d.start ? 1 : 0) | (d.end ? 2 : 0) | (d.keyframe ? 4 : 0);
    this.drain(now);
  }

  /** Gives up a stalled frame once its wait is over (called on each push and by the mixer's clock). */
  poll(now: number): void {
    if (this.expected < 0 || this.stalledSince < 0) return;
    if (now - this.stalledSince < this.maxWaitMs) return;
    this.giveUp();
    this.drain(now);
  }

  private drain(now: number): void {
    for (;;) {
      if (this.expected < 0 && !this.findKeyframe()) return;
      const end = this.completeFrom(this.expected);
      if (end < 0) {
        // Incomplete: waiting makes sense only while something newer shows the frame is due.
        if (this.newest !== this.expected || end === -2) {
          if (this.stalledSince < 0) this.stalledSince = now;
          else if (now - this.stalledSince >= this.maxWaitMs) {
            this.giveUp();
            continue;
          }
        }
        return;
      }
      this.stalledSince = -1;
      this.emit(this.expected, end);
      this.expected = this.floor = (end + 1) & 0xffff;
    }
  }

  /**
   * The marker seq of the frame starting at `start` when every packet is here; -1 when some
   * packet is still missing; -2 when what is at `start` cannot start a frame.
   */
  private completeFrom(start: number): number {
    const i0 = start & MASK;
    if (this.seqs[i0] !== start) return -1;
    if (((this.flags[i0] as number) & 1) === 0) return -2;
    let seq = start;
    for (let n = 0; n < SLOTS; n++) {
      const i = seq & MASK;
      if (this.seqs[i] !== seq) return -1;
      if (n > 0 && ((this.flags[i] as number) & 1) !== 0) return -2; // a new frame began before a marker
      if (((this.flags[i] as number) & 2) !== 0) return seq;
      seq = (seq + 1) & 0xffff;
    }
    return -1;
  }

  private emit(start: number, end: number): void {
    let total = 0;
    for (let s = start; ; s = (s + 1) & 0xffff) {
      total += this.lengths[s & MASK] as number;
      if (s === end) break;
    }
    if (total > MAX_FRAME_BYTES) {
      this.framesDropped++;
      this.expected = -1;
      return;
    }
    if (this.frame.length < total) this.frame = Buffer.allocUnsafe(Math.max(total, this.frame.length * 2));
    let off = 0;
    for (let s = start; ; s = (s + 1) & 0xffff) {
      const i = s & MASK;
      off += (this.slots[i] as Buffer).copy(this.frame, off, 0, this.lengths[i]);
      this.seqs[i] = -1;
      if (s === end) break;
    }
    const keyframe = ((this.flags[start & MASK] as number) & 4) !== 0;
    this.framesOut++;
    if (keyframe) this.keyframesOut++;
    this.opts.onFrame(this.frame.subarray(0, total), keyframe, this.timestamps[start & MASK] as number);
  }

  /** The oldest buffered keyframe start becomes the expected frame; false when there is none. */
  private findKeyframe(): boolean {
    if (this.newest < 0) return false;
    const span = this.floor < 0 ? SLOTS - 1 : Math.min(SLOTS - 1, seqDiff(this.newest, this.floor));
    for (let back = span; back >= 0; back--) {
      const seq = (this.newest - back) & 0xffff;
      const i = seq & MASK;
      if (this.seqs[i] === seq && ((this.flags[i] as number) & 4) !== 0) {
        this.expected = seq;
        this.stalledSince = -1;
        return true;
      }
    }
    return false;
  }

  private giveUp(): void {
    this.framesDropped++;
    // The frames after the lost one depend on it: only a keyframe newer than it can start again.
    this.floor = (this.expected + 1) & 0xffff;
    this.expected = -1;
    this.stalledSince = -1;
    this.keyframeRequests++;
    this.opts.onKeyframeNeeded();
  }

  /** Forgets every packet held: the next frame out is a keyframe (after a pause in the input, or a fault). */
  reset(): void {
    this.seqs.fill(-1);
    this.expected = -1;
    this.floor = -1;
    this.newest = -1;
    this.stalledSince = -1;
  }
}
