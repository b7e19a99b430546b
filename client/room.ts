/**
 * Room: membership of one signaling room and the mesh of peer connections to its members.
 *
 * Who offers: the newcomer. `joined` lists those already present; we create an initiating
 * MeshPeer to each. Members who arrive later (`participant-joined`) get a waiting MeshPeer that
 * answers their offer. Perfect negotiation inside each PeerLink handles any later glare.
 */
import type {
  JoinedMsg, ParticipantInfo, ServerMessage, Topology,
} from '../src/protocol/index.js';
import { Emitter } from './emitter.js';
import type { Progress, ReceivedFile } from './file-transfer.js';
import { rtcConfiguration, type RelayTransport } from './ice.js';
import type { LocalMedia } from './local-media.js';
import { MAX_CHAT_CHARS, MeshPeer } from './mesh-peer.js';
import { RemoteParticipant } from './participant.js';
import { sha256Hex } from './sha256.js';
import type { SignalingClient } from './signaling.js';

export interface ChatMessage {
  /** Participant id of the sender (our own id for lines we sent). */
  from: string;
  name: string;
  text: string;
  local: boolean;
  at: number;
}

export interface FileProgressEvent extends Progress {
  direction: 'send' | 'receive';
  /** The remote participant the bytes go to / come from. */
  peerId: string;
}

export interface FileReceivedEvent { from: RemoteParticipant; file: ReceivedFile }

export interface RoomEvents {
  joined: { self: ParticipantInfo; participants: RemoteParticipant[] };
  'participant-joined': RemoteParticipant;
  'participant-left': { participant: RemoteParticipant; reason: 'left' | 'disconnected' };
  'connection-state': { participant: RemoteParticipant; state: RTCPeerConnectionState };
  chat: ChatMessage;
  'file-progress': FileProgressEvent;
  'file-received': FileReceivedEvent;
  left: void;
}

export interface RoomOptions {
  room: string;
  topology?: Topology;
  /** 'relay' sends all media through TURN. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Only TURN over this transport (see ice.ts). */
  relayTransport?: RelayTransport;
}

let transferSeq = 0;

export class Room extends Emitter<RoomEvents> {
  readonly participants = new Map<string, RemoteParticipant>();
  self: ParticipantInfo | null = null;
  topology: Topology | null = null;
  private unsubscribe: Array<() => void> = [];
  private active = false;

  constructor(
    private readonly signaling: SignalingClient,
    private readonly media: LocalMedia,
    readonly options: RoomOptions,
  ) {
    super();
  }

  get name(): string { return this.options.room; }
  get joined(): boolean { return this.active; }

  async join(): Promise<JoinedMsg> {
    if (this.active) throw new Error('already joined');
    this.unsubscribe.push(
      this.signaling.on('message', (m) => this.onMessage(m)),
      this.signaling.on('session-lost', () => void this.rejoin()),
      this.signaling.on('resumed', (m) => { if (m.participants) this.reconcile(m.participants); }),
      this.media.on('tracks-changed', (t) => {
        for (const p of this.participants.values()) {
          void p.peer.setTrack('audio', t.audio);
          void p.peer.setTrack('video', t.video);
        }
      }),
    );
    return this.doJoin();
  }

  async leave(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    for (const p of [...this.participants.values()]) this.removeParticipant(p.id, 'left');
    try {
      await this.signaling.request({ type: 'leave' });
    } catch (err) {
      console.warn('[switchboard] leave was not acknowledged', err);
    }
    this.emit('left', undefined);
  }

  sendChat(text: string): ChatMessage {
    const line = text.slice(0, MAX_CHAT_CHARS);
    for (const p of this.participants.values()) {
      if (!p.peer.sendChat(line)) console.warn(`[switchboard] chat to ${p.id} not sent: channel not open`);
    }
    const msg: ChatMessage = { from: this.self?.id ?? '', name: this.self?.name ?? 'me', text: line, local: true, at: Date.now() };
    this.emit('chat', msg);
    return msg;
  }

