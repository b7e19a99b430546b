/**
 * The server's offer on a SUBSCRIBE transport: one sendonly m-section per forwarded track.
 * A section whose track ended stays in place as a=inactive (RFC 8829 §5.2.2 keeps m-section
 * order and mids stable across offers) and may later carry a new track of the same kind.
 */
import { assertLocalTransport } from './local-params.js';
import { SERVER_MAX_MESSAGE_SIZE, SERVER_SCTP_PORT } from './publish-answer.js';
import { isExtensionId, isMid, isPayloadType, isUint32 } from './tokens.js';
import type { LocalTransportParameters, OfferedSection } from './types.js';
import { codecLines, defaultDestination, extensionLines, joinSdp, payloadList, sessionLines, transportLines } from './write-lines.js';

/** The mid of the data channel section, always the first m-section when present. */
export const SUBSCRIBE_DATA_MID = 'data';

export interface SubscribeOfferParams {
  local: LocalTransportParameters;
  sessionId: string;
  sessionVersion: number;
  /** In m-section order: an existing section keeps its index in every later offer. */
  sections: OfferedSection[];
  /**
   * An m=application section (mid 'data') first. Keep the same value for every offer of one
   * session: adding it later would shift the m-sections, which JSEP forbids.
   */
  data?: boolean;
}

export function buildSubscribeOffer(p: SubscribeOfferParams): string {
  assertLocalTransport(p.local);
  if (!/^\d{1,20}$/.test(p.sessionId)) throw new TypeError('sessionId must be decimal digits (RFC 8866 §5.2)');
  if (!Number.isSafeInteger(p.sessionVersion) || p.sessionVersion < 0) throw new TypeError('sessionVersion must be a non-negative integer');
  assertSections(p.sections, p.data === true);
  const destination = defaultDestination(p.local);
  const mids = p.sections.map((s) => s.mid);
  if (p.data) mids.unshift(SUBSCRIBE_DATA_MID);
  // RFC 8842 §5.2: the offerer lets the answerer pick the DTLS role.
  const transport = transportLines(p.local, 'actpass');
  const lines = sessionLines(p.sessionId, p.sessionVersion, mids, true);
  if (p.data) {
    lines.push(
      `m=application ${destination.port} UDP/DTLS/SCTP webrtc-datachannel`,
      destination.connection,
      ...transport,
      `a=mid:${SUBSCRIBE_DATA_MID}`,
      `a=sctp-port:${SERVER_SCTP_PORT}`,
      `a=max-message-size:${SERVER_MAX_MESSAGE_SIZE}`,
    );
  }
  for (const s of p.sections) {
    lines.push(
      `m=${s.kind} ${destination.port} UDP/TLS/RTP/SAVPF ${payloadList(s.codec)}`,
      destination.connection,
      ...transport,
      `a=mid:${s.mid}`,
    );
    lines.push(...extensionLines(s.headerExtensions, () => undefined));
    lines.push(s.active ? 'a=sendonly' : 'a=inactive');
    if (s.active) lines.push(`a=msid:${s.streamId} ${s.trackId}`);
    lines.push('a=rtcp-mux', 'a=rtcp-rsize', ...codecLines(s.codec));
    if (!s.active) continue;
    // RFC 5576 §4.2 / RFC 4588 §8.7: FID pairs the original SSRC with its retransmission SSRC.
    const ssrcs = s.rtxSsrc !== undefined && s.codec.rtxPayloadType !== undefined ? [s.ssrc, s.rtxSsrc] : [s.ssrc];
    if (ssrcs.length === 2) lines.push(`a=ssrc-group:FID ${ssrcs.join(' ')}`);
    for (const ssrc of ssrcs) lines.push(`a=ssrc:${ssrc} cname:${s.cname}`, `a=ssrc:${ssrc} msid:${s.streamId} ${s.trackId}`);
  }
  return joinSdp(lines);
}

/** RFC 8830 §2 / RFC 4566 token-char, which also keeps the values on one line. */
const MSID_TOKEN = /^[\x21\x23-\x27\x2A\x2B\x2D\x2E\x30-\x39\x41-\x5A\x5E-\x7E]{1,64}$/;
/** RFC 7022 cnames are short opaque strings; no whitespace keeps a=ssrc lines parseable. */
const CNAME = /^[\x21-\x7E]{1,255}$/;

function assertSections(sections: readonly OfferedSection[], data: boolean): void {
  const mids = new Set<string>(data ? [SUBSCRIBE_DATA_MID] : []);
  for (const s of sections) {
    if (!isMid(s.mid) || mids.has(s.mid)) throw new TypeError(`section mid ${s.mid} is malformed or used twice`);
    mids.add(s.mid);
    if (s.kind !== 'audio' && s.kind !== 'video') throw new TypeError(`section ${s.mid}: kind must be audio or video`);
    if (
      !isPayloadType(s.codec.payloadType) ||
      (s.codec.rtxPayloadType !== undefined && !isPayloadType(s.codec.rtxPayloadType)) ||
      (s.codec.redPayloadType !== undefined && !isPayloadType(s.codec.redPayloadType))
    ) {
      throw new TypeError(`section ${s.mid}: payload type not in 0-127`);
    }
    if (!s.headerExtensions.every((e) => isExtensionId(e.id))) throw new TypeError(`section ${s.mid}: header extension id not in 1-255`);
    if (!s.active) continue;
    if (!isUint32(s.ssrc) || (s.rtxSsrc !== undefined && !isUint32(s.rtxSsrc)))
      throw new TypeError(`section ${s.mid}: SSRC not a 32-bit number`);
    if (!MSID_TOKEN.test(s.streamId) || !MSID_TOKEN.test(s.trackId))
      throw new TypeError(`section ${s.mid}: stream and track ids must be 1-64 token chars`);
    if (!CNAME.test(s.cname)) throw new TypeError(`section ${s.mid}: cname must be printable without spaces`);
  }
}
