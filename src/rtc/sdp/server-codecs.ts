/**
 * What the SFU receives and forwards: opus, VP8 and VP9 profile 0 (+ RFC 4588 rtx), and the
 * header extensions it uses. The publisher's offer order decides between VP8 and VP9 (a page
 * publishing SVC puts VP9 first); the server's own offers list VP8 first.
 */
import type { HeaderExtension, MediaKind, RtcpFeedback, RtpCodecParameters } from './types.js';

export interface ServerCodec {
  kind: MediaKind;
  name: string;
  clockRate: number;
  channels?: number;
  /** The fmtp the server writes for this codec (receiver preferences, e.g. RFC 7587 §7 for opus). */
  fmtp: string;
  rtcpFeedback: RtcpFeedback[];
  /** Whether RFC 4588 retransmission is negotiated when the peer offers it. */
  rtx: boolean;
  /** Whether RFC 2198 RED of this codec is accepted when the peer offers it. */
  red?: boolean;
  /** Default payload types when the server is the offerer (dynamic range, RFC 3551 §6). */
  payloadType: number;
  rtxPayloadType?: number;
  /** Extra condition on the offered codec's fmtp (e.g. the VP9 profile). */
  acceptsFmtp?: (fmtp: string) => boolean;
}

/** The opus fmtp the server writes, as receiver of the publish side and offerer of the subscribe side. */
export const OPUS_FMTP = 'minptime=10;useinbandfec=1;usedtx=1';

export const SERVER_CODECS: readonly ServerCodec[] = [
  {
    // RFC 7587 §7: these are receiver preferences — useinbandfec=1 asks the sender to add in-band
    // FEC, usedtx=1 lets it stop sending during silence (DTX). Both pass through to subscribers.
    kind: 'audio',
    name: 'opus',
    clockRate: 48000,
    channels: 2,
    fmtp: OPUS_FMTP,
    rtcpFeedback: [{ type: 'transport-cc' }],
    rtx: false,
    red: true,
    payloadType: 111,
  },
  {
    kind: 'video',
    name: 'VP8',
    clockRate: 90000,
    fmtp: '',
    rtcpFeedback: [
      { type: 'nack' },
      { type: 'nack', parameter: 'pli' },
      { type: 'ccm', parameter: 'fir' },
      { type: 'goog-remb' },
      { type: 'transport-cc' },
    ],
    rtx: true,
    payloadType: 96,
    rtxPayloadType: 97,
  },
  {
    // RFC 9628 §6: profile-id 0 (8-bit 4:2:0) is the one every WebRTC browser decodes; absent means 0.
    kind: 'video',
    name: 'VP9',
    clockRate: 90000,
    fmtp: 'profile-id=0',
    rtcpFeedback: [
      { type: 'nack' },
      { type: 'nack', parameter: 'pli' },
      { type: 'ccm', parameter: 'fir' },
      { type: 'goog-remb' },
      { type: 'transport-cc' },
    ],
    rtx: true,
    payloadType: 98,
    rtxPayloadType: 99,
    acceptsFmtp: (fmtp) => !/(^|;)\s*profile-id=/.test(fmtp) || /(^|;)\s*profile-id=0(\s*;|\s*$)/.test(fmtp),
  },
];

export const HEADER_EXTENSION_URIS = {
  mid: 'urn:ietf:params:rtp-hdrext:sdes:mid',
  rid: 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  repairedRid: 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
  absSendTime: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  transportCc: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  audioLevel: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
} as const;

/** Extensions accepted when offered (keeping the offer's id), per kind. */
export const SERVER_HEADER_EXTENSIONS: Readonly<Record<MediaKind, readonly string[]>> = {
  audio: [
    HEADER_EXTENSION_URIS.mid,
    HEADER_EXTENSION_URIS.absSendTime,
    HEADER_EXTENSION_URIS.transportCc,
    HEADER_EXTENSION_URIS.audioLevel,
  ],
  video: [
    HEADER_EXTENSION_URIS.mid,
    HEADER_EXTENSION_URIS.rid,
    HEADER_EXTENSION_URIS.repairedRid,
    HEADER_EXTENSION_URIS.absSendTime,
    HEADER_EXTENSION_URIS.transportCc,
  ],
};

export function serverCodecFor(kind: MediaKind, codec: RtpCodecParameters): ServerCodec | undefined {
  return SERVER_CODECS.find(
    (s) =>
      s.kind === kind &&
      s.name.toLowerCase() === codec.name.toLowerCase() &&
      s.clockRate === codec.clockRate &&
      // RFC 7587 §7: opus is always signalled with 2 channels; others default to 1.
      (s.channels ?? 1) === (codec.channels ?? 1) &&
      (s.acceptsFmtp === undefined || s.acceptsFmtp(codec.fmtp)),
  );
}

/** The first offered codec the server accepts (offer order is preference order, RFC 3264 §5.1). */
export function chooseCodec(
  kind: MediaKind,
  offered: readonly RtpCodecParameters[],
): { offered: RtpCodecParameters; server: ServerCodec } | undefined {
  for (const codec of offered) {
    const server = serverCodecFor(kind, codec);
    if (server) return { offered: codec, server };
  }
  return undefined;
}

/** The feedback both sides support: the server's list, kept only where the offer has it too. */
export function commonFeedback(server: readonly RtcpFeedback[], offered: readonly RtcpFeedback[]): RtcpFeedback[] {
  return server.filter((s) => offered.some((o) => o.type === s.type && (o.parameter ?? '') === (s.parameter ?? ''))).map((s) => ({ ...s }));
}

export function acceptedExtensions(kind: MediaKind, offered: readonly HeaderExtension[]): HeaderExtension[] {
  const wanted = SERVER_HEADER_EXTENSIONS[kind];
  // RFC 8285 §7: an extension the offerer only receives (recvonly) is of no use to a receiving server.
  return offered.filter((e) => wanted.includes(e.uri) && e.direction !== 'recvonly' && e.direction !== 'inactive');
}
