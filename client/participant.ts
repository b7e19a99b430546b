/**
 * RemoteParticipant: another person in the room as the app sees them: who they are, their media
 * stream and the state of our connection to them. The transport lives in `peer` (mesh today; the
 * SFU/MCU topologies will provide the same surface through another transport).
 */
import type { ParticipantInfo } from '../src/protocol/index.js';
import { Emitter } from './emitter.js';
import type { MeshPeer } from './mesh-peer.js';
import type { PeerStats } from './stats.js';

export interface RemoteParticipantEvents {
  'connection-state': RTCPeerConnectionState;
  /** The remote stream gained or replaced a track. */
  track: MediaStreamTrack;
}

export class RemoteParticipant extends Emitter<RemoteParticipantEvents> {
  constructor(readonly info: ParticipantInfo, readonly peer: MeshPeer) {
    super();
    peer.on('connection-state', (s) => this.emit('connection-state', s));
    peer.on('track', ({ track }) => this.emit('track', track));
  }

  get id(): string { return this.info.id; }
  get name(): string { return this.info.name; }
  get identity(): string { return this.info.identity; }
  get stream(): MediaStream { return this.peer.remoteStream; }
  get connectionState(): RTCPeerConnectionState { return this.peer.connectionState; }
  stats(): Promise<PeerStats> { return this.peer.stats(); }
}
