/**
 * RemoteParticipant: another person in the room as the app sees them: who they are, their media
 * stream and the state of our connection to them. What carries their media is a
 * ParticipantTransport: a MeshPeer (a connection of our own to them) in mesh rooms, an
 * SfuParticipant (their share of the server's subscribe connection) in SFU rooms.
 */
import type { ParticipantInfo } from '../src/protocol/index.js';
import { Emitter, type Listener } from './emitter.js';
import type { MediaKind } from './local-media.js';
import type { PeerStats } from './stats.js';

export interface ParticipantTransportEvents {
  'connection-state': RTCPeerConnectionState;
  track: { kind: MediaKind; track: MediaStreamTrack };
  'track-removed': { kind: MediaKind; track: MediaStreamTrack };
}

/** What a topology gives the app about one remote participant. */
export interface ParticipantTransport {
  readonly remoteStream: MediaStream;
  readonly connectionState: RTCPeerConnectionState;
  stats(): Promise<PeerStats>;
  on<K extends keyof ParticipantTransportEvents>(event: K, fn: Listener<ParticipantTransportEvents[K]>): () => void;
  close(): void;
}

export interface RemoteParticipantEvents {
  'connection-state': RTCPeerConnectionState;
  /** The remote stream gained or replaced a track. */
  track: MediaStreamTrack;
  /** The remote stream lost a track (SFU: the participant stopped sending that kind). */
  'track-removed': MediaStreamTrack;
}

export class RemoteParticipant extends Emitter<RemoteParticipantEvents> {
  /** The transport: a MeshPeer in mesh rooms, an SfuParticipant in SFU rooms. */
  constructor(
    readonly info: ParticipantInfo,
    readonly peer: ParticipantTransport,
  ) {
    super();
    peer.on('connection-state', (s) => this.emit('connection-state', s));
    peer.on('track', ({ track }) => this.emit('track', track));
    peer.on('track-removed', ({ track }) => this.emit('track-removed', track));
  }

  get id(): string {
    return this.info.id;
  }
  get name(): string {
    return this.info.name;
  }
  get identity(): string {
    return this.info.identity;
  }
  get stream(): MediaStream {
    return this.peer.remoteStream;
  }
  get connectionState(): RTCPeerConnectionState {
    return this.peer.connectionState;
  }
  stats(): Promise<PeerStats> {
    return this.peer.stats();
  }
}
