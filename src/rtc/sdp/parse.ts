/**
 * parseRemoteSdp: a browser's (untrusted) offer or answer into a RemoteDescription.
 * sdp-transform does the line grammar; everything it yields is checked here, because its
 * values may be strings or numbers (it converts anything that looks numeric) or missing.
 */
import sdpTransform, { type MediaDescription, type SharedAttributes } from 'sdp-transform';
import { scanRawLines, type RawSectionLines } from './raw-lines.js';
import {
  SDP_LIMITS,
  asDirection,
  asSetup,
  isExtensionId,
  isIcePwd,
  isIceUfrag,
  isMid,
  isPayloadType,
  isRid,
  isUint32,
  parseFingerprint,
} from './tokens.js';
import type {
  Fingerprint,
  HeaderExtension,
  Msid,
  RemoteDescription,
  RemoteMediaSection,
  RidDescription,
  RtpCodecParameters,
  SectionKind,
  SetupRole,
  SsrcDescription,
  SsrcGroup,
} from './types.js';
import { SwitchboardError } from '../../protocol/errors.js';

export type ParseResult = { ok: true; description: RemoteDescription } | { ok: false; error: string };

/** How many descriptions were accepted and refused since start (for metrics). */
export const sdpParseCounters = { accepted: 0, rejected: 0 };

function fail(message: string): never {
  throw new SwitchboardError('invalid-sdp', message);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,10}$/.test(v) ? Number(v) : NaN;
}

/** Never throws: any failure, including an unexpected one inside sdp-transform, is an error result. */
export function parseRemoteSdp(sdp: string, type: 'offer' | 'answer'): ParseResult {
  try {
    const description = parseOrThrow(sdp, type);
    sdpParseCounters.accepted++;
    return { ok: true, description };
  } catch (err) {
    sdpParseCounters.rejected++;
    return { ok: false, error: err instanceof SwitchboardError ? err.message : 'unparsable SDP' };
  }
}

function parseOrThrow(sdp: string, type: 'offer' | 'answer'): RemoteDescription {
  if (typeof sdp !== 'string') fail('SDP is not a string');
  if (type !== 'offer' && type !== 'answer') fail('type must be offer or answer');
  if (sdp.length > SDP_LIMITS.maxBytes || Buffer.byteLength(sdp) > SDP_LIMITS.maxBytes)
    fail(`SDP larger than ${SDP_LIMITS.maxBytes} bytes`);
  const raw = scanRawLines(sdp, SDP_LIMITS.maxMediaSections);
  if (raw.firstLine !== 'v=0') fail('SDP does not start with v=0');
  if (raw.mediaCount === 0) fail('no m-section');
  if (raw.mediaCount > SDP_LIMITS.maxMediaSections) fail(`more than ${SDP_LIMITS.maxMediaSections} m-sections`);

  const parsed = sdpTransform.parse(sdp);
  const session = parseTransportAttributes(parsed, raw.sections[0], 'session level');
  const bundleMids = parseBundle(parsed.groups);
  const media: RemoteMediaSection[] = [];
  const mids = new Set<string>();
  let extmapAllowMixed = parsed.extmapAllowMixed !== undefined;
  parsed.media.forEach((m, index) => {
    const section = parseSection(m, index, raw.sections[index + 1], str(parsed.direction));
    if (mids.has(section.mid)) fail(`m-section ${index}: duplicate mid ${section.mid}`);
    mids.add(section.mid);
    if (m.extmapAllowMixed !== undefined) extmapAllowMixed = true;
    media.push(section);
  });
  for (const mid of bundleMids) if (!mids.has(mid)) fail(`BUNDLE group names unknown mid ${mid}`);

  // RFC 8843 §7: one transport for the BUNDLE group, described by its tagged (first) m-section.
  const tag = media.find((s) => s.mid === bundleMids[0] && !s.rejected) ?? media.find((s) => !s.rejected) ?? media[0];
  const iceUfrag = tag?.iceUfrag ?? session.iceUfrag;
  const icePwd = tag?.icePwd ?? session.icePwd;
  const fingerprints = tag && tag.fingerprints.length > 0 ? tag.fingerprints : session.fingerprints;
  const setup = tag?.setup ?? session.setup;
  if (iceUfrag === undefined) fail('no a=ice-ufrag');
  if (icePwd === undefined) fail('no a=ice-pwd');
  if (fingerprints.length === 0) fail('no a=fingerprint');
  if (setup === undefined) fail('no a=setup');
  // RFC 8842 §5.3: the answerer picks a role; actpass is for offers only.
  if (type === 'answer' && setup === 'actpass') fail('a=setup:actpass in an answer');
  return { type, iceUfrag, icePwd, fingerprints, setup, bundleMids, extmapAllowMixed, media };
}

