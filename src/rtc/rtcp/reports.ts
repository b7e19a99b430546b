/** Sender and receiver reports with their report blocks (RFC 3550 §6.4.1, §6.4.2). */
import { RTCP_HEADER_LENGTH, ensureRoom, writeRtcpHeader } from './header.js';
import { RtcpType, type ReportBlock, type RtcpReceiverReport, type RtcpSenderReport } from './types.js';

export const REPORT_BLOCK_LENGTH = 24;
const SENDER_INFO_LENGTH = 20;
const MAX_REPORT_BLOCKS = 31;

function readReportBlock(buf: Buffer, off: number): ReportBlock {
  return {
    ssrc: buf.readUInt32BE(off),
    fractionLost: buf[off + 4] as number,
    cumulativeLost: buf.readIntBE(off + 5, 3),
    highestSeq: buf.readUInt32BE(off + 8),
    jitter: buf.readUInt32BE(off + 12),
    lsr: buf.readUInt32BE(off + 16),
    dlsr: buf.readUInt32BE(off + 20),
  };
}

function writeReportBlock(out: Buffer, off: number, r: ReportBlock): void {
  out.writeUInt32BE(r.ssrc >>> 0, off);
  out[off + 4] = r.fractionLost & 0xff;
  // Signed 24-bit: clamp rather than wrap (RFC 3550 §6.4.1 gives the field's range).
  const lost = r.cumulativeLost > 0x7fffff ? 0x7fffff : r.cumulativeLost < -0x800000 ? -0x800000 : r.cumulativeLost;
  out.writeIntBE(lost, off + 5, 3);
  out.writeUInt32BE(r.highestSeq >>> 0, off + 8);
  out.writeUInt32BE(r.jitter >>> 0, off + 12);
  out.writeUInt32BE(r.lsr >>> 0, off + 16);
  out.writeUInt32BE(r.dlsr >>> 0, off + 20);
}

function readReportBlocks(buf: Buffer, off: number, count: number): ReportBlock[] {
  const reports: ReportBlock[] = [];
  for (let i = 0; i < count; i++, off += REPORT_BLOCK_LENGTH) reports.push(readReportBlock(buf, off));
  return reports;
}

/** Body of an SR between `start` (packet start) and `end`; null when too short for its RC. */
export function parseSenderReport(buf: Buffer, start: number, end: number, count: number): RtcpSenderReport | null {
  const blocks = start + RTCP_HEADER_LENGTH + 4 + SENDER_INFO_LENGTH;
  if (blocks + count * REPORT_BLOCK_LENGTH > end) return null;
  const off = start + RTCP_HEADER_LENGTH;
  return {
    type: 'sr',
    ssrc: buf.readUInt32BE(off),
    ntpSec: buf.readUInt32BE(off + 4),
    ntpFrac: buf.readUInt32BE(off + 8),
    rtpTimestamp: buf.readUInt32BE(off + 12),
    packetCount: buf.readUInt32BE(off + 16),
    octetCount: buf.readUInt32BE(off + 20),
    reports: readReportBlocks(buf, blocks, count),
  };
}

export function parseReceiverReport(buf: Buffer, start: number, end: number, count: number): RtcpReceiverReport | null {
  const blocks = start + RTCP_HEADER_LENGTH + 4;
  if (blocks + count * REPORT_BLOCK_LENGTH > end) return null;
  return { type: 'rr', ssrc: buf.readUInt32BE(start + RTCP_HEADER_LENGTH), reports: readReportBlocks(buf, blocks, count) };
}

function checkBlockCount(reports: readonly ReportBlock[]): void {
  if (reports.length > MAX_REPORT_BLOCKS) throw new RangeError('at most 31 report blocks per packet');
}

export function senderReportLength(sr: Omit<RtcpSenderReport, 'type'>): number {
  return RTCP_HEADER_LENGTH + 4 + SENDER_INFO_LENGTH + REPORT_BLOCK_LENGTH * sr.reports.length;
}

export function writeSenderReport(out: Buffer, offset: number, sr: Omit<RtcpSenderReport, 'type'>): number {
  checkBlockCount(sr.reports);
  const length = senderReportLength(sr);
  ensureRoom(out, offset, length);
  writeRtcpHeader(out, offset, sr.reports.length, RtcpType.SR, length);
  let off = offset + RTCP_HEADER_LENGTH;
  out.writeUInt32BE(sr.ssrc >>> 0, off);
  out.writeUInt32BE(sr.ntpSec >>> 0, off + 4);
  out.writeUInt32BE(sr.ntpFrac >>> 0, off + 8);
  out.writeUInt32BE(sr.rtpTimestamp >>> 0, off + 12);
  out.writeUInt32BE(sr.packetCount >>> 0, off + 16);
  out.writeUInt32BE(sr.octetCount >>> 0, off + 20);
  off += 4 + SENDER_INFO_LENGTH;
  for (const r of sr.reports) {
    writeReportBlock(out, off, r);
    off += REPORT_BLOCK_LENGTH;
  }
  return length;
}

export function receiverReportLength(rr: Omit<RtcpReceiverReport, 'type'>): number {
  return RTCP_HEADER_LENGTH + 4 + REPORT_BLOCK_LENGTH * rr.reports.length;
}

export function writeReceiverReport(out: Buffer, offset: number, rr: Omit<RtcpReceiverReport, 'type'>): number {
  checkBlockCount(rr.reports);
  const length = receiverReportLength(rr);
  ensureRoom(out, offset, length);
  writeRtcpHeader(out, offset, rr.reports.length, RtcpType.RR, length);
  out.writeUInt32BE(rr.ssrc >>> 0, offset + RTCP_HEADER_LENGTH);
  let off = offset + RTCP_HEADER_LENGTH + 4;
  for (const r of rr.reports) {
    writeReportBlock(out, off, r);
    off += REPORT_BLOCK_LENGTH;
  }
  return length;
}
