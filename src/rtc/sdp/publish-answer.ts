/**
 * The server's answer on a PUBLISH transport: the browser offers what it sends, the server
 * receives (recvonly) what it can forward, accepts the data channel, and rejects the rest.
 * RFC 8829 §5.3.1 (initial answers), RFC 8843 (BUNDLE), RFC 8842 (DTLS setup).
 */
import { assertLocalTransport } from './local-params.js';
import { acceptedExtensions, chooseCodec, commonFeedback } from './server-codecs.js';
import { reverseDirection } from './tokens.js';
import type {
  AcceptedMedia,
  Direction,
  LocalTransportParameters,
  MediaKind,
  RemoteDescription,
  RemoteMediaSection,
  RtpCodecParameters,
} from './types.js';
import {
  codecLines,
  defaultDestination,
  extensionLines,
  joinSdp,
  newSessionId,
  payloadList,
  sessionLines,
  transportLines,
} from './write-lines.js';

/** RFC 8841 §5: the port the server's SCTP stack uses, and the largest message it takes. */
export const SERVER_SCTP_PORT = 5000;
export const SERVER_MAX_MESSAGE_SIZE = 262144;

export interface PublishAnswer {
  sdp: string;
  accepted: AcceptedMedia[];
  dtlsRole: 'server' | 'client';
}

export function buildPublishAnswer(
  offer: RemoteDescription,
  local: LocalTransportParameters,
  opts: { sessionId?: string; sessionVersion?: number } = {},
): PublishAnswer {
  if (offer.type !== 'offer') throw new TypeError('buildPublishAnswer needs an offer');
  assertLocalTransport(local);
  // RFC 8842 §5.3: answer 'active' only to 'passive'; otherwise the server is the DTLS server.
  const setup = offer.setup === 'passive' ? 'active' : 'passive';
  const destination = defaultDestination(local);
  const accepted: AcceptedMedia[] = [];
  const bundle: string[] = [];
  const body: string[] = [];

  for (const section of offer.media) {
    // One transport only: without a BUNDLE group in the offer, only the first usable section gets it.
    const bundled = offer.bundleMids.length > 0 ? offer.bundleMids.includes(section.mid) : bundle.length === 0;
    const plan = bundled && !section.rejected ? planSection(section) : null;
    if (!plan) {
      body.push(...rejectedLines(section));
      continue;
    }
    bundle.push(section.mid);
    body.push(
      `m=${section.kind} ${destination.port} ${plan.codec ? 'UDP/TLS/RTP/SAVPF' : 'UDP/DTLS/SCTP'} ${plan.codec ? payloadList(plan.codec, true) : 'webrtc-datachannel'}`,
    );
    body.push(destination.connection, ...transportLines(local, setup), `a=mid:${section.mid}`);
    if (!plan.codec || !plan.media) {
      body.push(`a=sctp-port:${SERVER_SCTP_PORT}`, `a=max-message-size:${SERVER_MAX_MESSAGE_SIZE}`);
      continue;
    }
    body.push(...extensionLines(plan.media.headerExtensions, (e) => (e.direction ? reverseDirection(e.direction) : undefined)));
    body.push(`a=${plan.direction}`, 'a=rtcp-mux');
    if (section.rtcpRsize) body.push('a=rtcp-rsize');
    body.push(...codecLines(plan.codec));
    // RFC 8853 §5.3: the answerer receives the layers the offerer sends.
    for (const rid of plan.media.rids) body.push(`a=rid:${rid} recv`);
    if (plan.simulcastRecv) body.push(`a=simulcast:recv ${plan.simulcastRecv}`);
    if (plan.direction === 'recvonly') accepted.push(plan.media);
  }

  const head = sessionLines(opts.sessionId ?? newSessionId(), opts.sessionVersion ?? 1, bundle, offer.extmapAllowMixed);
  return { sdp: joinSdp([...head, ...body]), accepted, dtlsRole: setup === 'passive' ? 'server' : 'client' };
}

interface SectionPlan {
  /** Absent for the data channel section. */
  codec?: RtpCodecParameters;
  media?: AcceptedMedia;
  direction: Direction;
  simulcastRecv?: string;
}

