import type { IceServer } from '../src/protocol/index.js';

/**
 * The RTCPeerConnection configuration for the server's ICE servers. `relay` forces every path
 * through TURN (privacy: the peer never learns our addresses; also how tests prove TURN works).
 */
export function rtcConfiguration(servers: IceServer[] | undefined, iceTransportPolicy: RTCIceTransportPolicy = 'all'): RTCConfiguration {
  return { iceServers: toRtcIceServers(servers), iceTransportPolicy };
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
