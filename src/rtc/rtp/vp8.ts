/**
 * VP8 RTP payload descriptor (RFC 7741 §4.2) and the first byte of the VP8 payload header
 * (§4.3): enough to spot keyframes and to locate PictureID / TL0PICIDX / TID for rewriting.
 */
import { readPictureId } from './picture-id.js';

/** Reusable result of `parseVp8Descriptor`. Offsets are relative to the payload start; -1 = absent. */
export class Vp8Descriptor {
  /** S: the packet starts a VP8 partition. */
  startOfPartition = false;
  /** PID: the partition index. */
  partitionId = 0;
  /** N: the frame is not used as a reference. */
  nonReference = false;
  pictureIdOffset = -1;
  /** 1 (7-bit PictureID) or 2 (15-bit, M bit set); 0 when absent. */
  pictureIdLength = 0;
  pictureId = -1;
  tl0PicIdxOffset = -1;
  tl0PicIdx = -1;
  /** Offset of the TID|Y|KEYIDX byte, present when T or K is set. */
  tidOffset = -1;
  /** Temporal layer index; -1 when T is not set. */
  tid = -1;
  layerSync = false;
  /** KEYIDX; -1 when K is not set. */
  keyIdx = -1;
  /** Offset of the VP8 payload (after the descriptor). */
  descriptorLength = 0;
}

/** Fills `out` from the payload at `buf[offset, offset+length)`; false when truncated. */
export function parseVp8Descriptor(buf: Buffer, offset: number, length: number, out: Vp8Descriptor): boolean {
  const end = offset + length;
  if (length < 1 || offset < 0 || end > buf.length) return false;
  const b0 = buf[offset] as number;
  out.startOfPartition = (b0 & 0x10) !== 0;
  out.partitionId = b0 & 0x07;
  out.nonReference = (b0 & 0x20) !== 0;
  out.pictureIdOffset = -1;
  out.pictureIdLength = 0;
  out.pictureId = -1;
  out.tl0PicIdxOffset = -1;
  out.tl0PicIdx = -1;
  out.tidOffset = -1;
  out.tid = -1;
  out.layerSync = false;
  out.keyIdx = -1;
  let off = offset + 1;
  if ((b0 & 0x80) !== 0) {
    if (off >= end) return false;
    const x = buf[off++] as number;
    if ((x & 0x80) !== 0) {
      // I
      off = readPictureId(buf, off, end, offset, out);
      if (off < 0) return false;
    }
    if ((x & 0x40) !== 0) {
      // L
      if (off >= end) return false;
      out.tl0PicIdxOffset = off - offset;
      out.tl0PicIdx = buf[off++] as number;
    }
    if ((x & 0x30) !== 0) {
      // T or K
      if (off >= end) return false;
      const t = buf[off] as number;
      out.tidOffset = off - offset;
      if ((x & 0x20) !== 0) {
        out.tid = t >>> 6;
        out.layerSync = (t & 0x20) !== 0;
      }
      if ((x & 0x10) !== 0) out.keyIdx = t & 0x1f;
      off++;
    }
  }
  out.descriptorLength = off - offset;
  return true;
}

const scratch = new Vp8Descriptor();

/**
 * True when the payload starts a keyframe: S=1 and PID=0 in the descriptor, and the P bit
 * (inverse key frame flag) of the VP8 payload header is 0 (RFC 7741 §4.3).
 */
export function isVp8Keyframe(buf: Buffer, offset = 0, length = buf.length - offset): boolean {
  if (!parseVp8Descriptor(buf, offset, length, scratch)) return false;
  if (!scratch.startOfPartition || scratch.partitionId !== 0) return false;
  if (scratch.descriptorLength >= length) return false;
  return ((buf[offset + scratch.descriptorLength] as number) & 0x01) === 0;
}

/** Rewrites the PictureID in place, keeping its width (7 or 15 bits) as parsed into `d`. */
export function writeVp8PictureId(buf: Buffer, offset: number, d: Vp8Descriptor, pictureId: number): void {
  if (d.pictureIdLength === 2) buf.writeUInt16BE(0x8000 | (pictureId & 0x7fff), offset + d.pictureIdOffset);
  else if (d.pictureIdLength === 1) buf[offset + d.pictureIdOffset] = pictureId & 0x7f;
}

/** Rewrites TL0PICIDX in place (8 bits, wrapping); no-op when the descriptor has none. */
export function writeVp8Tl0PicIdx(buf: Buffer, offset: number, d: Vp8Descriptor, tl0PicIdx: number): void {
  if (d.tl0PicIdxOffset >= 0) buf[offset + d.tl0PicIdxOffset] = tl0PicIdx & 0xff;
}

/** Reusable result of `readVp8KeyframeSize`. */
export class Vp8FrameSize {
  width = 0;
  height = 0;
}

/** RFC 6386 §9.1: the start code after a keyframe's 3-byte frame tag. */
const VP8_START_CODE = [0x9d, 0x01, 0x2a] as const;
/** Frame tag (3) + start code (3) + width (2) + height (2). */
const VP8_KEYFRAME_HEADER = 10;

/**
 * The frame size of a keyframe from the first packet of its frame (RFC 6386 §9.1: after the
 * frame tag, the start code 9d 01 2a, then 14-bit little-endian width and height, each with 2
 * scaling bits on top). `payloadOffset` is where the VP8 payload starts (after the RTP payload
 * descriptor). False when the bytes are not a keyframe header.
 */
export function readVp8KeyframeSize(buf: Buffer, payloadOffset: number, length: number, out: Vp8FrameSize): boolean {
  if (payloadOffset < 0 || length < VP8_KEYFRAME_HEADER || payloadOffset + length > buf.length) return false;
  if (((buf[payloadOffset] as number) & 0x01) !== 0) return false; // P=1: interframe
  for (let i = 0; i < 3; i++) if (buf[payloadOffset + 3 + i] !== VP8_START_CODE[i]) return false;
  out.width = buf.readUInt16LE(payloadOffset + 6) & 0x3fff;
  out.height = buf.readUInt16LE(payloadOffset + 8) & 0x3fff;
  return out.width > 0 && out.height > 0;
}