function planSection(section: RemoteMediaSection): SectionPlan | null {
  if (section.kind === 'application') return { direction: 'sendrecv' };
  // The server multiplexes RTCP (RFC 8829 §5.1.3 requires browsers to offer it).
  if (!section.rtcpMux) return null;
  const kind: MediaKind = section.kind;
  const choice = chooseCodec(kind, section.codecs);
  if (!choice) return null;
  const codec: RtpCodecParameters = {
    payloadType: choice.offered.payloadType,
    name: choice.offered.name,
    clockRate: choice.offered.clockRate,
    fmtp: choice.server.fmtp,
    rtcpFeedback: commonFeedback(choice.server.rtcpFeedback, choice.offered.rtcpFeedback),
  };
  if (choice.offered.channels !== undefined) codec.channels = choice.offered.channels;
  if (choice.server.rtx && choice.offered.rtxPayloadType !== undefined) codec.rtxPayloadType = choice.offered.rtxPayloadType;
  if (choice.server.red) {
    const red = redFor(choice.offered, section.codecs);
    if (red !== undefined) codec.redPayloadType = red;
  }

  const sends = section.direction === 'sendonly' || section.direction === 'sendrecv';
  const sendRids = sends ? section.rids.filter((r) => r.direction === 'send').map((r) => r.id) : [];
  // Rids without a usable a=simulcast line are not simulcast: the SSRCs identify the stream then.
  const simulcastRecv = sendRids.length > 0 ? simulcastSendList(section.simulcast, sendRids) : undefined;
  const rids = simulcastRecv ? sendRids : [];
  const media: AcceptedMedia = {
    mid: section.mid,
    kind,
    codec,
    headerExtensions: acceptedExtensions(kind, section.headerExtensions),
    rids,
  };
  if (rids.length === 0) Object.assign(media, primarySsrc(section));
  const cname = section.ssrcs.find((s) => s.cname !== undefined)?.cname;
  if (cname !== undefined) media.cname = cname;
  const msid = section.msid ?? msidOfSsrcs(section);
  if (msid) media.msid = msid;
  const plan: SectionPlan = { codec, media, direction: sends ? 'recvonly' : 'inactive' };
  if (simulcastRecv) plan.simulcastRecv = simulcastRecv;
  return plan;
}

/**
 * The offered RED payload type whose blocks are all `primary` (RFC 2198 §5 fmtp `111/111`), at
 * the same clock rate and channel count; undefined when none.
 */
function redFor(primary: RtpCodecParameters, offered: readonly RtpCodecParameters[]): number | undefined {
  const pt = String(primary.payloadType);
  const red = offered.find(
    (c) =>
      c.name.toLowerCase() === 'red' &&
      c.clockRate === primary.clockRate &&
      (c.channels ?? 1) === (primary.channels ?? 1) &&
      c.fmtp.length > 0 &&
      c.fmtp.split('/').every((b) => b.trim() === pt),
  );
  return red?.payloadType;
}

/** Chrome and libwebrtc list the FID group first; Firefox lists the group after the SSRCs. Either way the group says which is which. */
function primarySsrc(section: RemoteMediaSection): { ssrc?: number; rtxSsrc?: number } {
  const fid = section.ssrcGroups.find((g) => g.semantics === 'FID' && g.ssrcs.length === 2);
  const [ssrc, rtxSsrc] = fid?.ssrcs ?? [];
  if (ssrc !== undefined && rtxSsrc !== undefined) return { ssrc, rtxSsrc };
  const first = section.ssrcs[0];
  return first ? { ssrc: first.ssrc } : {};
}

/** Plan B-style `a=ssrc:N msid:stream track`, for offers without a=msid. */
function msidOfSsrcs(section: RemoteMediaSection): { streamId: string; trackId: string } | undefined {
  const value = section.ssrcs.find((s) => s.msid !== undefined)?.msid;
  const parts = value?.split(' ');
  return parts && parts.length === 2 && parts[0] && parts[1] ? { streamId: parts[0], trackId: parts[1] } : undefined;
}

/**
 * RFC 8853 §5.1: `send q;h;f` (alternatives with ',', paused with '~'). Returns the send list
 * when every rid it names was declared with a=rid … send, else undefined (no simulcast).
 */
function simulcastSendList(simulcast: string | undefined, rids: readonly string[]): string | undefined {
  if (!simulcast) return undefined;
  const parts = simulcast.split(/\s+/);
  const sendAt = parts.indexOf('send');
  const list = sendAt >= 0 ? parts[sendAt + 1] : undefined;
  if (!list) return undefined;
  const named = list.split(/[;,]/).map((r) => r.replace(/^~/, ''));
  return named.every((r) => rids.includes(r)) ? list : undefined;
}

/** RFC 8829 §5.3.1: a rejected section keeps its mid, with port 0. */
function rejectedLines(section: RemoteMediaSection): string[] {
  const mLine =
    section.kind === 'application'
      ? 'm=application 0 UDP/DTLS/SCTP webrtc-datachannel'
      : `m=${section.kind} 0 UDP/TLS/RTP/SAVPF ${section.codecs[0]?.payloadType ?? 0}`;
  return [mLine, 'c=IN IP4 0.0.0.0', `a=mid:${section.mid}`, 'a=inactive'];
}
