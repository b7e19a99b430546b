import type { IceServer } from '../src/protocol/index.js';

/** Protocol ICE servers (from `welcome`) to the browser's RTCIceServer shape. */
export function toRtcIceServers(servers: IceServer[] | undefined): RTCIceServer[] {
  return (servers ?? []).map((s) => {
    const out: RTCIceServer = { urls: s.urls };
    if (s.username !== undefined) out.username = s.username;
    if (s.credential !== undefined) out.credential = s.credential;
    return out;
  });
}
