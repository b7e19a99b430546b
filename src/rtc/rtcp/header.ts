/** The RTCP common header (RFC 3550 §6.4.1): V=2, P, a 5-bit count/FMT, PT, length in words − 1. */

export const RTCP_HEADER_LENGTH = 4;

/** Writes a header for a packet of `totalLength` bytes (a multiple of 4) at `offset`. */
export function writeRtcpHeader(out: Buffer, offset: number, count: number, pt: number, totalLength: number): void {
  out[offset] = 0x80 | (count & 0x1f);
  out[offset + 1] = pt;
  out.writeUInt16BE(totalLength / 4 - 1, offset + 2);
}

/** Throws when `out` cannot hold `length` bytes at `offset`: a caller error, not network input. */
export function ensureRoom(out: Buffer, offset: number, length: number): void {
  if (offset < 0 || offset + length > out.length) throw new RangeError(`RTCP packet of ${length} bytes does not fit at ${offset}`);
}
