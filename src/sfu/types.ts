/** Shapes shared by the SFU's objects. */

export type { MediaKind } from '../protocol/media.js';

/** What a published video track shows: the allocator serves a screen share before cameras. */
export type VideoSource = 'camera' | 'screen';

export interface CodecParameters {
  name: string;
  payloadType: number;
  clockRate: number;
  channels?: number;
  /** Raw fmtp line value ("minptime=10;useinbandfec=1"), '' when none. */
  fmtp: string;
  rtcpFeedback: { type: string; parameter?: string }[];
  /** RFC 4588 retransmission payload type, when negotiated. */
  rtxPayloadType?: number;
  /** RFC 2198 RED payload type carrying this codec (audio), when negotiated. */
  redPayloadType?: number;
}

/** Where a producer or consumer sends RTCP: its transport. */
export interface RtcpSink {
  sendRtcp(packet: Buffer): void;
}

/** Where a consumer sends RTP: its subscriber's transport. */
export interface RtpSink extends RtcpSink {
  sendRtp(packet: Buffer): void;
  /** A resend on the consumer's RTX SSRC, which the transport may hold back (its RTX budget); sendRtp when absent. */
  sendRtx?(packet: Buffer): void;
}
