/**
 * MeshTransport: a mesh room's connections, one MeshPeer per remote participant.
 *
 * Who offers: the newcomer. `joined` lists those already present; we create an initiating
 * MeshPeer to each. Members who arrive later (`participant-joined`) get a waiting MeshPeer that
 * answers their offer. Perfect negotiation inside each PeerLink handles any later glare.
 */
import type { ParticipantInfo, ServerMessage } from '../src/protocol/index.js';
import type { FileHeader, Progress } from './file-transfer.js';
import { rtcConfiguration, type RelayTransport } from './ice.js';
import type { LocalMedia, MediaKind } from './local-media.js';
import { MeshPeer } from './mesh-peer.js';
import type { ParticipantTransport } from './participant.js';
import type { FileSendResult, InboundSink, RoomTransport } from './room-transport.js';
import type { SignalingClient } from './signaling.js';
import type { PeerStats } from './stats.js';

export interface MeshTransportOptions {
  selfId: string;
  iceTransportPolicy?: RTCIceTransportPolicy;
  relayTransport?: RelayTransport;
}

export class MeshTransport implements RoomTransport {
  readonly topology = 'mesh' as const;
  private readonly peers = new Map<string, MeshPeer>();

  constructor(
    private readonly signaling: SignalingClient,
    private readonly media: LocalMedia,
    private readonly sink: InboundSink,
    private readonly opts: MeshTransportOptions,
  ) {}

  attach(info: ParticipantInfo, initiator: boolean): ParticipantTransport {
    const to = info.id;
    const sig = this.signaling;
    const peer = new MeshPeer({
      selfId: this.opts.selfId,
      remoteId: to,
      initiator,
      rtcConfig: rtcConfiguration(sig.welcome?.iceServers, this.opts.iceTransportPolicy, this.opts.relayTransport),
      tracks: { audio: this.media.outgoing('audio'), video: this.media.outgoing('video') },
      signal: {
        description: (d) => sig.send({ type: d.type, to, sdp: d.sdp }),
        candidate: (candidate) => sig.send({ type: 'candidate', to, candidate }),
        endOfCandidates: () => sig.send({ type: 'end-of-candidates', to }),
      },
    });
    this.peers.get(to)?.close();
    this.peers.set(to, peer);
    peer.on('chat', ({ text }) => this.sink.chat(to, text));
    peer.on('file-progress', (p) => this.sink.fileProgress(to, p));
    peer.on('file', (f) => this.sink.file(to, f));
    return peer;
  }

  detach(id: string): void {
    this.peers.get(id)?.close();
    this.peers.delete(id);
  }

  handleSignal(m: ServerMessage): void {
    switch (m.type) {
      case 'offer':
      case 'answer':
        if (m.callId === undefined) this.peers.get(m.from)?.handleDescription({ type: m.type, sdp: m.sdp });
        break;
      case 'candidate':
        if (m.callId === undefined) this.peers.get(m.from)?.handleCandidate(m.candidate);
        break;
      case 'end-of-candidates':
        if (m.callId === undefined) this.peers.get(m.from)?.handleCandidate(null);
        break;
      default:
        break;
    }
  }

  setTrack(kind: MediaKind, track: MediaStreamTrack | null): void {
    for (const peer of this.peers.values()) void peer.setTrack(kind, track);
  }

  sendChat(text: string, to: readonly ParticipantInfo[]): string[] {
    return to.filter((p) => !this.peers.get(p.id)?.sendChat(text)).map((p) => p.id);
  }

  async sendFile(
    header: FileHeader,
    bytes: Uint8Array,
    to: readonly ParticipantInfo[],
    onProgress: (peerId: string, p: Progress) => void,
  ): Promise<FileSendResult> {
    const failures: string[] = [];
    await Promise.all(
      to.map(async (info) => {
        try {
          const peer = this.peers.get(info.id);
          if (!peer) throw new Error('no connection');
          await peer.sendFile(header, bytes, (pr) => onProgress(info.id, pr));
        } catch (err) {
          failures.push(`${info.name}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }),
    );
    return { failures };
  }

  publishStats(): Promise<PeerStats | null> {
    return Promise.resolve(null);
  }

  close(): void {
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
  }
}
