/**
 * The SDP a headless peer of bench/sfu-forward.ts exchanges with the SFU (in process, over the
 * IPC channel, instead of the signaling WebSocket): a publish offer for one VP8 track with RTX
 * (as a browser's, reduced to what the SFU reads), the answer to a subscribe offer (every
 * section taken as offered: RFC 3264 §6.1), and the server's transport parameters read back
 * from its SDP (ICE credentials, fingerprint, UDP host candidate).
 */
import sdpTransform from 'sdp-transform';
import type { CertificateFingerprint } from '../../src/rtc/dtls/index.js';
import type { RemoteEndpoint } from './sfu-peer.js';

export const VP8_PT = 96;
export const RTX_PT = 97;

interface LocalIce {
  iceUfrag: string;
  icePwd: string;
  fingerprint: CertificateFingerprint;
}

/** A browser-like publish offer: BUNDLE, rtcp-mux, actpass (the SFU answers passive: we are DTLS client). */
export function publishOffer(local: LocalIce, ssrc: number, rtxSsrc: number): string {
  return [
    'v=0',
    `o=- ${Date.now()} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'a=msid-semantic: WMS bench',
    `m=video 9 UDP/TLS/RTP/SAVPF ${VP8_PT} ${RTX_PT}`,
    'c=IN IP4 0.0.0.0',
    `a=ice-ufrag:${local.iceUfrag}`,
    `a=ice-pwd:${local.icePwd}`,
    `a=fingerprint:${local.fingerprint.algorithm} ${local.fingerprint.value}`,
    'a=setup:actpass',
    'a=mid:0',
    'a=sendonly',
    'a=msid:bench video',
    'a=rtcp-mux',
    'a=rtcp-rsize',
    `a=rtpmap:${VP8_PT} VP8/90000`,
    `a=rtcp-fb:${VP8_PT} nack`,
    `a=rtcp-fb:${VP8_PT} nack pli`,
    `a=rtcp-fb:${VP8_PT} ccm fir`,
    `a=rtpmap:${RTX_PT} rtx/90000`,
    `a=fmtp:${RTX_PT} apt=${VP8_PT}`,
    `a=ssrc-group:FID ${ssrc} ${rtxSsrc}`,
    `a=ssrc:${ssrc} cname:bench`,
    `a=ssrc:${ssrc} msid:bench video`,
    `a=ssrc:${rtxSsrc} cname:bench`,
    `a=ssrc:${rtxSsrc} msid:bench video`,
    '',
  ].join('\r\n');
}

/** Our answer to the SFU's subscribe offer: same sections, recvonly, DTLS active, our credentials. */
export function subscribeAnswer(offerSdp: string, local: LocalIce): string {
  const offer = sdpTransform.parse(offerSdp);
  offer.origin = { username: '-', sessionId: Date.now(), sessionVersion: 1, netType: 'IN', ipVer: 4, address: '127.0.0.1' };
  delete offer.fingerprint;
  delete offer.iceUfrag;
  delete offer.icePwd;
  delete offer.setup;
  delete offer.icelite;
  for (const m of offer.media) {
    m.iceUfrag = local.iceUfrag;
    m.icePwd = local.icePwd;
    m.fingerprint = { type: local.fingerprint.algorithm, hash: local.fingerprint.value };
    m.setup = 'active';
    delete m.candidates;
    delete m.endOfCandidates;
    delete m.ssrcs;
    delete m.ssrcGroups;
    delete m.msid;
    if (m.type !== 'application') m.direction = m.direction === 'sendonly' || m.direction === 'sendrecv' ? 'recvonly' : 'inactive';
  }
  return sdpTransform.write(offer);
}

/** The server's ICE credentials, fingerprint and first UDP candidate, from its offer or answer. */
export function serverEndpoint(sdp: string): RemoteEndpoint {
  const d = sdpTransform.parse(sdp);
  const m = d.media[0];
  const ufrag = m?.iceUfrag ?? d.iceUfrag;
  const pwd = m?.icePwd ?? d.icePwd;
  const fp = m?.fingerprint ?? d.fingerprint;
  const cand = m?.candidates?.find((c) => String(c.transport).toLowerCase() === 'udp');
  if (ufrag === undefined || pwd === undefined || !fp || !cand)
    throw new Error(`server SDP lacks ICE credentials, fingerprint or a UDP candidate:\n${sdp}`);
  return {
    host: cand.ip,
    port: Number(cand.port),
    iceUfrag: String(ufrag),
    icePwd: pwd,
    fingerprints: [{ algorithm: fp.type, value: fp.hash }],
  };
}
