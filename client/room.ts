/**
 * Room: membership of one signaling room and the app-facing events. The connections that carry
 * media, chat and files belong to a RoomTransport chosen from `joined.topology`: a MeshTransport
 * (one connection per member) or an SfuSession (two connections to the server). `participant-joined`
 * and `participant-left` from signaling drive the participant list in both.
 */
import {
  readActiveSpeaker,
  type JoinedMsg,
  type McuLayout,
  type ParticipantLeftReason,
  type ParticipantInfo,
  type ServerMessage,
  type Topology,
} from '../src/protocol/index.js';
import { MAX_CHAT_CHARS } from './chat-line.js';
import { Emitter } from './emitter.js';
import type { Progress, ReceivedFile } from './file-transfer.js';
import type { RelayTransport } from './ice.js';
import type { LocalMedia } from './local-media.js';
import { MeshTransport } from './mesh-transport.js';
import { RemoteParticipant, type ParticipantTransport } from './participant.js';
import type { InboundSink, RoomTransport } from './room-transport.js';
import type { VideoLayering } from './sfu-layers.js';
import { SfuSession } from './sfu-session.js';
import { sha256Hex } from './sha256.js';
import type { SignalingClient } from './signaling.js';
import type { PeerStats } from './stats.js';

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
  /** The remote participant the bytes go to / come from; 'sfu' for a send in an SFU room (one send, to the server). */
  peerId: string;
}

export interface FileReceivedEvent {
  from: RemoteParticipant;
  file: ReceivedFile;
}

export interface RoomEvents {
  joined: { self: ParticipantInfo; participants: RemoteParticipant[] };
  'participant-joined': RemoteParticipant;
  'participant-left': { participant: RemoteParticipant; reason: ParticipantLeftReason };
  'connection-state': { participant: RemoteParticipant; state: RTCPeerConnectionState };
  chat: ChatMessage;
  'file-progress': FileProgressEvent;
  'file-received': FileReceivedEvent;
  /** The connections failed in a way the app should show (SFU: publish refused, connection failed). */
  'transport-error': { message: string };
  /**
   * SFU rooms: the server's active speaker changed. `participantId` is ours when we speak
   * (`local`), null when the last speaker left. Mesh rooms have no active speaker.
   */
  'active-speaker': { participantId: string | null; local: boolean };
  left: void;
}

export interface RoomOptions {
  room: string;
  topology?: Topology;
  /** 'relay' sends all media through TURN. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Only TURN over this transport (see ice.ts). */
  relayTransport?: RelayTransport;
  /** SFU rooms: publish the camera as 3 simulcast layers or as VP9 L3T3 SVC (client/sfu-layers.ts). */
  videoLayering?: VideoLayering;
}

let transferSeq = 0;

export class Room extends Emitter<RoomEvents> {
  readonly participants = new Map<string, RemoteParticipant>();
  self: ParticipantInfo | null = null;
  topology: Topology | null = null;
  /** SFU rooms: the participant id of the active speaker (possibly our own), or null. */
  activeSpeaker: string | null = null;
  private unsubscribe: Array<() => void> = [];
  private active = false;
  private transport: RoomTransport | null = null;
  private readonly inbound: InboundSink = {
    chat: (from, text) => {
      const p = this.participants.get(from);
      this.emit('chat', { from, name: p?.name ?? '', text, local: false, at: Date.now() });
    },
    fileProgress: (from, p) => this.emit('file-progress', { ...p, direction: 'receive', peerId: from }),
    file: (from, file) => {
      const p = this.participants.get(from);
      if (p) this.emit('file-received', { from: p, file });
      else console.warn(`[switchboard] dropped file "${file.name}" from ${from}: not in the room`);
    },
    error: (message) => this.emit('transport-error', { message }),
  };

  constructor(
    private readonly signaling: SignalingClient,
    private readonly media: LocalMedia,
    readonly options: RoomOptions,
  ) {
    super();
  }

  get name(): string {
    return this.options.room;
  }
  get joined(): boolean {
    return this.active;
  }

