/**
 * RFC 4571 §2 framing of RTP, RTCP, DTLS and STUN over a TCP stream (as ICE-TCP uses it,
 * RFC 6544 §3): each frame is a 16-bit big-endian length, then that many bytes.
 *
 * Frames that lie whole inside one chunk are handed out as views of it (no copy); a frame
 * split across chunks is assembled in a buffer of its exact size. Neither is ever reused, so
 * a receiver may keep what it is given, as it may keep a UDP datagram.
 */
export const RFC4571_MAX_FRAME = 65535;

export class Rfc4571Framer {
  /** The frame being assembled across chunks, and how much of it is filled. */
  private partial: Buffer | null = null;
  private filled = 0;
  /** The length's first byte, when a chunk ended between the two. */
  private lengthHigh = -1;

  constructor(readonly maxFrame = RFC4571_MAX_FRAME) {}

  /** Bytes held for a frame not yet complete. */
  get pendingBytes(): number {
    return (this.partial ? this.filled : 0) + (this.lengthHigh >= 0 ? 1 : 0);
  }

  /**
   * Feeds one chunk and calls `onFrame` for every complete frame. Returns false when a frame
   * announces more than `maxFrame` bytes or `onFrame` returns false (garbage): the caller
   * closes the connection. Zero-length frames carry nothing and are skipped. Never throws.
   */
  push(chunk: Buffer, onFrame: (frame: Buffer) => boolean): boolean {
    let off = 0;
    const partial = this.partial;
    if (partial) {
      const n = Math.min(partial.length - this.filled, chunk.length);
      chunk.copy(partial, this.filled, 0, n);
      this.filled += n;
      off = n;
      if (this.filled < partial.length) return true;
      this.partial = null;
      if (!onFrame(partial)) return false;
    }
    while (off < chunk.length) {
      let length: number;
      if (this.lengthHigh >= 0) {
        length = (this.lengthHigh << 8) | (chunk[off] as number);
        this.lengthHigh = -1;
        off += 1;
      } else if (chunk.length - off >= 2) {
        length = chunk.readUInt16BE(off);
        off += 2;
      } else {
        this.lengthHigh = chunk[off] as number;
        return true;
      }
      if (length > this.maxFrame) return false;
      if (length === 0) continue;
      if (chunk.length - off >= length) {
        if (!onFrame(chunk.subarray(off, off + length))) return false;
        off += length;
      } else {
        const frame = Buffer.allocUnsafe(length);
        this.filled = chunk.copy(frame, 0, off);
        this.partial = frame;
        return true;
      }
    }
    return true;
  }
}

/** One frame ready to write: the length prefix and the payload in one buffer (one write). */
export function frameRfc4571(payload: Buffer): Buffer | null {
  if (payload.length > RFC4571_MAX_FRAME) return null;
  const out = Buffer.allocUnsafe(2 + payload.length);
  out.writeUInt16BE(payload.length, 0);
  payload.copy(out, 2);
  return out;
}