interface TransportAttributes {
  iceUfrag?: string;
  icePwd?: string;
  fingerprints: Fingerprint[];
  setup?: SetupRole;
}

function parseTransportAttributes(attrs: SharedAttributes, raw: RawSectionLines | undefined, where: string): TransportAttributes {
  const out: TransportAttributes = { fingerprints: [] };
  if (attrs.iceUfrag !== undefined) {
    const ufrag = str(attrs.iceUfrag) ?? '';
    if (!isIceUfrag(ufrag)) fail(`${where}: bad a=ice-ufrag (4-256 ice-chars)`);
    out.iceUfrag = ufrag;
  }
  if (attrs.icePwd !== undefined) {
    const pwd = str(attrs.icePwd) ?? '';
    if (!isIcePwd(pwd)) fail(`${where}: bad a=ice-pwd (22-256 ice-chars)`);
    out.icePwd = pwd;
  }
  for (const line of raw?.fingerprints ?? []) {
    const fp = parseFingerprint(line);
    if (!fp) fail(`${where}: bad a=fingerprint (sha-1/224/256/384/512 and hex pairs)`);
    out.fingerprints.push(fp);
  }
  if (attrs.setup !== undefined) {
    const setup = asSetup(str(attrs.setup));
    if (!setup) fail(`${where}: bad a=setup (actpass, active or passive)`);
    out.setup = setup;
  }
  return out;
}

function parseBundle(groups: { type: string; mids: string }[] | undefined): string[] {
  const bundles = (groups ?? []).filter((g) => str(g.type) === 'BUNDLE');
  if (bundles.length > 1) fail('more than one BUNDLE group');
  const first = bundles[0];
  if (!first) return [];
  const mids = (str(first.mids) ?? '').split(' ').filter((s) => s.length > 0);
  if (mids.length > SDP_LIMITS.maxMediaSections) fail('BUNDLE group too long');
  for (const mid of mids) if (!isMid(mid)) fail('BUNDLE group: bad mid (1-32 of A-Z a-z 0-9 _ -)');
  if (new Set(mids).size !== mids.length) fail('BUNDLE group names a mid twice');
  return mids;
}

function sectionKind(type: unknown, where: string): SectionKind {
  const t = str(type);
  if (t === 'audio' || t === 'video' || t === 'application') return t;
  fail(`${where}: unsupported media type`);
}

function parseSection(
  m: MediaDescription,
  index: number,
  raw: RawSectionLines | undefined,
  sessionDirection: string | undefined,
): RemoteMediaSection {
  const where = `m-section ${index}`;
  const kind = sectionKind(m.type, where);
  const port = num(m.port);
  if (!Number.isInteger(port) || port > 65535) fail(`${where}: bad port`);
  const mid = raw?.mid[0];
  if (mid === undefined) fail(`${where}: no a=mid`);
  if (raw !== undefined && raw.mid.length > 1) fail(`${where}: more than one a=mid`);
  if (!isMid(mid)) fail(`${where}: bad a=mid (1-32 of A-Z a-z 0-9 _ -)`);
  const dirValue = m.direction ?? sessionDirection ?? 'sendrecv';
  const direction = asDirection(str(dirValue));
  if (!direction) fail(`${where}: bad direction`);
  const transport = parseTransportAttributes(m, raw, where);
  const section: RemoteMediaSection = {
    index,
    mid,
    kind,
    // RFC 8843 §6: port 0 with a=bundle-only is a bundled section, not a rejected one.
    rejected: port === 0 && m.bundleOnly === undefined,
    direction,
    codecs: kind === 'application' ? [] : parseCodecs(m, where),
    headerExtensions: parseHeaderExtensions(m, where),
    ssrcs: parseSsrcs(m, where),
    ssrcGroups: parseSsrcGroups(m, where),
    rids: parseRids(m, where),
    rtcpMux: m.rtcpMux !== undefined,
    rtcpRsize: m.rtcpRsize !== undefined,
    fingerprints: transport.fingerprints,
  };
  const simulcast = raw?.simulcast[0]?.trim();
  if (simulcast !== undefined) {
    if (simulcast.length === 0 || simulcast.length > 256) fail(`${where}: bad a=simulcast`);
    section.simulcast = simulcast;
  }
  const msid = raw?.msid[0];
  if (msid !== undefined) section.msid = parseMsid(msid, where);
  if (m.sctpPort !== undefined) {
    const sctpPort = num(m.sctpPort);
    if (!Number.isInteger(sctpPort) || sctpPort < 1 || sctpPort > 65535) fail(`${where}: bad a=sctp-port`);
    section.sctpPort = sctpPort;
  }
  if (m.maxMessageSize !== undefined) {
    const max = num(m.maxMessageSize);
    if (!Number.isSafeInteger(max)) fail(`${where}: bad a=max-message-size`);
    section.maxMessageSize = max;
  }
  if (transport.iceUfrag !== undefined) section.iceUfrag = transport.iceUfrag;
  if (transport.icePwd !== undefined) section.icePwd = transport.icePwd;
  if (transport.setup !== undefined) section.setup = transport.setup;
  return section;
}