  /** Sends a file to every participant; resolves with its SHA-256 when all sends are drained. */
  async sendFile(name: string, bytes: Uint8Array): Promise<{ id: string; sha256: string; failures: string[] }> {
    const sha256 = await sha256Hex(bytes);
    const id = `${this.self?.id ?? 'f'}-${Date.now().toString(36)}-${transferSeq++}`;
    const header = { t: 'start' as const, id, name, size: bytes.length, sha256 };
    const failures: string[] = [];
    await Promise.all([...this.participants.values()].map(async (p) => {
      try {
        await p.peer.sendFile(header, bytes, (pr) => this.emit('file-progress', { ...pr, direction: 'send', peerId: p.id }));
      } catch (err) {
        failures.push(`${p.name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }));
    return { id, sha256, failures };
  }

  // ---- internals ---------------------------------------------------------------------

  private async doJoin(): Promise<JoinedMsg> {
    const joinMsg: { type: 'join'; room: string; topology?: Topology } = { type: 'join', room: this.options.room };
    if (this.options.topology) joinMsg.topology = this.options.topology;
    const joined = await this.signaling.request<JoinedMsg>(joinMsg);
    this.active = true;
    this.self = joined.self;
    this.topology = joined.topology;
    for (const info of joined.participants) {
      if (info.id !== joined.self.id) this.addParticipant(info, true);
    }
    this.emit('joined', { self: joined.self, participants: [...this.participants.values()] });
    return joined;
  }

  /** Our session was replaced by a new one: everyone sees us as new, so rebuild the mesh. */
  private async rejoin(): Promise<void> {
    if (!this.active) return;
    for (const p of [...this.participants.values()]) this.removeParticipant(p.id, 'disconnected');
    this.active = false;
    try {
      await this.doJoin();
    } catch (err) {
      console.error('[switchboard] could not rejoin after losing the session', err);
    }
  }

  /** After a resume: drop peers that left while we were away, add ones that arrived. */
  private reconcile(list: ParticipantInfo[]): void {
    const present = new Set(list.map((p) => p.id));
    for (const id of [...this.participants.keys()]) if (!present.has(id)) this.removeParticipant(id, 'disconnected');
    for (const info of list) {
      if (info.id !== this.self?.id && !this.participants.has(info.id)) this.addParticipant(info, false);
    }
  }

  private onMessage(m: ServerMessage): void {
    if (!this.active) return;
    switch (m.type) {
      case 'participant-joined':
        if (m.room === this.options.room && m.participant.id !== this.self?.id && !this.participants.has(m.participant.id)) {
          this.addParticipant(m.participant, false);
        }
        break;
      case 'participant-left':
        if (m.room === this.options.room) this.removeParticipant(m.participantId, m.reason);
        break;
      case 'offer':
      case 'answer':
        if (m.callId === undefined) this.participants.get(m.from)?.peer.handleDescription({ type: m.type, sdp: m.sdp });
        break;
      case 'candidate':
        if (m.callId === undefined) this.participants.get(m.from)?.peer.handleCandidate(m.candidate);
        break;
      case 'end-of-candidates':
        if (m.callId === undefined) this.participants.get(m.from)?.peer.handleCandidate(null);
        break;
      default:
        break;
    }
  }

  private addParticipant(info: ParticipantInfo, initiator: boolean): RemoteParticipant {
    const selfId = this.self?.id ?? '';
    const to = info.id;
    const sig = this.signaling;
    const peer = new MeshPeer({
      selfId,
      remoteId: to,
      initiator,
      rtcConfig: rtcConfiguration(sig.welcome?.iceServers, this.options.iceTransportPolicy, this.options.relayTransport),
      tracks: { audio: this.media.outgoing('audio'), video: this.media.outgoing('video') },
      signal: {
        description: (d) => sig.send({ type: d.type, to, sdp: d.sdp }),
        candidate: (candidate) => sig.send({ type: 'candidate', to, candidate }),
        endOfCandidates: () => sig.send({ type: 'end-of-candidates', to }),
      },
    });
    const participant = new RemoteParticipant(info, peer);
    this.participants.set(info.id, participant);
    peer.on('chat', ({ text }) => this.emit('chat', { from: info.id, name: info.name, text, local: false, at: Date.now() }));
    peer.on('file-progress', (p) => this.emit('file-progress', { ...p, direction: 'receive', peerId: info.id }));
    peer.on('file', (file) => this.emit('file-received', { from: participant, file }));
    peer.on('connection-state', (state) => this.emit('connection-state', { participant, state }));
    this.emit('participant-joined', participant);
    return participant;
  }

  private removeParticipant(id: string, reason: 'left' | 'disconnected'): void {
    const p = this.participants.get(id);
    if (!p) return;
    this.participants.delete(id);
    p.peer.close();
    this.emit('participant-left', { participant: p, reason });
  }
}
