/**
 * VP8 payload descriptor rewrite for one consumer (RFC 7741 §4.2): keeps PictureID and
 * TL0PICIDX continuous for the subscriber when the SFU switches between simulcast streams
 * (each has its own numbering) and when it drops frames of temporal layers it does not
 * forward (a gap in PictureID would look like a lost frame to the decoder).
 *
 * Input picture ids are unwrapped into a running count (7- or 15-bit as the packet says);
 * output = input + offset − pictures dropped since. TL0 frames are never dropped (layer 0 is
 * always forwarded), so TL0PICIDX only needs an offset across switches. A small ring maps the
 * recent input pictures to what they were given, so retransmissions and reordered packets get
 * the same output id as the first time.
 */
import { writeVp8PictureId, writeVp8Tl0PicIdx, type Vp8Descriptor } from '../../rtc/rtp/vp8.js';

const RING = 64;
const RING_MASK = RING - 1;
/** Marks a ring slot whose picture was dropped. */
const DROPPED = -1;

export class Vp8Munger {
  private pending = true;
  private started = false;
  /** Unwrapped (extended) input picture id of the newest picture seen from this source. */
  private highestIn = 0;
  private picOffset = 0;
  private tl0Offset = 0;
  private lastOutPic = 0;
  private lastOutTl0 = 0;
  private readonly ringIn = new Float64Array(RING).fill(-1);
  private readonly ringOut = new Float64Array(RING);

  /** The next packet comes from another stream (a simulcast switch, on its keyframe). */
  switchSource(): void {
    this.pending = true;
  }

  /** Rewrites PictureID / TL0PICIDX of a forwarded packet in place (`d` parsed at `payloadOffset`). */
  rewrite(buf: Buffer, payloadOffset: number, d: Vp8Descriptor): void {
    let newest = true;
    if (d.pictureIdLength > 0) {
      const ext = this.unwrap(d);
      newest = ext === this.highestIn;
      const slot = ext & RING_MASK;
      let out: number;
      if (this.ringIn[slot] === ext && this.ringOut[slot] !== DROPPED) {
        out = this.ringOut[slot] as number;
      } else {
        out = ext + this.picOffset;
        if (this.highestIn - ext < RING) {
          this.ringIn[slot] = ext;
          this.ringOut[slot] = out;
        }
      }
      if (out > this.lastOutPic) this.lastOutPic = out;
      writeVp8PictureId(buf, payloadOffset, d, out);
    }
    if (d.tl0PicIdx >= 0) {
      const out = (d.tl0PicIdx + this.tl0Offset) & 0xff;
      if (newest) this.lastOutTl0 = out; // a late copy of an older picture must not move it back
      writeVp8Tl0PicIdx(buf, payloadOffset, d, out);
    }
  }

  /** A packet of a frame not forwarded (a temporal layer above the target): later pictures close the gap. */
  drop(d: Vp8Descriptor): void {
    if (d.pictureIdLength === 0 || this.pending) return;
    const previous = this.highestIn;
    const ext = this.unwrap(d);
    const slot = ext & RING_MASK;
    if (this.ringIn[slot] === ext) return; // this picture is already accounted for
    this.ringIn[slot] = ext;
    this.ringOut[slot] = DROPPED;
    // Only a newest picture dropped shifts the pictures after it; an older one stays a gap.
    if (ext > previous) this.picOffset--;
  }

  /** The extended input picture id; the first packet after a switch sets the offsets. */
  private unwrap(d: Vp8Descriptor): number {
    const width = d.pictureIdLength === 2 ? 0x8000 : 0x80;
    const id = d.pictureId;
    if (this.pending) {
      this.pending = false;
      // A fresh base above anything before, aligned so that ext mod width = id for both widths.
      const ext = (Math.floor(this.highestIn / 0x8000) + 2) * 0x8000 + id;
      if (this.started) {
        this.picOffset = this.lastOutPic + 1 - ext;
        if (d.tl0PicIdx >= 0) this.tl0Offset = (this.lastOutTl0 + 1 - d.tl0PicIdx) & 0xff;
      } else {
        this.picOffset = id - ext;
        this.lastOutPic = id - 1;
        this.started = true;
      }
      this.ringIn.fill(-1);
      this.highestIn = ext;
      return ext;
    }
    const half = width >>> 1;
    let delta = (id - (this.highestIn % width) + width) % width;
    if (delta >= half) delta -= width;
    const ext = this.highestIn + delta;
    if (ext > this.highestIn) this.highestIn = ext;
    return ext;
  }
}
