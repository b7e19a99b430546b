/**
 * RTP header extensions (RFC 8285): finding one element in a received packet, and writing a
 * header with a list of elements in the one-byte (§4.2) or two-byte (§4.3) form.
 */
import { RTP_FIXED_HEADER_LENGTH, RTP_VERSION, type RtpHeaderView } from './header.js';

/** "Defined by profile" value of the one-byte form (RFC 8285 §4.2). */
export const ONE_BYTE_PROFILE = 0xbede;
/** The two-byte form is 0x100 followed by 4 application bits (RFC 8285 §4.3). */
export const TWO_BYTE_PROFILE = 0x1000;
const TWO_BYTE_PROFILE_MASK = 0xfff0;
/** One-byte form: ID 15 ends processing (RFC 8285 §4.2). */
const ONE_BYTE_RESERVED_ID = 15;

/**
 * Offset of the data of extension element `id`, its length written to
 * `view.extensionElementLength`; -1 when the packet has no such element, uses an unknown
 * extension profile, or its extension block is malformed. `view` must come from
 * `parseRtpHeader(buf, view)`.
 */
export function findHeaderExtension(buf: Buffer, view: RtpHeaderView, id: number): number {
  view.extensionElementLength = 0;
  if (!view.extension || id <= 0) return -1;
  let off = view.extensionOffset;
  const end = off + view.extensionLength;
  if (end > buf.length) return -1;
  if (view.extensionProfile === ONE_BYTE_PROFILE) {
    if (id >= ONE_BYTE_RESERVED_ID) return -1;
    while (off < end) {
      const b = buf[off] as number;
      const elementId = b >>> 4;
      if (elementId === 0) {
        off++;
        continue;
      } // padding byte (its length nibble must be 0)
      if (elementId === ONE_BYTE_RESERVED_ID) return -1;
      const length = (b & 0x0f) + 1;
      const data = off + 1;
      if (data + length > end) return -1;
      if (elementId === id) {
        view.extensionElementLength = length;
        return data;
      }
      off = data + length;
    }
    return -1;
  }
  if ((view.extensionProfile & TWO_BYTE_PROFILE_MASK) === TWO_BYTE_PROFILE) {
    if (id > 255) return -1;
    while (off < end) {
      const elementId = buf[off] as number;
      if (elementId === 0) {
        off++;
        continue;
      } // padding byte
      if (off + 2 > end) return -1;
      const length = buf[off + 1] as number;
      const data = off + 2;
      if (data + length > end) return -1;
      if (elementId === id) {
        view.extensionElementLength = length;
        return data;
      }
      off = data + length;
    }
  }
  return -1;
}

export interface RtpHeaderExtensionEntry {
  id: number;
  /** The element's data (1 to 16 bytes for the one-byte form, 0 to 255 for two-byte). */
  value: Uint8Array;
}

export interface RtpHeaderFields {
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrcs?: readonly number[];
}

/** One-byte form when every element fits it (ID 1–14, 1–16 bytes), else two-byte. */
function fitsOneByteForm(extensions: readonly RtpHeaderExtensionEntry[]): boolean {
  for (const e of extensions) {
    if (e.id < 1 || e.id > 14 || e.value.length < 1 || e.value.length > 16) return false;
  }
  return true;
}

/** Bytes `writeRtpHeader` will write for these fields and extensions. */
export function rtpHeaderLength(csrcCount: number, extensions: readonly RtpHeaderExtensionEntry[]): number {
  if (extensions.length === 0) return RTP_FIXED_HEADER_LENGTH + 4 * csrcCount;
  const perElement = fitsOneByteForm(extensions) ? 1 : 2;
  let data = 0;
  for (const e of extensions) data += perElement + e.value.length;
  return RTP_FIXED_HEADER_LENGTH + 4 * csrcCount + 4 + ((data + 3) & ~3);
}

/**
 * Writes an RTP header (version 2, no padding) with `extensions` into `out` at `offset`,
 * choosing the one-byte form when every element fits it; returns the bytes written, i.e. the
 * offset of the payload relative to `offset`. The extension block is zero-padded to 32 bits
 * (RFC 8285 §4.1). Throws RangeError for a caller error (bad ID or length, buffer too small).
 */
export function writeRtpHeader(
  out: Buffer,
  offset: number,
  header: RtpHeaderFields,
  extensions: readonly RtpHeaderExtensionEntry[],
): number {
  const csrcs = header.csrcs;
  const csrcCount = csrcs === undefined ? 0 : csrcs.length;
  if (csrcCount > 15) throw new RangeError('at most 15 CSRCs');
  const total = rtpHeaderLength(csrcCount, extensions);
  if (offset + total > out.length) throw new RangeError('buffer too small for the RTP header');
  const hasExtension = extensions.length > 0;
  out[offset] = (RTP_VERSION << 6) | (hasExtension ? 0x10 : 0) | csrcCount;
  out[offset + 1] = (header.marker ? 0x80 : 0) | (header.payloadType & 0x7f);
  out.writeUInt16BE(header.sequenceNumber & 0xffff, offset + 2);
  out.writeUInt32BE(header.timestamp >>> 0, offset + 4);
  out.writeUInt32BE(header.ssrc >>> 0, offset + 8);
  let off = offset + RTP_FIXED_HEADER_LENGTH;
  for (let i = 0; i < csrcCount; i++, off += 4) out.writeUInt32BE(((csrcs as readonly number[])[i] as number) >>> 0, off);
  if (!hasExtension) return total;
  const oneByte = fitsOneByteForm(extensions);
  const blockEnd = offset + total;
  out.writeUInt16BE(oneByte ? ONE_BYTE_PROFILE : TWO_BYTE_PROFILE, off);
  out.writeUInt16BE((blockEnd - off - 4) / 4, off + 2);
  off += 4;
  for (const e of extensions) {
    const len = e.value.length;
    if (oneByte) {
      out[off++] = (e.id << 4) | (len - 1);
    } else {
      if (e.id < 1 || e.id > 255 || len > 255) throw new RangeError(`extension ${e.id}: ID 1-255 and at most 255 bytes`);
      out[off++] = e.id;
      out[off++] = len;
    }
    out.set(e.value, off);
    off += len;
  }
  out.fill(0, off, blockEnd);
  return total;
}