/** RFC 8830 §2: msid-id [SP msid-appdata], each 1*64 token-char (RFC 4566 §9). */
function parseMsid(value: string, where: string): Msid {
  const m =
    /^([\x21\x23-\x27\x2A\x2B\x2D\x2E\x30-\x39\x41-\x5A\x5E-\x7E]{1,64})(?: ([\x21\x23-\x27\x2A\x2B\x2D\x2E\x30-\x39\x41-\x5A\x5E-\x7E]{1,64}))?\s*$/.exec(
      value,
    );
  if (!m) fail(`${where}: bad a=msid`);
  return { streamId: m[1] ?? '', trackId: m[2] ?? '' };
}

function parseCodecs(m: MediaDescription, where: string): RtpCodecParameters[] {
  const payloads = (str(m.payloads) ?? '').split(' ').filter((s) => s.length > 0);
  if (payloads.length > SDP_LIMITS.maxCodecsPerSection) fail(`${where}: more than ${SDP_LIMITS.maxCodecsPerSection} payload types`);
  if (m.rtp.length > SDP_LIMITS.maxCodecsPerSection) fail(`${where}: more than ${SDP_LIMITS.maxCodecsPerSection} a=rtpmap`);
  const order: number[] = [];
  for (const p of payloads) {
    const pt = num(p);
    if (!isPayloadType(pt)) fail(`${where}: payload type ${p.slice(0, 12)} not in 0-127`);
    order.push(pt);
  }
  const byPt = new Map<number, RtpCodecParameters>();
  for (const r of m.rtp) {
    const pt = num(r.payload);
    if (!isPayloadType(pt)) fail(`${where}: a=rtpmap payload type not in 0-127`);
    if (byPt.has(pt)) fail(`${where}: two a=rtpmap for payload type ${pt}`);
    const name = str(r.codec) ?? '';
    const clockRate = num(r.rate);
    if (name.length === 0 || name.length > 32) fail(`${where}: a=rtpmap:${pt} without a codec name`);
    if (!Number.isInteger(clockRate) || clockRate <= 0) fail(`${where}: a=rtpmap:${pt} bad clock rate`);
    const codec: RtpCodecParameters = { payloadType: pt, name, clockRate, fmtp: '', rtcpFeedback: [] };
    if (r.encoding !== undefined) {
      const channels = num(r.encoding);
      if (!Number.isInteger(channels) || channels < 1 || channels > 255) fail(`${where}: a=rtpmap:${pt} bad channel count`);
      codec.channels = channels;
    }
    byPt.set(pt, codec);
  }
  for (const f of m.fmtp) {
    const codec = byPt.get(num(f.payload));
    const config = str(f.config);
    if (codec && config !== undefined) codec.fmtp = config.trim();
  }
  for (const fb of m.rtcpFb ?? []) {
    const type = str(fb.type);
    if (!type) continue;
    const entry = fb.subtype !== undefined && str(fb.subtype) ? { type, parameter: str(fb.subtype) as string } : { type };
    const target = str(fb.payload) === '*' ? [...byPt.values()] : [byPt.get(num(fb.payload))];
    for (const codec of target) if (codec) codec.rtcpFeedback.push(entry);
  }
  // RFC 4588 §8.6: an rtx payload type names its original with apt=.
  const codecs: RtpCodecParameters[] = [];
  const rtx: RtpCodecParameters[] = [];
  for (const pt of order) {
    const codec = byPt.get(pt);
    if (!codec) continue;
    (codec.name.toLowerCase() === 'rtx' ? rtx : codecs).push(codec);
  }
  for (const r of rtx) {
    const apt = /(?:^|;)\s*apt=(\d{1,3})\s*(?:;|$)/.exec(r.fmtp);
    const original = apt ? codecs.find((c) => c.payloadType === Number(apt[1])) : undefined;
    if (original && original.rtxPayloadType === undefined) original.rtxPayloadType = r.payloadType;
  }
  return codecs;
}

