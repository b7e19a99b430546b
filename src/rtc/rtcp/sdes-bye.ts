/** Source description (RFC 3550 §6.5) and goodbye (§6.6) packets. */
import { RTCP_HEADER_LENGTH, ensureRoom, writeRtcpHeader } from './header.js';
import { RtcpType, type RtcpBye, type RtcpSourceDescription, type SdesChunk, type SdesItem } from './types.js';

export const SDES_CNAME = 1;

/** Chunks of an SDES body; null when a chunk runs past `end` or lacks its terminating null item. */
export function parseSourceDescription(buf: Buffer, start: number, end: number, count: number): RtcpSourceDescription | null {
  const chunks: SdesChunk[] = [];
  let off = start + RTCP_HEADER_LENGTH;
  for (let c = 0; c < count; c++) {
    if (off + 4 > end) return null;
    const ssrc = buf.readUInt32BE(off);
    off += 4;
    const items: SdesItem[] = [];
    for (;;) {
      if (off >= end) return null;
      const type = buf[off] as number;
      if (type === 0) break; // end of the item list (§6.5)
      if (off + 2 > end) return null;
      const len = buf[off + 1] as number;
      if (off + 2 + len > end) return null;
      items.push({ type, text: buf.toString('utf8', off + 2, off + 2 + len) });
      off += 2 + len;
    }
    // The null octets run to the next 32-bit boundary (§6.5): at least one, at most four.
    off = start + ((off - start + 4) & ~3);
    if (off > end) return null;
    chunks.push({ ssrc, items });
  }
  return { type: 'sdes', chunks };
}

function chunkLength(chunk: SdesChunk): number {
  let len = 4;
  for (const item of chunk.items) len += 2 + Buffer.byteLength(item.text, 'utf8');
  return (len + 4) & ~3; // at least one null octet, padded to 32 bits
}

export function sourceDescriptionLength(sdes: Omit<RtcpSourceDescription, 'type'>): number {
  let len = RTCP_HEADER_LENGTH;
  for (const c of sdes.chunks) len += chunkLength(c);
  return len;
}

export function writeSourceDescription(out: Buffer, offset: number, sdes: Omit<RtcpSourceDescription, 'type'>): number {
  if (sdes.chunks.length > 31) throw new RangeError('at most 31 SDES chunks per packet');
  const length = sourceDescriptionLength(sdes);
  ensureRoom(out, offset, length);
  writeRtcpHeader(out, offset, sdes.chunks.length, RtcpType.SDES, length);
  let off = offset + RTCP_HEADER_LENGTH;
  for (const chunk of sdes.chunks) {
    const chunkEnd = off + chunkLength(chunk);
    out.writeUInt32BE(chunk.ssrc >>> 0, off);
    off += 4;
    for (const item of chunk.items) {
      const len = Buffer.byteLength(item.text, 'utf8');
      if (len > 255 || item.type < 1 || item.type > 255) throw new RangeError('SDES item: type 1-255, text at most 255 bytes');
      out[off] = item.type;
      out[off + 1] = len;
      out.write(item.text, off + 2, 'utf8');
      off += 2 + len;
    }
    out.fill(0, off, chunkEnd);
    off = chunkEnd;
  }
  return length;
}

/** SDES with one CNAME chunk, what every compound carries (RFC 3550 §6.1). */
export function writeSdesCname(out: Buffer, offset: number, ssrc: number, cname: string): number {
  return writeSourceDescription(out, offset, { chunks: [{ ssrc, items: [{ type: SDES_CNAME, text: cname }] }] });
}

export function parseBye(buf: Buffer, start: number, end: number, count: number): RtcpBye | null {
  let off = start + RTCP_HEADER_LENGTH;
  if (off + 4 * count > end) return null;
  const ssrcs: number[] = [];
  for (let i = 0; i < count; i++, off += 4) ssrcs.push(buf.readUInt32BE(off));
  if (off >= end) return { type: 'bye', ssrcs };
  const len = buf[off] as number;
  if (off + 1 + len > end) return null;
  return { type: 'bye', ssrcs, reason: buf.toString('utf8', off + 1, off + 1 + len) };
}

export function byeLength(bye: Omit<RtcpBye, 'type'>): number {
  const reason = bye.reason === undefined ? 0 : (1 + Buffer.byteLength(bye.reason, 'utf8') + 3) & ~3;
  return RTCP_HEADER_LENGTH + 4 * bye.ssrcs.length + reason;
}

export function writeBye(out: Buffer, offset: number, bye: Omit<RtcpBye, 'type'>): number {
  if (bye.ssrcs.length > 31) throw new RangeError('at most 31 SSRCs per BYE');
  const length = byeLength(bye);
  ensureRoom(out, offset, length);
  writeRtcpHeader(out, offset, bye.ssrcs.length, RtcpType.BYE, length);
  let off = offset + RTCP_HEADER_LENGTH;
  for (const ssrc of bye.ssrcs) {
    out.writeUInt32BE(ssrc >>> 0, off);
    off += 4;
  }
  if (bye.reason !== undefined) {
    const len = Buffer.byteLength(bye.reason, 'utf8');
    if (len > 255) throw new RangeError('BYE reason at most 255 bytes');
    out[off] = len;
    out.write(bye.reason, off + 1, 'utf8');
    out.fill(0, off + 1 + len, offset + length);
  }
  return length;
}
