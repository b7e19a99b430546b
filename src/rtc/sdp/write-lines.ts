/** Line writers shared by the publish answer and the subscribe offer. */
import { randomBytes } from 'node:crypto';
import type { Direction, HeaderExtension, LocalCandidate, LocalTransportParameters, RtpCodecParameters } from './types.js';

/** RFC 8866 §5.2: a numeric session id; 62 bits keeps it a positive signed 64-bit value as browsers write. */
export function newSessionId(): string {
  return (randomBytes(8).readBigUInt64BE() >> 2n).toString();
}

export function sessionLines(
  sessionId: string,
  sessionVersion: number,
  bundleMids: readonly string[],
  extmapAllowMixed: boolean,
): string[] {
  const lines = [
    'v=0',
    `o=- ${sessionId} ${sessionVersion} IN IP4 0.0.0.0`,
    's=-',
    't=0 0',
    // RFC 8445 §2.5: the server only answers connectivity checks.
    'a=ice-lite',
  ];
  if (bundleMids.length > 0) lines.push(`a=group:BUNDLE ${bundleMids.join(' ')}`);
  if (extmapAllowMixed) lines.push('a=extmap-allow-mixed');
  lines.push('a=msid-semantic: WMS *');
  return lines;
}

/** RFC 8839 §4.2.1.2: the m= port and c= address carry the default candidate (the first one). */
export function defaultDestination(local: LocalTransportParameters): { port: number; connection: string } {
  const first = local.candidates[0];
  if (!first) return { port: 9, connection: 'c=IN IP4 0.0.0.0' };
  return { port: first.port, connection: `c=IN ${first.ip.includes(':') ? 'IP6' : 'IP4'} ${first.ip}` };
}

export function candidateLine(c: LocalCandidate): string {
  const tcp = c.transport === 'tcp' ? ` tcptype ${c.tcptype ?? 'passive'}` : '';
  return `a=candidate:${c.foundation} ${c.component} ${c.transport} ${c.priority} ${c.ip} ${c.port} typ ${c.type}${tcp}`;
}

/**
 * ICE and DTLS attributes of the one BUNDLE transport. Written in every section as browsers
 * write their own, and with every candidate: the server does not trickle (RFC 8840 §4.2
 * a=end-of-candidates).
 */
export function transportLines(local: LocalTransportParameters, setup: 'actpass' | 'active' | 'passive'): string[] {
  return [
    `a=ice-ufrag:${local.iceUfrag}`,
    `a=ice-pwd:${local.icePwd}`,
    `a=fingerprint:${local.fingerprint.algorithm} ${local.fingerprint.value}`,
    `a=setup:${setup}`,
    ...local.candidates.map(candidateLine),
    'a=end-of-candidates',
  ];
}

export function extensionLines(
  extensions: readonly HeaderExtension[],
  directionOf: (e: HeaderExtension) => Direction | undefined,
): string[] {
  return extensions.map((e) => {
    const dir = directionOf(e);
    return `a=extmap:${e.id}${dir && dir !== 'sendrecv' ? `/${dir}` : ''} ${e.uri}`;
  });
}

/** rtpmap, rtcp-fb and fmtp of one codec and its RFC 4588 rtx payload type. */
export function codecLines(codec: RtpCodecParameters): string[] {
  const pt = codec.payloadType;
  const lines = [
    `a=rtpmap:${pt} ${codec.name}/${codec.clockRate}${codec.channels !== undefined && codec.channels > 1 ? `/${codec.channels}` : ''}`,
  ];
  for (const fb of codec.rtcpFeedback) lines.push(`a=rtcp-fb:${pt} ${fb.type}${fb.parameter ? ` ${fb.parameter}` : ''}`);
  if (codec.fmtp.length > 0) lines.push(`a=fmtp:${pt} ${codec.fmtp}`);
  if (codec.rtxPayloadType !== undefined) {
    lines.push(`a=rtpmap:${codec.rtxPayloadType} rtx/${codec.clockRate}`, `a=fmtp:${codec.rtxPayloadType} apt=${pt}`);
  }
  if (codec.redPayloadType !== undefined) {
    // RFC 2198 §5: the fmtp lists the block payload types; one redundant block plus the primary, both this codec.
    const channels = codec.channels !== undefined && codec.channels > 1 ? `/${codec.channels}` : '';
    lines.push(`a=rtpmap:${codec.redPayloadType} red/${codec.clockRate}${channels}`, `a=fmtp:${codec.redPayloadType} ${pt}/${pt}`);
  }
  return lines;
}

/**
 * The m= line's payload types in preference order. `redFirst`: RED before its codec — libwebrtc
 * sends RED only when the negotiated list has red ahead of opus, so the publish answer puts it
 * first; a subscribe offer lists the plain codec first.
 */
export function payloadList(codec: RtpCodecParameters, redFirst = false): string {
  const pts = [codec.payloadType];
  if (codec.redPayloadType !== undefined) {
    if (redFirst) pts.unshift(codec.redPayloadType);
    else pts.push(codec.redPayloadType);
  }
  if (codec.rtxPayloadType !== undefined) pts.push(codec.rtxPayloadType);
  return pts.join(' ');
}

export function joinSdp(lines: readonly string[]): string {
  return `${lines.join('\r\n')}\r\n`;
}
