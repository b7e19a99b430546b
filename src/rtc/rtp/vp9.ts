/**
 * VP9 RTP payload descriptor (RFC 9628 §4.2, formerly draft-ietf-payload-vp9): the bits an SFU
 * needs to select spatial and temporal layers of an SVC stream, and the scalability structure
 * (§4.2.1) with each spatial layer's resolution.
 *
 *        0 1 2 3 4 5 6 7
 *       +-+-+-+-+-+-+-+-+
 *       |I|P|L|F|B|E|V|Z|
 *       +-+-+-+-+-+-+-+-+
 *   I:  |M| PICTURE ID  |   M: 15-bit picture id (one more byte)
 *   L:  |  TID  |U| SID |D|
 *       |   TL0PICIDX   |   only in non-flexible mode (F=0)
 *   F,P:|    P_DIFF   |N|   up to 3, while N
 *   V:  |   SS ...      |
 */
import { readPictureId } from './picture-id.js';

/** At most 8 spatial layers (N_S is 3 bits). */
export const VP9_MAX_SPATIAL_LAYERS = 8;
/** Flexible mode: at most 3 reference indices per picture (§4.2). */
const MAX_P_DIFFS = 3;

/** Reusable result of `parseVp9Descriptor`. Offsets are relative to the payload start; -1 = absent. */
export class Vp9Descriptor {
  /** P: inter-picture predicted (P=0 on a spatial layer's keyframe / intra frame). */
  interPicturePredicted = false;
  /** F: flexible mode (references as P_DIFFs, no TL0PICIDX). */
  flexible = false;
  /** B: the first packet of a layer frame. */
  beginningOfFrame = false;
  /** E: the last packet of a layer frame. */
  endOfFrame = false;
  /** Z: this frame is not used as a reference by upper spatial layers. */
  notUpperReference = false;
  pictureIdOffset = -1;
  /** 1 (7-bit) or 2 (15-bit); 0 when absent. */
  pictureIdLength = 0;
  pictureId = -1;
  /** L present: TID, U, SID, D below are valid; otherwise they default to 0. */
  hasLayerIndices = false;
  temporalId = 0;
  /** U: switching up point — a temporal layer switch up to this TID may happen here. */
  switchingUp = false;
  spatialId = 0;
  /** D: inter-layer dependency (the frame uses the lower spatial layer of the same picture). */
  interLayerDependency = false;
  tl0PicIdxOffset = -1;
  tl0PicIdx = -1;
  /** Flexible mode reference differences (count in `pDiffCount`). */
  readonly pDiffs = new Uint8Array(MAX_P_DIFFS);
  pDiffCount = 0;
  /** V: the packet carries a scalability structure. */
  hasScalabilityStructure = false;
  /** Spatial layers described by the SS (N_S + 1); 0 without SS. */
  spatialLayers = 0;
  /** Y: the SS carries each layer's resolution. */
  hasResolutions = false;
  readonly widths = new Uint16Array(VP9_MAX_SPATIAL_LAYERS);
  readonly heights = new Uint16Array(VP9_MAX_SPATIAL_LAYERS);
  /** N_G: pictures in the group of frames described by the SS (0 when G=0). */
  pictureGroupSize = 0;
  /** Offset of the VP9 payload (after the descriptor). */
  descriptorLength = 0;
}

/** Fills `out` from the payload at `buf[offset, offset+length)`; false when truncated or malformed. */
export function parseVp9Descriptor(buf: Buffer, offset: number, length: number, out: Vp9Descriptor): boolean {
  const end = offset + length;
  if (length < 1 || offset < 0 || end > buf.length) return false;
  const b0 = buf[offset] as number;
  const i = (b0 & 0x80) !== 0;
  const l = (b0 & 0x20) !== 0;
  out.interPicturePredicted = (b0 & 0x40) !== 0;
  out.flexible = (b0 & 0x10) !== 0;
  out.beginningOfFrame = (b0 & 0x08) !== 0;
  out.endOfFrame = (b0 & 0x04) !== 0;
  out.hasScalabilityStructure = (b0 & 0x02) !== 0;
  out.notUpperReference = (b0 & 0x01) !== 0;
  out.pictureIdOffset = -1;
  out.pictureIdLength = 0;
  out.pictureId = -1;
  out.hasLayerIndices = l;
  out.temporalId = 0;
  out.switchingUp = false;
  out.spatialId = 0;
  out.interLayerDependency = false;
  out.tl0PicIdxOffset = -1;
  out.tl0PicIdx = -1;
  out.pDiffCount = 0;
  out.spatialLayers = 0;
  out.hasResolutions = false;
  out.pictureGroupSize = 0;
  let off = offset + 1;
  if (i) {
    off = readPictureId(buf, off, end, offset, out);
    if (off < 0) return false;
  }
  if (l) {
    if (off >= end) return false;
    const x = buf[off++] as number;
    out.temporalId = x >>> 5;
    out.switchingUp = (x & 0x10) !== 0;
    out.spatialId = (x >>> 1) & 0x07;
    out.interLayerDependency = (x & 0x01) !== 0;
    if (!out.flexible) {
      if (off >= end) return false;
      out.tl0PicIdxOffset = off - offset;
      out.tl0PicIdx = buf[off++] as number;
    }
  }
  if (out.flexible && out.interPicturePredicted) {
    // §4.2: P_DIFF with N set means another follows; at most 3.
    for (;;) {
      if (off >= end) return false;
      const p = buf[off++] as number;
      if (out.pDiffCount >= MAX_P_DIFFS) return false;
      out.pDiffs[out.pDiffCount++] = p >>> 1;
      if ((p & 0x01) === 0) break;
    }
  }
  if (out.hasScalabilityStructure) {
    off = parseScalabilityStructure(buf, off, end, out);
    if (off < 0) return false;
  }
  out.descriptorLength = off - offset;
  return true;
}

/** §4.2.1; returns the offset after the SS, or -1 when truncated. */
function parseScalabilityStructure(buf: Buffer, off: number, end: number, out: Vp9Descriptor): number {
  if (off >= end) return -1;
  const v = buf[off++] as number;
  const layers = (v >>> 5) + 1;
  const y = (v & 0x10) !== 0;
  const g = (v & 0x08) !== 0;
  out.spatialLayers = layers;
  out.hasResolutions = y;
  if (y) {
    if (off + 4 * layers > end) return -1;
    for (let s = 0; s < layers; s++) {
      out.widths[s] = buf.readUInt16BE(off);
      out.heights[s] = buf.readUInt16BE(off + 2);
      off += 4;
    }
  }
  if (g) {
    if (off >= end) return -1;
    const groups = buf[off++] as number;
    out.pictureGroupSize = groups;
    for (let k = 0; k < groups; k++) {
      if (off >= end) return -1;
      const refs = ((buf[off++] as number) >>> 2) & 0x03; // TID(3) U(1) R(2) -(2)
      off += refs;
      if (off > end) return -1;
    }
  }
  return off;
}

/**
 * A picture an SVC decoder can start from: the first packet of the base spatial layer's
 * frame, not inter-picture predicted.
 */
export function isVp9Keyframe(d: Vp9Descriptor): boolean {
  return d.beginningOfFrame && !d.interPicturePredicted && d.spatialId === 0;
}
