/**
 * RTP payload for redundant audio data, RED (RFC 2198 §3). A RED payload is a list of block
 * headers, then the blocks' data in the same order; the last header is the primary one:
 *
 *   redundant block header (4 bytes): F=1 | block PT (7) | timestamp offset (14) | block length (10)
 *   primary block header   (1 byte):  F=0 | block PT (7)        — its data is the rest of the payload
 *
 * Chromium sends opus in RED with one redundant block (`a=fmtp:63 111/111`). Every function
 * here works on a range of a packet, checks every length against that range, and allocates
 * nothing, so they run per packet on untrusted input.
 */

/** More blocks than any sender uses (Chromium: at most 2 redundant + primary): a cap for malformed input. */
export const MAX_RED_BLOCKS = 16;

/** Reusable result of `parseRed`: block i is `payloadTypes[i]`, data at `offsets[i]` for `lengths[i]` bytes. The last block is the primary. */
export class RedBlocks {
  count = 0;
  readonly payloadTypes = new Uint8Array(MAX_RED_BLOCKS);
  readonly offsets = new Uint32Array(MAX_RED_BLOCKS);
  readonly lengths = new Uint32Array(MAX_RED_BLOCKS);
  /** 14-bit timestamp offsets of the redundant blocks (0 for the primary). */
  readonly timestampOffsets = new Uint16Array(MAX_RED_BLOCKS);
}

/**
 * Parses the RED payload at buf[start, end). False when it is malformed: a header or a block runs
 * past the end, or more than MAX_RED_BLOCKS blocks. The primary block may be empty (length 0).
 */
export function parseRed(buf: Buffer, start: number, end: number, out: RedBlocks): boolean {
  out.count = 0;
  if (start < 0 || end > buf.length || start >= end) return false;
  let off = start;
  let n = 0;
  let redundantBytes = 0;
  for (;;) {
    if (n >= MAX_RED_BLOCKS || off >= end) return false;
    const b = buf[off] as number;
    out.payloadTypes[n] = b & 0x7f;
    if ((b & 0x80) === 0) {
      off += 1;
      n++;
      break;
    } // primary block header (RFC 2198 §3: F=0)
    if (off + 4 > end) return false;
    const rest = buf.readUIntBE(off + 1, 3);
    out.timestampOffsets[n] = rest >>> 10;
    out.lengths[n] = rest & 0x3ff;
    redundantBytes += rest & 0x3ff;
    off += 4;
    n++;
  }
  if (off + redundantBytes > end) return false;
  let data = off;
  for (let i = 0; i < n - 1; i++) {
    out.offsets[i] = data;
    data += out.lengths[i] as number;
  }
  out.offsets[n - 1] = data;
  out.lengths[n - 1] = end - data;
  out.timestampOffsets[n - 1] = 0;
  out.count = n;
  return true;
}

/**
 * Rewrites, in place, every block header's payload type `from` to `to` in the RED payload at
 * buf[start, end) (the publisher's opus payload type to the subscriber's). Returns false — and
 * leaves the payload as it was — when the headers are malformed.
 */
export function rewriteRedPayloadTypes(buf: Buffer, start: number, end: number, from: number, to: number): boolean {
  // Parse first, so a malformed packet is never half rewritten.
  if (!parseRed(buf, start, end, scratch)) return false;
  if (from === to) return true;
  // Block headers are consecutive: 4 bytes per redundant block, then the primary's one byte.
  for (let i = 0, off = start; i < scratch.count; i++, off += 4) {
    const b = buf[off] as number;
    if ((b & 0x7f) === from) buf[off] = (b & 0x80) | (to & 0x7f);
  }
  return true;
}

/** For rewriteRedPayloadTypes: one parse at a time (the event loop is single-threaded). */
const scratch = new RedBlocks();
