/**
 * Cuts a TCP/TLS byte stream into STUN messages and ChannelData frames (RFC 8656 §12.5):
 * the first two bits tell which (00 STUN, 01 ChannelData), each carries its own length, and
 * ChannelData is padded to a multiple of 4 on streams. Anything else means the stream is
 * not TURN, and the connection is closed. A frame handler may stop the framing (RFC 6062
 * §5.4: after ConnectionBind the stream carries raw bytes); what followed is kept for `takeRest`.
 */
import { HEADER_LENGTH } from '../../stun/constants.js';

export class StreamFramer {
  private pending: Buffer | null = null;

  /**
   * Feeds a chunk; calls `onFrame` for each complete frame (a view, valid during the call)
   * until one returns 'stop'. Returns false when the stream is not STUN/ChannelData: the
   * caller closes it.
   */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void | 'stop'): boolean {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    let off = 0;
    while (buf.length - off >= 4) {
      const first = (buf[off] as number) >> 6;
      const len = buf.readUInt16BE(off + 2);
      let total: number;
      if (first === 0) total = HEADER_LENGTH + len;
      else if (first === 1) total = 4 + len + ((4 - (len % 4)) % 4);
      else return false;
      if (buf.length - off < total) break;
      const verdict = onFrame(buf.subarray(off, first === 1 ? off + 4 + len : off + total));
      off += total;
      if (verdict === 'stop') break;
    }
    // Keep only the unfinished tail (a copy, so the big chunk it came from can be freed).
    if (off < buf.length) this.pending = off === 0 ? buf : Buffer.from(buf.subarray(off));
    return true;
  }

  /** The bytes received but not framed (after a stop), once. */
  takeRest(): Buffer | null {
    const rest = this.pending;
    this.pending = null;
    return rest;
  }
}
