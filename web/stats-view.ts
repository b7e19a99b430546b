/** Formats PeerStats for the per-tile overlay. */
import type { PeerStats } from '../client/index.js';

const codecName = (mime: string | null): string => (mime ? mime.replace(/^(audio|video)\//, '') : '—');

export function formatStats(s: PeerStats, state: string): string {
  const remote = s.remoteCandidateAddress ? ` ${s.remoteCandidateAddress}:${s.remoteCandidatePort ?? '?'}` : '';
  const path = s.localCandidateType ? `${s.localCandidateType} ↔ ${s.remoteCandidateType ?? '?'}${remote}` : '—';
  return [
    `state   ${state}`,
    `in      ${s.bitrateInKbps} kbps   out ${s.bitrateOutKbps} kbps`,
    `rtt     ${s.rttMs === null ? '—' : `${s.rttMs} ms`}`,
    `video   ${codecName(s.videoCodec)} ${s.videoWidth}×${s.videoHeight}, ${s.videoFramesDecoded} frames, ${s.nackCount} NACKs sent`,
    `audio   ${codecName(s.audioCodec)}`,
    `path    ${path}${s.localRelayProtocol ? ` (TURN over ${s.localRelayProtocol.toUpperCase()})` : s.remoteCandidateType === 'relay' ? ' (TURN)' : ''}`,
  ].join('\n');
}
