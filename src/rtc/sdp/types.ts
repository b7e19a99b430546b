/** What the SFU reads from and writes into JSEP session descriptions (RFC 8829). */

import type { MediaKind } from '../../protocol/media.js';

export type { MediaKind };
export type SectionKind = MediaKind | 'application';
export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
export type SetupRole = 'actpass' | 'active' | 'passive';

export interface RtcpFeedback {
  type: string;
  parameter?: string;
}

export interface RtpCodecParameters {
  payloadType: number;
  /** As written in a=rtpmap ('VP8', 'opus', …). */
  name: string;
  clockRate: number;
  channels?: number;
  /** Raw a=fmtp value ('' when none). */
  fmtp: string;
  rtcpFeedback: RtcpFeedback[];
  /** RFC 4588 retransmission payload type whose apt= names this codec. */
  rtxPayloadType?: number;
  /**
   * RFC 2198 RED payload type carrying this codec (audio: `a=rtpmap:63 red/48000/2`,
   * `a=fmtp:63 111/111`), when negotiated. Not folded by the parser: a parsed section lists red
   * as a codec of its own; the publish answer and the subscribe offer set this.
   */
  redPayloadType?: number;
}

export interface HeaderExtension {
  /** RFC 8285 §5: 1–14 one-byte form, up to 255 two-byte form. */
  id: number;
  uri: string;
  /** RFC 8285 §7 direction when the line carried one (`a=extmap:9/sendonly …`). */
  direction?: Direction;
}

export interface Fingerprint {
  /** Lower case hash function name, e.g. 'sha-256'. */
  algorithm: string;
  /** Upper case hex pairs separated by ':'. */
  value: string;
}

export interface SsrcDescription {
  ssrc: number;
  cname?: string;
  msid?: string;
}

export interface SsrcGroup {
  semantics: string;
  ssrcs: number[];
}

export interface RidDescription {
  id: string;
  direction: 'send' | 'recv';
}

export interface Msid {
  streamId: string;
  trackId: string;
}

export interface RemoteMediaSection {
  index: number;
  mid: string;
  kind: SectionKind;
  /** Port 0 without a=bundle-only (RFC 8843 §6). */
  rejected: boolean;
  direction: Direction;
  /** Primary codecs in preference order; rtx entries are folded into `rtxPayloadType`. */
  codecs: RtpCodecParameters[];
  headerExtensions: HeaderExtension[];
  ssrcs: SsrcDescription[];
  ssrcGroups: SsrcGroup[];
  rids: RidDescription[];
  /** Raw a=simulcast value, e.g. 'send q;h;f'. */
  simulcast?: string;
  msid?: Msid;
  rtcpMux: boolean;
  rtcpRsize: boolean;
  sctpPort?: number;
  maxMessageSize?: number;
  /** Media-level transport attributes, when present (the session-level ones are in RemoteDescription). */
  iceUfrag?: string;
  icePwd?: string;
  fingerprints: Fingerprint[];
  setup?: SetupRole;
}

export interface RemoteDescription {
  type: 'offer' | 'answer';
  /** Transport values of the BUNDLE transport: its tagged section's, else the session level's. */
  iceUfrag: string;
  icePwd: string;
  fingerprints: Fingerprint[];
  setup: SetupRole;
  bundleMids: string[];
  /** RFC 8285 §6 a=extmap-allow-mixed, at session or any media level. */
  extmapAllowMixed: boolean;
  media: RemoteMediaSection[];
}

export interface LocalCandidate {
  foundation: string;
  component: 1;
  transport: 'udp' | 'tcp';
  priority: number;
  ip: string;
  port: number;
  type: 'host';
  tcptype?: 'passive';
}

export interface LocalTransportParameters {
  iceUfrag: string;
  icePwd: string;
  fingerprint: Fingerprint;
  candidates: LocalCandidate[];
}

/** A publishing m-section the server accepted in its answer. */
export interface AcceptedMedia {
  mid: string;
  kind: MediaKind;
  /** With the offer's payload type (and rtx payload type). */
  codec: RtpCodecParameters;
  headerExtensions: HeaderExtension[];
  /** Primary SSRC when signalled and not simulcast. */
  ssrc?: number;
  /** RFC 4588 SSRC paired with `ssrc` by a=ssrc-group:FID. */
  rtxSsrc?: number;
  /** RFC 8851 rids the publisher sends (simulcast layers). */
  rids: string[];
  cname?: string;
  msid?: Msid;
}

/** One m-section of a server subscribe offer. */
export interface OfferedSection {
  mid: string;
  kind: MediaKind;
  /** false: the track ended; the section stays (a=inactive) until it is reused. */
  active: boolean;
  /** With the payload type chosen by the server. */
  codec: RtpCodecParameters;
  headerExtensions: HeaderExtension[];
  ssrc: number;
  rtxSsrc?: number;
  cname: string;
  streamId: string;
  trackId: string;
}
