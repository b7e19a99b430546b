/**
 * Payload-specific feedback: PLI (RFC 4585 §6.3.1), FIR (RFC 5104 §4.3.1) and REMB
 * (draft-alvestrand-rmcat-remb-03 §2.2, an application layer feedback message).
 */
import { RTCP_HEADER_LENGTH, ensureRoom, writeRtcpHeader } from './header.js';
import { PsfbFormat, RtcpType, type FirEntry, type RtcpFir, type RtcpPli, type RtcpRemb } from './types.js';

const FEEDBACK_HEADER_LENGTH = RTCP_HEADER_LENGTH + 8;
const FIR_ENTRY_LENGTH = 8;
/** "REMB" in ASCII, the unique identifier of the AFB message. */
const REMB_IDENTIFIER = 0x52454d42;
const REMB_MANTISSA_BITS = 18;
const REMB_MAX_MANTISSA = (1 << REMB_MANTISSA_BITS) - 1;

export function parsePli(buf: Buffer, start: number): RtcpPli {
  return { type: 'pli', senderSsrc: buf.readUInt32BE(start + 4), mediaSsrc: buf.readUInt32BE(start + 8) };
}

export function writePli(out: Buffer, offset: number, pli: Omit<RtcpPli, 'type'>): number {
  ensureRoom(out, offset, FEEDBACK_HEADER_LENGTH);
  writeRtcpHeader(out, offset, PsfbFormat.PLI, RtcpType.PSFB, FEEDBACK_HEADER_LENGTH);
  out.writeUInt32BE(pli.senderSsrc >>> 0, offset + 4);
  out.writeUInt32BE(pli.mediaSsrc >>> 0, offset + 8);
  return FEEDBACK_HEADER_LENGTH;
}

/** A FIR body; null unless the FCI is one or more whole 8-byte entries. */
export function parseFir(buf: Buffer, start: number, end: number): RtcpFir | null {
  const fci = start + FEEDBACK_HEADER_LENGTH;
  if (fci >= end || (end - fci) % FIR_ENTRY_LENGTH !== 0) return null;
  const entries: FirEntry[] = [];
  for (let off = fci; off < end; off += FIR_ENTRY_LENGTH) entries.push({ ssrc: buf.readUInt32BE(off), seq: buf[off + 4] as number });
  return { type: 'fir', senderSsrc: buf.readUInt32BE(start + 4), entries };
}

export function firLength(fir: Omit<RtcpFir, 'type'>): number {
  return FEEDBACK_HEADER_LENGTH + FIR_ENTRY_LENGTH * fir.entries.length;
}

export function writeFir(out: Buffer, offset: number, fir: Omit<RtcpFir, 'type'>): number {
  if (fir.entries.length === 0) throw new RangeError('a FIR needs at least one entry');
  const length = firLength(fir);
  ensureRoom(out, offset, length);
  writeRtcpHeader(out, offset, PsfbFormat.FIR, RtcpType.PSFB, length);
  out.writeUInt32BE(fir.senderSsrc >>> 0, offset + 4);
  out.writeUInt32BE(0, offset + 8); // media source SSRC: SHALL be 0 (RFC 5104 §4.3.1.2)
  let off = offset + FEEDBACK_HEADER_LENGTH;
  for (const e of fir.entries) {
    out.writeUInt32BE(e.ssrc >>> 0, off);
    out.writeUInt32BE(((e.seq & 0xff) << 24) >>> 0, off + 4); // seq, then 24 reserved bits
    off += FIR_ENTRY_LENGTH;
  }
  return length;
}

/** True when an AFB body carries the "REMB" identifier. */
export function isRemb(buf: Buffer, start: number, end: number): boolean {
  return start + FEEDBACK_HEADER_LENGTH + 4 <= end && buf.readUInt32BE(start + FEEDBACK_HEADER_LENGTH) === REMB_IDENTIFIER;
}

/** A REMB body; null when shorter than its SSRC count says. */
export function parseRemb(buf: Buffer, start: number, end: number): RtcpRemb | null {
  const off = start + FEEDBACK_HEADER_LENGTH;
  if (off + 8 > end) return null;
  const numSsrc = buf[off + 4] as number;
  if (off + 8 + 4 * numSsrc > end) return null;
  const exp = (buf[off + 5] as number) >>> 2;
  const mantissa = buf.readUIntBE(off + 5, 3) & REMB_MAX_MANTISSA;
  const ssrcs: number[] = [];
  for (let i = 0; i < numSsrc; i++) ssrcs.push(buf.readUInt32BE(off + 8 + 4 * i));
  return { type: 'remb', senderSsrc: buf.readUInt32BE(start + 4), bitrate: mantissa * 2 ** exp, ssrcs };
}

export function rembLength(remb: Omit<RtcpRemb, 'type'>): number {
  return FEEDBACK_HEADER_LENGTH + 8 + 4 * remb.ssrcs.length;
}

/** Writes a REMB; the bitrate is rounded down to mantissa × 2^exp with the smallest exponent. */
export function writeRemb(out: Buffer, offset: number, remb: Omit<RtcpRemb, 'type'>): number {
  if (remb.ssrcs.length > 255) throw new RangeError('at most 255 SSRCs in a REMB');
  if (!(remb.bitrate >= 0) || !Number.isFinite(remb.bitrate)) throw new RangeError('REMB bitrate must be finite and non-negative');
  const length = rembLength(remb);
  ensureRoom(out, offset, length);
  writeRtcpHeader(out, offset, PsfbFormat.AFB, RtcpType.PSFB, length);
  out.writeUInt32BE(remb.senderSsrc >>> 0, offset + 4);
  out.writeUInt32BE(0, offset + 8); // media source SSRC: 0 (draft §2.2)
  let exp = 0;
  let bitrate = Math.floor(remb.bitrate);
  while (bitrate > REMB_MAX_MANTISSA && exp < 63) {
    bitrate = Math.floor(bitrate / 2);
    exp++;
  }
  const mantissa = Math.min(bitrate, REMB_MAX_MANTISSA);
  const off = offset + FEEDBACK_HEADER_LENGTH;
  out.writeUInt32BE(REMB_IDENTIFIER, off);
  out[off + 4] = remb.ssrcs.length;
  out.writeUIntBE(exp * 2 ** REMB_MANTISSA_BITS + mantissa, off + 5, 3);
  for (let i = 0; i < remb.ssrcs.length; i++) out.writeUInt32BE((remb.ssrcs[i] as number) >>> 0, off + 8 + 4 * i);
  return length;
}
