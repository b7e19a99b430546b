/**
 * RTX retransmission format (RFC 4588 §4): the RTX packet carries the original header fields
 * except SSRC, payload type and sequence number, and its payload starts with the original
 * sequence number (OSN) followed by the original payload. Padding is not carried over.
 */
import { setPayloadType, setSequenceNumber, setSsrc, type RtpHeaderView } from './header.js';

const OSN_LENGTH = 2;

/**
 * Writes the original packet of RTX packet `rtx` (parsed into `view`) into `out`, with the
 * original SSRC and payload type; returns its length, or -1 when the RTX packet has no OSN
 * (e.g. a padding-only probe) or `out` is too small. `out` may be `rtx` itself (in place).
 */
export function unwrapRtx(rtx: Buffer, view: RtpHeaderView, out: Buffer, originalSsrc: number, originalPayloadType: number): number {
  const headerLength = view.headerLength;
  if (view.payloadLength < OSN_LENGTH) return -1;
  const length = headerLength + view.payloadLength - OSN_LENGTH;
  if (length > out.length || headerLength + view.payloadLength > rtx.length) return -1;
  const originalSeq = rtx.readUInt16BE(headerLength);
  if (out !== rtx) rtx.copy(out, 0, 0, headerLength);
  rtx.copy(out, headerLength, headerLength + OSN_LENGTH, headerLength + view.payloadLength);
  out[0] = (out[0] as number) & ~0x20; // no padding (RFC 4588 §4: padding belongs to the RTX packet)
  setSequenceNumber(out, originalSeq);
  setSsrc(out, originalSsrc);
  setPayloadType(out, originalPayloadType);
  return length;
}

/**
 * Writes packet `packet` (parsed into `view`) as an RTX packet into `out` with the RTX stream's
 * SSRC, payload type and sequence number; returns its length, or -1 when `out` is too small.
 * `out` may be `packet`'s own memory when it has 2 spare bytes after the payload.
 */
export function wrapRtx(packet: Buffer, view: RtpHeaderView, out: Buffer, rtxSsrc: number, rtxPayloadType: number, rtxSeq: number): number {
  const headerLength = view.headerLength;
  const length = headerLength + OSN_LENGTH + view.payloadLength;
  if (length > out.length || headerLength + view.payloadLength > packet.length) return -1;
  const originalSeq = view.sequenceNumber;
  // Payload first: when `out` is `packet`, it moves right over bytes not yet needed.
  packet.copy(out, headerLength + OSN_LENGTH, headerLength, headerLength + view.payloadLength);
  if (out !== packet) packet.copy(out, 0, 0, headerLength);
  out.writeUInt16BE(originalSeq, headerLength);
  out[0] = (out[0] as number) & ~0x20;
  setSequenceNumber(out, rtxSeq);
  setSsrc(out, rtxSsrc);
  setPayloadType(out, rtxPayloadType);
  return length;
}
