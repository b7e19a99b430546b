/**
 * RTCP packets as plain data: what `parseRtcpCompound` returns and what `writeRtcpPacket`
 * takes. One tagged union over the packet types an SFU handles (RFC 3550 §6.4–6.6, RFC 4585
 * §6, RFC 5104 §4.3.1, draft-alvestrand-rmcat-remb-03, draft-holmer-rmcat-transport-wide-cc-
 * extensions-01 §3.1).
 */

export const RtcpType = {
  SR: 200,
  RR: 201,
  SDES: 202,
  BYE: 203,
  APP: 204,
  /** Transport-layer feedback (RFC 4585 §6.1). */
  RTPFB: 205,
  /** Payload-specific feedback (RFC 4585 §6.1). */
  PSFB: 206,
} as const;

/** FMT values: RTPFB generic NACK (RFC 4585 §6.2.1), transport-cc (draft-holmer §3.1). */
export const RtpfbFormat = { NACK: 1, TWCC: 15 } as const;
/** FMT values: PLI (RFC 4585 §6.3.1), FIR (RFC 5104 §4.3.1), application layer FB (REMB). */
export const PsfbFormat = { PLI: 1, FIR: 4, AFB: 15 } as const;

/** RFC 3550 §6.4.1 report block. */
export interface ReportBlock {
  ssrc: number;
  /** Fraction lost since the last report, in 1/256 (0–255). */
  fractionLost: number;
  /** Cumulative packets lost: signed 24-bit (duplicates can make it negative). */
  cumulativeLost: number;
  /** Extended highest sequence number received (cycles << 16 | seq). */
  highestSeq: number;
  jitter: number;
  /** Middle 32 bits of the NTP timestamp of the last SR received (0 if none). */
  lsr: number;
  /** Delay since that SR, in 1/65536 s. */
  dlsr: number;
}

export interface RtcpSenderReport {
  type: 'sr';
  ssrc: number;
  ntpSec: number;
  ntpFrac: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
  reports: ReportBlock[];
}

export interface RtcpReceiverReport {
  type: 'rr';
  ssrc: number;
  reports: ReportBlock[];
}

export interface SdesItem {
  /** 1 CNAME, 2 NAME, … 8 PRIV (RFC 3550 §6.5). */
  type: number;
  text: string;
}

export interface SdesChunk {
  ssrc: number;
  items: SdesItem[];
}

export interface RtcpSourceDescription {
  type: 'sdes';
  chunks: SdesChunk[];
}

export interface RtcpBye {
  type: 'bye';
  ssrcs: number[];
  reason?: string;
}

export interface RtcpNack {
  type: 'nack';
  senderSsrc: number;
  mediaSsrc: number;
  /** Lost sequence numbers, PID then BLP bits in order. */
  seqs: number[];
}

export interface RtcpPli {
  type: 'pli';
  senderSsrc: number;
  mediaSsrc: number;
}

export interface FirEntry {
  ssrc: number;
  /** Command sequence number (8 bits). */
  seq: number;
}

export interface RtcpFir {
  type: 'fir';
  senderSsrc: number;
  entries: FirEntry[];
}

export interface RtcpRemb {
  type: 'remb';
  senderSsrc: number;
  /** Bits per second (mantissa × 2^exp; the writer rounds down to what 18 bits can hold). */
  bitrate: number;
  ssrcs: number[];
}

export interface TwccPacketStatus {
  seq: number;
  received: boolean;
  /**
   * Receive time relative to the previous received packet (to the reference time for the
   * first), in µs, a multiple of 250; absent when not received.
   */
  deltaUs?: number;
}

export interface RtcpTransportFeedback {
  type: 'twcc';
  senderSsrc: number;
  mediaSsrc: number;
  baseSeq: number;
  packetStatusCount: number;
  /** Signed 24-bit, in units of 64 ms. */
  referenceTime: number;
  /** Feedback packet count (8 bits), to detect lost feedback. */
  fbPktCount: number;
  packets: TwccPacketStatus[];
}

export interface RtcpUnknown {
  type: 'unknown';
  pt: number;
  /** The 5-bit count/FMT field of the header. */
  fmt: number;
}

export type RtcpPacket =
  | RtcpSenderReport
  | RtcpReceiverReport
  | RtcpSourceDescription
  | RtcpBye
  | RtcpNack
  | RtcpPli
  | RtcpFir
  | RtcpRemb
  | RtcpTransportFeedback
  | RtcpUnknown;

/** What the parser rejected, for metrics. */
export class RtcpParseCounters {
  /** Compounds returned as null: broken framing (version, length, truncation). */
  compoundsRejected = 0;
  /** Packets inside an otherwise sound compound whose body was malformed; left out. */
  packetsSkipped = 0;
}
