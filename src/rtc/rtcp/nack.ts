/** Generic NACK (RFC 4585 §6.2.1): FCI entries of a packet ID (PID) and a bitmask of the 16 after it (BLP). */
import { RTCP_HEADER_LENGTH, ensureRoom, writeRtcpHeader } from './header.js';
import { RtcpType, RtpfbFormat, type RtcpNack } from './types.js';

const FEEDBACK_HEADER_LENGTH = RTCP_HEADER_LENGTH + 8;

/** A NACK body; null when the FCI is empty or not whole 4-byte entries. */
export function parseNack(buf: Buffer, start: number, end: number): RtcpNack | null {
  const fci = start + FEEDBACK_HEADER_LENGTH;
  if (fci >= end || (end - fci) % 4 !== 0) return null;
  const seqs: number[] = [];
  for (let off = fci; off < end; off += 4) {
    const pid = buf.readUInt16BE(off);
    const blp = buf.readUInt16BE(off + 2);
    seqs.push(pid);
    for (let bit = 0; bit < 16; bit++) if ((blp >>> bit) & 1) seqs.push((pid + bit + 1) & 0xffff);
  }
  return { type: 'nack', senderSsrc: buf.readUInt32BE(start + 4), mediaSsrc: buf.readUInt32BE(start + 8), seqs };
}

/**
 * Number of PID/BLP entries `seqs` compresses to. A sequence number joins the current entry
 * when it is 1–16 after its PID modulo 2^16 (so 65535 and 0 share one); input in ascending
 * wrap-aware order gives the fewest entries, any order still covers every number.
 */
export function nackEntryCount(seqs: readonly number[]): number {
  let count = 0;
  let pid = -1;
  for (const s of seqs) {
    const d = pid < 0 ? 0 : ((s & 0xffff) - pid) & 0xffff;
    if (pid >= 0 && d <= 16) continue;
    pid = s & 0xffff;
    count++;
  }
  return count;
}

export function nackLength(seqs: readonly number[]): number {
  return FEEDBACK_HEADER_LENGTH + 4 * nackEntryCount(seqs);
}

/** Writes a NACK for `seqs` (at least one); returns its length. */
export function writeNack(out: Buffer, offset: number, nack: Omit<RtcpNack, 'type'>): number {
  if (nack.seqs.length === 0) throw new RangeError('a NACK needs at least one sequence number');
  const length = nackLength(nack.seqs);
  ensureRoom(out, offset, length);
  writeRtcpHeader(out, offset, RtpfbFormat.NACK, RtcpType.RTPFB, length);
  out.writeUInt32BE(nack.senderSsrc >>> 0, offset + 4);
  out.writeUInt32BE(nack.mediaSsrc >>> 0, offset + 8);
  let off = offset + FEEDBACK_HEADER_LENGTH - 4;
  let pid = -1;
  let blp = 0;
  for (const s of nack.seqs) {
    const seq = s & 0xffff;
    const d = pid < 0 ? 0 : (seq - pid) & 0xffff;
    if (pid >= 0 && d === 0) continue; // duplicate of the PID
    if (pid >= 0 && d <= 16) {
      blp |= 1 << (d - 1);
      continue;
    }
    if (pid >= 0) out.writeUInt16BE(blp, off + 2);
    off += 4;
    pid = seq;
    blp = 0;
    out.writeUInt16BE(pid, off);
  }
  out.writeUInt16BE(blp, off + 2);
  return length;
}
