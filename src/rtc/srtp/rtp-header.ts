/** Where an RTP packet's payload starts (RFC 3550 §5.1, §5.3.1): SRTP encrypts only what follows. */

export const RTP_FIXED_HEADER_LENGTH = 12;
export const RTCP_HEADER_LENGTH = 8;

/**
 * Length of the RTP header (fixed part, CSRCs, header extension) of `packet[0, end)`, or -1 if
 * it is not a version-2 RTP header that fits in `end` bytes.
 */
export function rtpHeaderLength(packet: Buffer, end: number): number {
  if (end < RTP_FIXED_HEADER_LENGTH || end > packet.length) return -1;
  const b0 = packet[0]!;
  if (b0 >> 6 !== 2) return -1;
  let length = RTP_FIXED_HEADER_LENGTH + 4 * (b0 & 0x0f);
  if ((b0 & 0x10) !== 0) {
    // §5.3.1: 16-bit profile-defined id, then the extension length in 32-bit words.
    if (length + 4 > end) return -1;
    length += 4 + 4 * ((packet[length + 2]! << 8) | packet[length + 3]!);
  }
  return length <= end ? length : -1;
}