function parseHeaderExtensions(m: MediaDescription, where: string): HeaderExtension[] {
  const list = m.ext ?? [];
  if (list.length > SDP_LIMITS.maxHeaderExtensionsPerSection) fail(`${where}: too many a=extmap`);
  const out: HeaderExtension[] = [];
  for (const e of list) {
    const id = num(e.value);
    if (!isExtensionId(id)) fail(`${where}: a=extmap id not in 1-255`);
    const uri = str(e.uri) ?? '';
    if (uri.length === 0 || uri.length > 256) fail(`${where}: a=extmap:${id} without a URI`);
    if (out.some((x) => x.id === id)) fail(`${where}: a=extmap id ${id} used twice`);
    const ext: HeaderExtension = { id, uri };
    if (e.direction !== undefined) {
      const direction = asDirection(str(e.direction));
      if (!direction) fail(`${where}: a=extmap:${id} bad direction`);
      ext.direction = direction;
    }
    out.push(ext);
  }
  return out;
}

function parseSsrcs(m: MediaDescription, where: string): SsrcDescription[] {
  const byId = new Map<number, SsrcDescription>();
  for (const line of m.ssrcs ?? []) {
    const ssrc = num(line.id);
    if (!isUint32(ssrc)) fail(`${where}: a=ssrc not a 32-bit number`);
    let entry = byId.get(ssrc);
    if (!entry) {
      if (byId.size >= SDP_LIMITS.maxSsrcsPerSection) fail(`${where}: more than ${SDP_LIMITS.maxSsrcsPerSection} SSRCs`);
      entry = { ssrc };
      byId.set(ssrc, entry);
    }
    const attribute = str(line.attribute);
    const value = str(line.value);
    if (value === undefined || value.length > 256) continue;
    if (attribute === 'cname') entry.cname = value;
    else if (attribute === 'msid') entry.msid = value;
  }
  return [...byId.values()];
}

function parseSsrcGroups(m: MediaDescription, where: string): SsrcGroup[] {
  const groups = m.ssrcGroups ?? [];
  if (groups.length > SDP_LIMITS.maxSsrcsPerSection) fail(`${where}: too many a=ssrc-group`);
  return groups.map((g) => {
    const semantics = str(g.semantics) ?? '';
    const parts = (str(g.ssrcs) ?? '').split(' ').filter((s) => s.length > 0);
    if (semantics.length === 0 || parts.length === 0 || parts.length > SDP_LIMITS.maxSsrcsPerSection) fail(`${where}: bad a=ssrc-group`);
    const ssrcs = parts.map(num);
    if (!ssrcs.every(isUint32)) fail(`${where}: a=ssrc-group:${semantics.slice(0, 16)} SSRC not a 32-bit number`);
    return { semantics, ssrcs };
  });
}

function parseRids(m: MediaDescription, where: string): RidDescription[] {
  const rids = m.rids ?? [];
  if (rids.length > SDP_LIMITS.maxRidsPerSection) fail(`${where}: more than ${SDP_LIMITS.maxRidsPerSection} a=rid`);
  return rids.map((r) => {
    const id = str(r.id) ?? '';
    const direction = str(r.direction);
    if (!isRid(id)) fail(`${where}: bad a=rid id (1-32 of A-Z a-z 0-9 _ -)`);
    if (direction !== 'send' && direction !== 'recv') fail(`${where}: a=rid:${id} direction must be send or recv`);
    return { id, direction };
  });
}
