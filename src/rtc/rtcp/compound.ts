/**
 * Compound RTCP (RFC 3550 §6.1): packets back to back, each framed by its length field.
 *
 * Error policy: framing that cannot be trusted — a version other than 2, a length running past
 * the datagram, a padding count larger than the packet, fewer than 4 bytes left — makes the
 * whole compound null, since nothing after it can be located. A packet that frames fine but
 * whose body is malformed (too short for its counts, bad TWCC chunks, …) is left out and the
 * rest still returned. Both are counted in the optional `RtcpParseCounters`. Never throws.
 */
import { RTCP_HEADER_LENGTH } from './header.js';
import { parseNack, writeNack } from './nack.js';
import { isRemb, parseFir, parsePli, parseRemb, writeFir, writePli, writeRemb } from './psfb.js';
import { parseReceiverReport, parseSenderReport, writeReceiverReport, writeSenderReport } from './reports.js';
import { parseBye, parseSourceDescription, writeBye, writeSourceDescription } from './sdes-bye.js';
import { parseTransportFeedback, writeTransportFeedback } from './twcc.js';
import { PsfbFormat, RtcpType, RtpfbFormat, type RtcpPacket, type RtcpParseCounters } from './types.js';

/** Common feedback header: RTCP header + sender SSRC + media SSRC (RFC 4585 §6.1). */
const FEEDBACK_HEADER_LENGTH = RTCP_HEADER_LENGTH + 8;
/** Bound against crafted input: far more packets than any real compound carries. */
export const MAX_COMPOUND_PACKETS = 64;

function parseBody(buf: Buffer, start: number, end: number, pt: number, count: number): RtcpPacket | null {
  switch (pt) {
    case RtcpType.SR:
      return parseSenderReport(buf, start, end, count);
    case RtcpType.RR:
      return parseReceiverReport(buf, start, end, count);
    case RtcpType.SDES:
      return parseSourceDescription(buf, start, end, count);
    case RtcpType.BYE:
      return parseBye(buf, start, end, count);
    case RtcpType.RTPFB:
      if (count === RtpfbFormat.NACK || count === RtpfbFormat.TWCC) {
        if (start + FEEDBACK_HEADER_LENGTH > end) return null;
        return count === RtpfbFormat.NACK ? parseNack(buf, start, end) : parseTransportFeedback(buf, start, end);
      }
      break;
    case RtcpType.PSFB:
      if (count === PsfbFormat.PLI || count === PsfbFormat.FIR || count === PsfbFormat.AFB) {
        if (start + FEEDBACK_HEADER_LENGTH > end) return null;
        if (count === PsfbFormat.PLI) return parsePli(buf, start);
        if (count === PsfbFormat.FIR) return parseFir(buf, start, end);
        if (isRemb(buf, start, end)) return parseRemb(buf, start, end);
      }
      break;
  }
  return { type: 'unknown', pt, fmt: count };
}

export function parseRtcpCompound(buf: Buffer, counters?: RtcpParseCounters): RtcpPacket[] | null {
  const packets: RtcpPacket[] = [];
  let off = 0;
  let n = 0;
  while (off < buf.length) {
    if (off + RTCP_HEADER_LENGTH > buf.length || ++n > MAX_COMPOUND_PACKETS) return reject(counters);
    const b0 = buf[off] as number;
    if (b0 >>> 6 !== 2) return reject(counters);
    const length = 4 * (buf.readUInt16BE(off + 2) + 1);
    const next = off + length;
    if (next > buf.length) return reject(counters);
    let end = next;
    if ((b0 & 0x20) !== 0) {
      const padding = buf[next - 1] as number;
      if (padding === 0 || padding > length - RTCP_HEADER_LENGTH) return reject(counters);
      end -= padding;
    }
    const packet = parseBody(buf, off, end, buf[off + 1] as number, b0 & 0x1f);
    if (packet === null) {
      if (counters) counters.packetsSkipped++;
    } else packets.push(packet);
    off = next;
  }
  if (n === 0) return reject(counters);
  return packets;
}

function reject(counters: RtcpParseCounters | undefined): null {
  if (counters) counters.compoundsRejected++;
  return null;
}

/**
 * Writes any parsed-form packet at `offset`; returns its length. 'unknown' packets carry no
 * body and cannot be written (RangeError).
 */
export function writeRtcpPacket(out: Buffer, offset: number, p: RtcpPacket): number {
  switch (p.type) {
    case 'sr':
      return writeSenderReport(out, offset, p);
    case 'rr':
      return writeReceiverReport(out, offset, p);
    case 'sdes':
      return writeSourceDescription(out, offset, p);
    case 'bye':
      return writeBye(out, offset, p);
    case 'nack':
      return writeNack(out, offset, p);
    case 'pli':
      return writePli(out, offset, p);
    case 'fir':
      return writeFir(out, offset, p);
    case 'remb':
      return writeRemb(out, offset, p);
    case 'twcc':
      return writeTransportFeedback(out, offset, p);
    case 'unknown':
      throw new RangeError(`cannot write an unknown RTCP packet (PT ${p.pt})`);
  }
}

/** Largest compound the convenience builder expects; real ones fit one MTU. */
const BUILD_SCRATCH = Buffer.alloc(65536 * 4);

/** A new Buffer holding `packets` as one compound (for non-hot paths). */
export function buildRtcpCompound(packets: readonly RtcpPacket[]): Buffer {
  let off = 0;
  for (const p of packets) off += writeRtcpPacket(BUILD_SCRATCH, off, p);
  return Buffer.from(BUILD_SCRATCH.subarray(0, off));
}

/** A new Buffer holding one packet (for non-hot paths). */
export function buildRtcpPacket(packet: RtcpPacket): Buffer {
  return buildRtcpCompound([packet]);
}