  async join(): Promise<JoinedMsg> {
    if (this.active) throw new Error('already joined');
    this.unsubscribe.push(
      this.signaling.on('message', (m) => this.onMessage(m)),
      this.signaling.on('session-lost', () => void this.rejoin()),
      this.signaling.on('resumed', (m) => {
        if (m.participants) this.reconcile(m.participants);
      }),
      this.media.on('tracks-changed', (t) => {
        this.transport?.setTrack('audio', t.audio);
        this.transport?.setTrack('video', t.video);
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
    this.closeTransport();
    try {
      await this.signaling.request({ type: 'leave' });
    } catch (err) {
      console.warn('[switchboard] leave was not acknowledged', err);
    }
    this.emit('left', undefined);
  }

  sendChat(text: string): ChatMessage {
    const line = text.slice(0, MAX_CHAT_CHARS);
    const missed = this.transport?.sendChat(line, this.members()) ?? [];
    for (const id of missed) console.warn(`[switchboard] chat to ${id} not sent: channel not open`);
    const msg: ChatMessage = { from: this.self?.id ?? '', name: this.self?.name ?? 'me', text: line, local: true, at: Date.now() };
    this.emit('chat', msg);
    return msg;
  }

  /** Sends a file to every participant; resolves with its SHA-256 when all sends are drained. */
  async sendFile(name: string, bytes: Uint8Array): Promise<{ id: string; sha256: string; failures: string[] }> {
    const sha256 = await sha256Hex(bytes);
    const id = `${this.self?.id ?? 'f'}-${Date.now().toString(36)}-${transferSeq++}`;
    const header = { t: 'start' as const, id, name, size: bytes.length, sha256 };
    const transport = this.transport;
    if (!transport) return { id, sha256, failures: [] };
    const { failures } = await transport.sendFile(header, bytes, this.members(), (peerId, pr) =>
      this.emit('file-progress', { ...pr, direction: 'send', peerId }),
    );
    return { id, sha256, failures };
  }

  /**
   * The app shows participant `id`'s video at `width` × `height` device pixels (0 × 0: hidden).
   * SFU rooms forward the smallest layer that covers it; mesh rooms ignore it.
   */
  setVideoRenderSize(id: string, width: number, height: number): void {
    this.transport?.setVideoRenderSize?.(id, width, height);
  }

  /** MCU rooms: the server's mix for us — `mix.remoteStream` holds one audio and one composed video track. */
  get mix(): ParticipantTransport | null {
    return this.transport?.mix ?? null;
  }

  /** MCU rooms: asks the server to compose our video in `layout` (grid, speaker, presentation). */
  setLayout(layout: McuLayout): void {
    this.transport?.setLayout?.(layout);
  }

  /** Stats of our upstream connection to the server in SFU rooms; null in mesh rooms. */
  publishStats(): Promise<PeerStats | null> {
    return this.transport?.publishStats() ?? Promise.resolve(null);
  }

  // ---- internals ---------------------------------------------------------------------

  private async doJoin(): Promise<JoinedMsg> {
    const joinMsg: { type: 'join'; room: string; topology?: Topology } = { type: 'join', room: this.options.room };
    if (this.options.topology) joinMsg.topology = this.options.topology;
    const joined = await this.signaling.request<JoinedMsg>(joinMsg);
    this.active = true;
    this.self = joined.self;
    this.activeSpeaker = null;
    this.topology = joined.topology;
    this.transport = this.createTransport(joined);
    for (const info of joined.participants) {
      if (info.id !== joined.self.id) this.addParticipant(info, true);
    }
    this.emit('joined', { self: joined.self, participants: [...this.participants.values()] });
    return joined;
  }

  /** The server decides the topology; anything but 'sfu' or 'mcu' (mesh, or one we cannot do yet) is a mesh. */
  private createTransport(joined: JoinedMsg): RoomTransport {
    const ice = {
      ...(this.options.iceTransportPolicy ? { iceTransportPolicy: this.options.iceTransportPolicy } : {}),
      ...(this.options.relayTransport ? { relayTransport: this.options.relayTransport } : {}),
    };
    if (joined.topology === 'sfu' || joined.topology === 'mcu') {
      const mcu = joined.topology === 'mcu';
      // An MCU decodes one plain stream (VP8, or single-layer VP9) per participant: no simulcast or SVC there.
      const session = new SfuSession(this.signaling, this.media, this.inbound, {
        ...ice,
        ...(this.options.videoLayering && !mcu ? { videoLayering: this.options.videoLayering } : {}),
        mcu,
      });
      void session.start();
      return session;
    }
    if (joined.topology !== 'mesh') console.warn(`[switchboard] topology "${joined.topology}" is not supported here; using a mesh`);
    return new MeshTransport(this.signaling, this.media, this.inbound, { selfId: joined.self.id, ...ice });
  }

  private closeTransport(): void {
    this.transport?.close();
    this.transport = null;
  }

  private members(): ParticipantInfo[] {
    return [...this.participants.values()].map((p) => p.info);
  }

  /** Our session was replaced by a new one: everyone sees us as new, so rebuild the mesh. */
  private async rejoin(): Promise<void> {
    if (!this.active) return;
    for (const p of [...this.participants.values()]) this.removeParticipant(p.id, 'disconnected');
    this.closeTransport();
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
      case 'active-speaker': {
        const msg = readActiveSpeaker(m);
        if (!msg) {
          console.warn('[switchboard] dropped a malformed active-speaker message');
          break;
        }
        if (msg.room !== this.options.room || msg.participantId === this.activeSpeaker) break;
        this.activeSpeaker = msg.participantId;
        this.emit('active-speaker', {
          participantId: msg.participantId,
          local: msg.participantId !== null && msg.participantId === this.self?.id,
        });
        break;
      }
      default:
        this.transport?.handleSignal(m);
        break;
    }
  }

  private addParticipant(info: ParticipantInfo, initiator: boolean): RemoteParticipant | null {
    if (!this.transport) return null;
    const participant = new RemoteParticipant(info, this.transport.attach(info, initiator));
    this.participants.set(info.id, participant);
    participant.on('connection-state', (state) => this.emit('connection-state', { participant, state }));
    this.emit('participant-joined', participant);
    return participant;
  }

  private removeParticipant(id: string, reason: ParticipantLeftReason): void {
    const p = this.participants.get(id);
    if (!p) return;
    this.participants.delete(id);
    this.transport?.detach(id);
    this.emit('participant-left', { participant: p, reason });
  }
}
