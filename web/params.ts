/** The page's URL parameters: `?room=R&name=N&topology=mesh&identity=X&token=JWT&video=320x240&relay=1|udp|tcp|tls&mute=audio,video&layering=simulcast|svc`. */
import type { RelayTransport } from '../client/ice.js';
import type { VideoLayering } from '../client/sfu-layers.js';
import { TOPOLOGIES, type Topology } from '../src/protocol/index.js';

export interface PageParams {
  room: string | null;
  name: string | null;
  topology: Topology;
  identity: string | null;
  token: string | null;
  /** Camera constraints; `video=WxH` caps the resolution (tests use it to spare CPU). */
  video: MediaTrackConstraints;
  /** `relay=1`: media only through the TURN relay (iceTransportPolicy 'relay'). */
  iceTransportPolicy: RTCIceTransportPolicy;
  /** `relay=udp|tcp|tls`: through the relay, reaching TURN only over that transport. */
  relayTransport: RelayTransport | undefined;
  /** `mute=audio|video|audio,video`: join with the microphone and/or camera turned off. */
  muted: { audio: boolean; video: boolean };
  /** `layering=simulcast|svc`: SFU rooms publish the camera as 3 simulcast layers or VP9 L3T3. */
  videoLayering: VideoLayering;
}

export function readParams(search = location.search): PageParams {
  const q = new URLSearchParams(search);
  const relay = q.get('relay');
  const relayTransport = relay === 'udp' || relay === 'tcp' || relay === 'tls' ? relay : undefined;
  const topo = q.get('topology');
  const mute = (q.get('mute') ?? '').split(',');
  const video: MediaTrackConstraints = { width: { ideal: 1280 }, height: { ideal: 720 } };
  const size = /^(\d{2,4})x(\d{2,4})$/.exec(q.get('video') ?? '');
  if (size) {
    video.width = { ideal: Number(size[1]) };
    video.height = { ideal: Number(size[2]) };
    video.frameRate = { ideal: 15 };
  }
  return {
    room: q.get('room')?.trim() || null,
    name: q.get('name')?.trim() || null,
    topology: topo && (TOPOLOGIES as readonly string[]).includes(topo) ? (topo as Topology) : 'mesh',
    identity: q.get('identity')?.trim() || null,
    token: q.get('token')?.trim() || null,
    video,
    iceTransportPolicy: relay === '1' || relayTransport ? 'relay' : 'all',
    relayTransport,
    muted: { audio: mute.includes('audio'), video: mute.includes('video') },
    videoLayering: q.get('layering') === 'simulcast' ? 'simulcast' : q.get('layering') === 'svc' ? 'svc' : 'none',
  };
}
