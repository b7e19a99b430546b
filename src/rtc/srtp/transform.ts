/**
 * One profile's packet cryptography, given session keys and the packet index: no per-SSRC state,
 * no replay checks (that is SrtpContext's job). Unprotect functions authenticate first and only
 * then decrypt in place, so a rejected packet leaves the input untouched.
 */
export interface SrtpTransform {
  /** Bytes appended to an RTP packet (the tag). */
  readonly rtpTagLength: number;
  /** Bytes appended to an RTCP packet (tag and the 4-byte E|index trailer). */
  readonly rtcpOverhead: number;
  /** Where the E|index word starts, counted back from the end of an SRTCP packet. */
  readonly rtcpIndexFromEnd: number;
  /** SRTP packet for `packet` (header `headerLength` bytes); a view on a scratch buffer. */
  protectRtp(packet: Buffer, headerLength: number, ssrc: number, roc: number, seq: number): Buffer;
  /** Authenticates and decrypts in place; the plain packet's length, or -1 if authentication fails. */
  unprotectRtp(packet: Buffer, headerLength: number, ssrc: number, roc: number, seq: number): number;
  /** SRTCP packet for `packet` with SRTCP index `index` (always encrypted: E = 1); a scratch view. */
  protectRtcp(packet: Buffer, ssrc: number, index: number): Buffer;
  /** Authenticates and, if `encrypted`, decrypts in place; the plain length, or -1. */
  unprotectRtcp(packet: Buffer, ssrc: number, index: number, encrypted: boolean): number;
}

/** Reuse `current` if it holds `needed` bytes, else a new buffer with headroom. */
export function scratchFor(current: Buffer, needed: number): Buffer {
  return needed <= current.length ? current : Buffer.alloc(Math.max(needed, 2 * current.length));
}

/** The SRTCP E flag (RFC 3711 §3.4): set when the packet is encrypted. */
export const SRTCP_E_FLAG = 0x80000000;
