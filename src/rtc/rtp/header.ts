/**
 * RTP fixed header (RFC 3550 §5.1) parsed into a reusable view: one `RtpHeaderView` per
 * receive loop, `parseRtpHeader` fills it in without allocating. The setters edit a packet in
 * place, which is all an SFU does to the header of a forwarded packet.
 */

export const RTP_VERSION = 2;
export const RTP_FIXED_HEADER_LENGTH = 12;

export class RtpHeaderView {
  version = 0;
  padding = false;
  extension = false;
  csrcCount = 0;
  marker = false;
  payloadType = 0;
  sequenceNumber = 0;
  timestamp = 0;
  ssrc = 0;
  /** Offset of the payload: fixed header + CSRCs + header extension. */
  headerLength = 0;
  /** Payload bytes, padding excluded. */
  payloadLength = 0;
  /** Padding bytes at the end, the count octet included (RFC 3550 §5.1, P). */
  paddingLength = 0;
  /** The 16-bit "defined by profile" word of the extension header (0 when there is none). */
  extensionProfile = 0;
  /** Offset of the extension data (after its 4-byte header); 0 when there is none. */
  extensionOffset = 0;
  /** Length in bytes of the extension data (the header's word count × 4). */
  extensionLength = 0;
  /** Written by `findHeaderExtension`: the length of the element it found. */
  extensionElementLength = 0;
}

/**
 * Fills `out` from `buf`; false (with `out` in an unspecified state) when the packet is not a
 * well-formed RTP packet: too short, version ≠ 2, CSRCs or extension past the end, or a padding
 * count of 0 or larger than what follows the header.
 */
export function parseRtpHeader(buf: Buffer, out: RtpHeaderView): boolean {
  const len = buf.length;
  if (len < RTP_FIXED_HEADER_LENGTH) return false;
  const b0 = buf[0] as number;
  const b1 = buf[1] as number;
  const version = b0 >>> 6;
  if (version !== RTP_VERSION) return false;
  const csrcCount = b0 & 0x0f;
  let off = RTP_FIXED_HEADER_LENGTH + 4 * csrcCount;
  if (off > len) return false;
  const extension = (b0 & 0x10) !== 0;
  let extensionProfile = 0;
  let extensionOffset = 0;
  let extensionLength = 0;
  if (extension) {
    if (off + 4 > len) return false;
    extensionProfile = buf.readUInt16BE(off);
    extensionLength = 4 * buf.readUInt16BE(off + 2);
    extensionOffset = off + 4;
    off = extensionOffset + extensionLength;
    if (off > len) return false;
  }
  const padding = (b0 & 0x20) !== 0;
  let paddingLength = 0;
  if (padding) {
    // RFC 3550 §5.1: the last octet counts the padding, itself included, so it is at least 1.
    if (off >= len) return false;
    paddingLength = buf[len - 1] as number;
    if (paddingLength === 0 || paddingLength > len - off) return false;
  }
  out.version = version;
  out.padding = padding;
  out.extension = extension;
  out.csrcCount = csrcCount;
  out.marker = (b1 & 0x80) !== 0;
  out.payloadType = b1 & 0x7f;
  out.sequenceNumber = buf.readUInt16BE(2);
  out.timestamp = buf.readUInt32BE(4);
  out.ssrc = buf.readUInt32BE(8);
  out.headerLength = off;
  out.payloadLength = len - off - paddingLength;
  out.paddingLength = paddingLength;
  out.extensionProfile = extensionProfile;
  out.extensionOffset = extensionOffset;
  out.extensionLength = extensionLength;
  out.extensionElementLength = 0;
  return true;
}

export function setSequenceNumber(buf: Buffer, seq: number): void {
  buf.writeUInt16BE(seq & 0xffff, 2);
}

export function setTimestamp(buf: Buffer, timestamp: number): void {
  buf.writeUInt32BE(timestamp >>> 0, 4);
}

export function setSsrc(buf: Buffer, ssrc: number): void {
  buf.writeUInt32BE(ssrc >>> 0, 8);
}

export function setPayloadType(buf: Buffer, payloadType: number): void {
  buf[1] = ((buf[1] as number) & 0x80) | (payloadType & 0x7f);
}

export function setMarker(buf: Buffer, marker: boolean): void {
  buf[1] = marker ? (buf[1] as number) | 0x80 : (buf[1] as number) & 0x7f;
}
