/**
 * TURN ChannelData framing (RFC 8656 §12.4): channel number, length, data. RFC 8656 narrowed
 * channel numbers to 0x4000–0x4FFF, but RFC 5766 allowed up to 0x7FFF and libwebrtc (Chrome)
 * and coturn's clients still pick from that whole range: refusing it would break them. On a
 * TURN port nothing else starts with 0x40–0x7F (RFC 7983's other ranges are not seen there).
 */

export interface ChannelData {
  channel: number;
  data: Buffer;
}

export function isChannelNumber(n: number): boolean {
  return n >= 0x4000 && n <= 0x7fff;
}

/**
 * The payload length of a valid frame, or -1. For per-packet paths: the payload is then
 * bytes 4 .. 4 + length, with no object made to say so.
 */
export function channelDataLength(buf: Buffer): number {
  if (buf.length < 4 || !isChannelNumber(buf.readUInt16BE(0))) return -1;
  const len = buf.readUInt16BE(2);
  return 4 + len > buf.length ? -1 : len;
}

/** undefined when not a valid frame; padding after the data is allowed (UDP) and ignored. */
export function decodeChannelData(buf: Buffer): ChannelData | undefined {
  const len = channelDataLength(buf);
  return len < 0 ? undefined : { channel: buf.readUInt16BE(0), data: buf.subarray(4, 4 + len) };
}

/** `padded`: round up to 4 bytes, as required over TCP/TLS (§12.5). */
export function encodeChannelData(channel: number, data: Buffer, padded = false): Buffer {
  if (!isChannelNumber(channel)) throw new RangeError(`not a channel number: 0x${channel.toString(16)}`);
  if (data.length > 0xffff) throw new RangeError('ChannelData payload over 65535 bytes');
  const total = 4 + data.length + (padded ? (4 - (data.length % 4)) % 4 : 0);
  const out = Buffer.alloc(total);
  out.writeUInt16BE(channel, 0);
  out.writeUInt16BE(data.length, 2);
  data.copy(out, 4);
  return out;
}
