import type { IceServer } from '../src/protocol/index.js';

/**
 * The RTCPeerConnection configuration for the server's ICE servers. `relay` forces every path
 * through TURN (privacy: the peer never learns our addresses; also how tests prove TURN works).
 */
export function rtcConfiguration(
  servers: IceServer[] | undefined,
  iceTransportPolicy: RTCIceTransportPolicy = 'all',
  relayTransport?: RelayTransport,
): RTCConfiguration {
  return { iceServers: toRtcIceServers(relayTransport ? onlyRelayTransport(servers ?? [], relayTransport) : servers), iceTransportPolicy };
}

/** How the browser reaches the TURN server: `turn:…?transport=udp|tcp` or `turns:` (TLS). */
export type RelayTransport = 'udp' | 'tcp' | 'tls';

/**
 * Keeps only TURN URLs of one transport (RFC 7065 URIs): to check a restrictive network's
 * path (UDP blocked → TCP, only 443/TLS open → TLS) on purpose.
 */
export function onlyRelayTransport(servers: IceServer[], transport: RelayTransport): IceServer[] {
  const keep = (url: string): boolean => {
    if (transport === 'tls') return url.startsWith('turns:');
    if (!url.startsWith('turn:')) return false;
    const t = /[?&]transport=(udp|tcp)/i.exec(url)?.[1]?.toLowerCase() ?? 'udp';
    return t === transport;
  };
  return servers.map((s) => ({ ...s, urls: s.urls.filter(keep) })).filter((s) => s.urls.length > 0);
}

/** Protocol ICE servers (from `welcome`) to the browser's RTCIceServer shape. */
export function toRtcIceServers(servers: IceServer[] | undefined): RTCIceServer[] {
  return (servers ?? []).map((s) => {
    const out: RTCIceServer = { urls: s.urls };
    if (s.username !== undefined) out.username = s.username;
    if (s.credential !== undefined) out.credential = s.credential;
    return out;
  });
}
