/**
 * The PictureID field VP8 (RFC 7741 §4.2) and VP9 (RFC 9628 §4.2) descriptors share: one byte
 * with M = 0 (7-bit id), or two with M = 1 (15-bit id).
 */

/** Where a descriptor keeps what readPictureId found (offset relative to the payload start). */
export interface PictureIdFields {
  pictureIdOffset: number;
  /** 1 (7-bit PictureID) or 2 (15-bit); 0 when absent. */
  pictureIdLength: number;
  pictureId: number;
}

/**
 * Reads the PictureID at `buf[off]` of the payload starting at `payloadStart` into `out`;
 * returns the offset after it, or -1 when it runs past `end`.
 */
export function readPictureId(buf: Buffer, off: number, end: number, payloadStart: number, out: PictureIdFields): number {
  if (off >= end) return -1;
  out.pictureIdOffset = off - payloadStart;
  if (((buf[off] as number) & 0x80) !== 0) {
    if (off + 2 > end) return -1;
    out.pictureIdLength = 2;
    out.pictureId = buf.readUInt16BE(off) & 0x7fff;
    return off + 2;
  }
  out.pictureIdLength = 1;
  out.pictureId = buf[off] as number;
  return off + 1;
}
