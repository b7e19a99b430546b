/**
 * The load tool's mark at the end of every RTP payload it sends: which sender track the packet
 * belongs to and when it was captured, so a receiver can attribute it and measure one-way latency
 * whatever the SFU did to SSRCs, sequence numbers and header extensions (an SFU forwards the
 * payload untouched; header extensions are negotiated per hop and may be stripped).
 *
 *   trailer = magic:u32be "SBLT"  trackId:u32be  captureUs:f64be   (16 bytes, last in the payload)
 *
 * captureUs is `performance.timeOrigin + performance.now()` in microseconds — wall-clock based,
 * so peers in different processes on the same host share the clock. Integer µs since 1970 fit a
 * float64 exactly (< 2^53).
 */

export const TRAILER_MAGIC = 0x53424c54; // "SBLT"
export const TRAILER_LENGTH = 16;

/** Microseconds on the host's clock, comparable across processes of this host. */
export const nowUs = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000);

/** Writes the trailer into the last 16 bytes of `packet` (the caller made room for it). */
export function writeTrailer(packet: Buffer, trackId: number, captureUs: number): void {
  const off = packet.length - TRAILER_LENGTH;
  packet.writeUInt32BE(TRAILER_MAGIC, off);
  packet.writeUInt32BE(trackId >>> 0, off + 4);
  packet.writeDoubleBE(captureUs, off + 8);
}

/** Reusable result of `readTrailer`. */
export class TrailerView {
  trackId = 0;
  captureUs = 0;
}

/**
 * Reads the trailer of an RTP packet whose payload ends at `payloadEnd` (before any RTP padding);
 * false when the payload is too short, the magic is absent or the time is not a finite number.
 */
export function readTrailer(packet: Buffer, payloadStart: number, payloadEnd: number, out: TrailerView): boolean {
  const off = payloadEnd - TRAILER_LENGTH;
  if (off < payloadStart || payloadEnd > packet.length) return false;
  if (packet.readUInt32BE(off) !== TRAILER_MAGIC) return false;
  const captureUs = packet.readDoubleBE(off + 8);
  if (!Number.isFinite(captureUs)) return false;
  out.trackId = packet.readUInt32BE(off + 4);
  out.captureUs = captureUs;
  return true;
}
